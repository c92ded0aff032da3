"""Servers for the remote-model tests: llama-cpp-python's real OpenAI-compatible server, and a stdlib peer that misbehaves on purpose."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

READY_LINE = "Uvicorn running on"
START_TIMEOUT_S = 120  # a loaded two-core machine imports FastAPI and llama.cpp slowly
PEER_MODEL = "peer-model"


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice), for a server to take or a client to find closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def llama_server(model: Path, alias: str, n_ctx: int = 512, api_key: str | None = None) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its base URL, stops it on leaving."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    proc = subprocess.Popen(cmd + (["--api_key", api_key] if api_key else []), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready, log = threading.Event(), []

    def drain() -> None:  # reads the log to the end, so the server never blocks on a full pipe
        for line in proc.stderr:  # type: ignore[union-attr]
            log.append(line)
            if READY_LINE in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT_S) or proc.poll() is not None:
            raise RuntimeError("llama_cpp.server did not start:\n" + "".join(log[-20:]))
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.kill()  # a test server keeps nothing worth a graceful stop
        proc.wait()


def _chunk(text: str) -> bytes:
    """One completion chunk as an SSE event."""
    event = {"choices": [{"index": 0, "text": text, "finish_reason": None}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class Peer(ThreadingHTTPServer):
    """A stand-in server that lists one model and answers completions as `mode` says: hang, hang_mid, drop, malformed, error500."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PeerHandler)
        self.mode = "hang"
        self.release = threading.Event()  # set on teardown: every held handler returns
        self.disconnected = threading.Event()  # hang_mid: the client closed its end of the stream
        self.completions = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _PeerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Peer

    def log_message(self, format: str, *args: object) -> None:  # quiet: pytest shows stderr of failures only
        pass

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            return self._json(200, {"object": "list", "data": [{"id": PEER_MODEL, "object": "model"}]})
        self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("/completions"):
            return self._json(404, {"detail": "Not Found"})
        self.server.completions += 1
        mode = self.server.mode
        if mode == "error500":
            return self._json(500, {"error": {"message": "the GPU caught fire", "type": "server_error"}})
        if mode == "hang":  # never a byte: the client's read timeout must fire
            self.server.release.wait()
            return
        self._stream_head()
        if mode == "malformed":
            self._send_chunk(b"data: {this is not json\n\n")
            self.server.release.wait()
        elif mode == "drop":  # two pieces of an answer, then the connection goes mid-stream
            self._send_chunk(_chunk("Once upon") + _chunk(" a time"))
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "hang_mid":  # one piece, then silence until the client hangs up
            self._send_chunk(_chunk("Once"))
            self.connection.settimeout(30)
            try:
                self.rfile.read(1)  # b"" when the client closes its end
            except OSError:
                pass
            self.server.disconnected.set()
        self.close_connection = True

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream_head(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


@contextmanager
def peer() -> Iterator[Peer]:
    """The misbehaving peer on a free loopback port, for the length of a test."""
    server = Peer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
