"""A plain-Python client that starts the worker process and talks to it: for the CLI, benchmarks and tests."""

from __future__ import annotations

import itertools
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

from inference import sqlfile
from inference.launch import module_command
from inference.protocol import INTERACTIVE, Done, Error, ErrorCode, Event, Request, WorkerDied, WorkerError, to_line
from inference.wire import NOT_RUNNING, Handler, LineBuffer, Router, worker_died, worker_start_failed


# The worker picks llama.cpp or torch per model (inference/engine_choice.py); on a CPU machine that is always llama.cpp.
DEFAULT_BACKEND = "auto"


def worker_command(home: Path | None, backend: str = DEFAULT_BACKEND) -> list[str]:
    """The command line that starts a worker: with this interpreter, or in a bundle with its executable. When the
    library's key is held it goes on stdin (key_line), never here, where `ps` shows it to every user."""
    cmd = [*module_command("inference.worker"), "--backend", backend]
    cmd += ["--key-on-stdin"] if sqlfile.held_key(home) is not None else []
    return cmd + ["--home", str(home)] if home else cmd


def key_line(home: Path | None) -> bytes:
    """What a client writes first to a worker started by worker_command: the library's key in hex, or nothing."""
    key = sqlfile.held_key(home)
    return f"{key.hex()}\n".encode() if key is not None else b""


class WorkerClient:
    """Starts `python -m inference.worker`; each request gets its own queue of events.

    A reader thread routes event lines by id; each request ends exactly once, and when the worker
    dies every open request receives a `worker_died` error, so no caller waits forever.
    """

    def __init__(self, home: Path | None = None, backend: str = DEFAULT_BACKEND, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.backend = backend
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self._ids = itertools.count(1)
        self._router = Router()
        self._queues: dict[str, queue.Queue[Event]] = {}
        self._write_lock = threading.Lock()

    def start(self) -> "WorkerClient":
        """Start the worker process (idempotent; after a crash, a new one)."""
        if self.running:
            return self
        try:
            self.proc = subprocess.Popen(
                worker_command(self.home, self.backend), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, encoding="utf-8", bufsize=1, env=self.env,
            )
        except OSError as exc:
            raise WorkerError(worker_start_failed(str(exc)), code=ErrorCode.WORKER_START_FAILED) from None
        if secret := key_line(self.home):
            assert self.proc.stdin is not None
            self.proc.stdin.buffer.write(secret)  # before any request: the worker reads it before its request loop
            self.proc.stdin.flush()
        threading.Thread(target=self._read, args=(self.proc,), name="worker-reader", daemon=True).start()
        return self

    def __enter__(self) -> "WorkerClient":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether the worker process is alive (a new one would have no model loaded)."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        lines = LineBuffer()
        # Bytes, not the text layer: a read may end inside a character, and a bad byte must not end the reader.
        while chunk := proc.stdout.buffer.read1(65536):  # read1: what has come so far, not a full 64 KiB
            self._router.route_lines(lines.feed(chunk))
        self._router.route_lines(lines.close())
        self._router.end_all(WorkerDied.code, worker_died(f"exit code {proc.wait()}"))

    def send(self, op: str, **params: Any) -> str:
        """Send an interactive request and return its id; read its events with `events(id)`."""
        return self.request(op, params)

    def request(self, op: str, params: dict, *, priority: str = INTERACTIVE, client: str = "", on_event: Handler | None = None) -> str:
        """Send a request and return its id; its events go to `on_event` (on the reader thread, in order) or wait for `events(id)`."""
        self.start()
        request = Request(f"r{next(self._ids)}", op, params, priority, client)  # a bad priority is refused here, before anything opens
        if on_event is None:
            self._queues[request.id] = events = queue.Queue()
            on_event = events.put
        self._router.open(request.id, on_event)
        self._write(request)
        return request.id

    def _write(self, request: Request) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            with self._write_lock:
                self.proc.stdin.write(to_line(request))
                self.proc.stdin.flush()
        except OSError:  # BrokenPipeError among them: the worker has gone
            self._router.route(Error(request.id, WorkerDied.code, NOT_RUNNING))

    def events(self, request_id: str, timeout: float | None = None) -> Iterator[Event]:
        """Yield a request's events up to and including its terminal `done` or `error`."""
        q = self._queues[request_id]
        try:
            while True:
                event = q.get(timeout=timeout)
                yield event
                if isinstance(event, (Done, Error)):
                    return
        except queue.Empty:
            raise WorkerError(f"The worker did not answer within {timeout} s.", code=ErrorCode.INTERNAL) from None
        finally:
            self._router.forget(request_id)
            self._queues.pop(request_id, None)

    def call(self, op: str, timeout: float | None = None, **params: Any) -> dict:
        """Send a request and wait for its result; raise WorkerError on an error event."""
        return result_of(self.events(self.send(op, **params), timeout))

    def score(self, texts: list[str], timeout: float | None = None) -> list[float]:
        """Each text's summed token log-probability under the loaded model (the `score` op), in order."""
        return [float(x) for x in self.call("score", timeout=timeout, texts=list(texts))["scores"]]

    def cancel(self, request_id: str) -> None:
        """Ask the worker to stop a running or queued request; its stream then ends with `cancelled`."""
        self.request("cancel", {"target": request_id}, on_event=lambda event: None)  # nobody reads the cancel's own answer

    def close(self, timeout: float = 5.0) -> None:
        """Shut the worker down politely, then terminate, then kill: cancel in stages."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(to_line(Request("shutdown", "shutdown")))
            proc.stdin.close()
            proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def result_of(events: Iterator[Event]) -> dict:
    """The result of a finished request's event stream; an error event is raised as WorkerError."""
    for event in events:
        if isinstance(event, Done):
            return event.result
        if isinstance(event, Error):
            raise WorkerError(event.message, code=event.code)
    raise WorkerDied("The worker's answer ended without a result.")
