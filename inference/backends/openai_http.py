"""HTTP to an OpenAI-compatible server: retries for connection errors, streams a cancel closes at once, errors a person can act on."""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
from typing import Callable, Iterator, TypeVar

import httpx

from inference.models import RemoteSpec
from inference.protocol import Cancelled, ErrorCode, WorkerError

T = TypeVar("T")
# Connection errors only (refused, DNS, connect timeout): retried after 0.25, 0.5 and 1 s, so a server that
# is still starting gets under two seconds. An HTTP error status or an answer already begun is never retried.
RETRIES = 3
BACKOFF_S = 0.25
UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)
# A connection lost before any response is a connection error too: a kept-alive connection the server had
# closed or reset (uvicorn does after a failed stream). Nothing of an answer has come, so it is retried.
NO_CONNECTION = (*UNREACHABLE, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
# How often a consumer waiting on a blocked read looks at its cancel event: well below what a person notices.
POLL_S = 0.05
# Paths that tokenize, under the server's root: vLLM and llama.cpp's server, then llama-cpp-python's server.
TOKENIZE_PATHS = ("/tokenize", "/extras/tokenize")
# A server without a usable endpoint of that kind (none, another method, another body) answers one of these;
# anything else is a real error.
UNUSABLE_ENDPOINT = (404, 405, 422, 501)


class RemoteError(WorkerError):
    """Something between Scriptorium and a remote model's server; the code says what."""

    code = ErrorCode.REMOTE_HTTP_ERROR


class Stopper:
    """Lets a consumer stop a request running on another thread: shutting its socket wakes a blocked read at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def attach(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        with self._lock:
            self._sock = stream.get_extra_info("socket") if stream is not None else None
            if self.event.is_set():
                self._shut()

    def detach(self) -> None:
        with self._lock:
            self._sock = None  # the connection may go back to the pool now: never shut it from here

    def stop(self) -> None:
        with self._lock:
            self.event.set()
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # the server closed it first: nothing left to stop
                pass


def pump(produce: Callable[[Stopper], Iterator[T]], cancel: threading.Event | None) -> Iterator[T]:
    """Yield what `produce` yields on a daemon thread; a cancel (or the consumer leaving) stops it at once.

    httpx cannot interrupt a read blocked on a silent server; waiting on a queue here can, and the
    Stopper then shuts the socket so the server sees the client go and the thread ends too.
    """
    items: queue.Queue[tuple[bool, object]] = queue.Queue()
    stopper = Stopper()

    def run() -> None:
        try:
            for item in produce(stopper):
                items.put((True, item))
                if stopper.event.is_set():
                    return
            items.put((False, None))
        except BaseException as exc:  # handed to the consumer, which raises it on its own thread
            items.put((False, exc))

    threading.Thread(target=run, name="remote-http", daemon=True).start()
    try:
        while True:
            try:
                more, item = items.get(timeout=POLL_S)
            except queue.Empty:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Generation was stopped.") from None
                continue
            if not more:
                if item is not None:
                    raise item  # type: ignore[misc]
                return
            yield item  # type: ignore[misc]
    finally:
        stopper.stop()


class RemoteClient:
    """One model on one server: JSON requests and SSE streams, every failure a RemoteError with a stable code."""

    def __init__(self, name: str, spec: RemoteSpec) -> None:
        self.name, self.spec = name, spec
        self.root = spec.base_url.removesuffix("/v1")  # tokenize and props live at the root, not under /v1
        self.http = httpx.Client(timeout=httpx.Timeout(spec.read_timeout_s, connect=spec.connect_timeout_s))
        self._tokenize_urls = [self.root + p for p in TOKENIZE_PATHS]  # narrowed to the one that answers, or to none

    def close(self) -> None:
        self.http.close()

    # -- what callers use ---------------------------------------------------------------------
    def served(self, cancel: threading.Event | None = None) -> dict[str, dict]:
        """The models the server lists under /v1/models, by id."""
        listing = self._call("GET", f"{self.spec.base_url}/models", None, cancel, listing=True)
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            raise self._bad_reply(json.dumps(listing)[:80])
        return {str(e.get("id")): e for e in entries if isinstance(e, dict)}

    def served_entry(self, cancel: threading.Event | None = None) -> dict:
        """The server's /v1/models entry of this model; MODEL_NOT_SERVED, listing what is served, when missing."""
        served = self.served(cancel)
        if self.spec.model not in served:
            raise self._not_served(served)
        return served[self.spec.model]

    def optional_json(self, path: str) -> dict | None:
        """GET a root path some servers offer (llama.cpp's /props); None when this one does not."""
        try:
            reply = self._call("GET", self.root + path, None, None, optional=True)
        except RemoteError as exc:
            if exc.code == ErrorCode.REMOTE_BAD_RESPONSE:  # an HTML page where llama.cpp has JSON: not offered here
                return None
            raise
        return reply if isinstance(reply, dict) else None

    def tokenize(self, text: str, cancel: threading.Event | None = None) -> list[int] | None:
        """The server's token ids for the text, or None when it has no tokenize endpoint (found once, then remembered)."""
        # One body for every flavour: vLLM reads prompt, llama.cpp's server content, llama-cpp-python's input.
        body = {"model": self.spec.model, "prompt": text, "content": text, "input": text}
        for url in self._tokenize_urls:
            reply = self._call("POST", url, body, cancel, optional=True)
            if reply is None:
                continue
            self._tokenize_urls = [url]
            tokens = reply.get("tokens") if isinstance(reply, dict) else None
            if not isinstance(tokens, list):
                raise self._bad_reply(json.dumps(reply)[:80])
            return [int(t) for t in tokens]
        self._tokenize_urls = []
        return None

    def events(self, path: str, body: dict, cancel: threading.Event | None) -> Iterator[dict]:
        """The JSON objects of an SSE answer from base_url + path, up to [DONE]; a stream cut short raises STREAM_DROPPED."""
        return pump(lambda stopper: self._guard(self._sse(f"{self.spec.base_url}{path}", body, stopper)), cancel)

    # -- requests -------------------------------------------------------------------------------
    def _call(self, method: str, url: str, body: dict | None, cancel: threading.Event | None, listing: bool = False, optional: bool = False) -> object:
        """One JSON request on its own thread (so a cancel acts at once); `optional`: None when the endpoint does not exist."""

        def produce(stopper: Stopper) -> Iterator[object]:
            with self._send(method, url, body, stopper, listing, optional) as response:
                if response is None:
                    yield None
                    return
                response.read()
                yield self._decode(response.text)

        [reply] = list(pump(lambda stopper: self._guard(produce(stopper)), cancel))  # to the end: the connection goes back to the pool
        return reply

    def _send(self, method: str, url: str, body: dict | None, stopper: Stopper, listing: bool = False, optional: bool = False) -> "_Opened":
        """Open a request, retrying connection errors with exponential backoff; an error status raises (or, optional, gives None)."""
        request = self.http.build_request(method, url, json=body, headers=self._headers())
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.send(request, stream=True)
                break
            except NO_CONNECTION as exc:
                if attempt == RETRIES or stopper.event.wait(BACKOFF_S * 2**attempt):
                    raise (self._unreachable(exc) if isinstance(exc, UNREACHABLE) else self._dropped(False)) from None
        stopper.attach(response)
        if response.status_code >= 400:
            response.read()
            response.close()
            stopper.detach()
            if optional and response.status_code in UNUSABLE_ENDPOINT:
                return _Opened(None, stopper)
            raise self._status_error(response, listing)
        return _Opened(response, stopper)

    def _headers(self) -> dict[str, str]:
        """The Authorization header, the key read from the named environment variable now (it is never stored)."""
        var = self.spec.api_key_env
        if not var:
            return {}
        key = os.environ.get(var)
        if not key:
            raise RemoteError(f"The environment variable {var}, which holds the API key for {self.name}, is not set; export it and try again.", code=ErrorCode.REMOTE_UNAUTHORISED)
        return {"Authorization": f"Bearer {key}"}

    def _sse(self, url: str, body: dict, stopper: Stopper) -> Iterator[dict]:
        """Server-sent events: `data:` lines are JSON until [DONE]; comments (pings) and blank separators are skipped."""
        seen = finished = False
        with self._send("POST", url, body, stopper) as response:
            try:
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    event = self._decode(data)
                    if not isinstance(event, dict):
                        raise self._bad_reply(data[:80])
                    if "error" in event:
                        raise self._said_error(event["error"])
                    seen = True
                    finished = finished or any(isinstance(c, dict) and c.get("finish_reason") for c in event.get("choices") or [])
                    yield event
            except (httpx.RemoteProtocolError, httpx.ReadError):
                if stopper.event.is_set():
                    return  # our own shutdown of the socket, after the consumer left
                raise self._dropped(seen) from None
        if stopper.event.is_set():
            return  # the consumer left and its shutdown ended the stream: nothing to explain, nobody to tell
        if not seen:
            raise self._explain_empty(url, body, stopper)
        if not finished:
            raise self._dropped(seen)

    def _explain_empty(self, url: str, body: dict, stopper: Stopper) -> RemoteError:
        """A stream that ended before its first event: ask once without streaming, so the server says why.

        llama-cpp-python's server, for one, answers an over-long streamed prompt with an empty 200
        stream, and the same request unstreamed with the 400 that names the context.
        """
        try:
            unstreamed = {k: v for k, v in body.items() if k != "stream_options"}  # only allowed with stream=true
            with self._send("POST", url, {**unstreamed, "stream": False}, stopper) as response:
                response.read()
        except RemoteError as exc:
            return exc
        return self._dropped(False)

    def _guard(self, items: Iterator[T]) -> Iterator[T]:
        """httpx's own exceptions, raised while a request runs, as RemoteErrors a person can act on."""
        try:
            yield from items
        except httpx.TimeoutException:
            raise RemoteError(
                f"The server at {self.spec.host} sent nothing for {self.spec.read_timeout_s:g} s; it may be overloaded or stuck. "
                f"Try again, or give it longer: `scriptorium models add-remote {self.name} … --read-timeout S`.",
                code=ErrorCode.REMOTE_TIMEOUT,
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            raise self._dropped(False) from None
        except httpx.HTTPError as exc:
            raise RemoteError(f"Talking to the server at {self.spec.host} failed: {type(exc).__name__}: {exc}.") from None

    # -- errors a person can act on ---------------------------------------------------------------
    def _decode(self, text: str) -> object:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise self._bad_reply(text[:80]) from None

    def _bad_reply(self, start: str) -> RemoteError:
        return RemoteError(
            f"The server at {self.spec.host} sent a reply that is not the JSON an OpenAI-compatible server sends ({start!r}…); "
            f"check that {self.spec.base_url} is such a server's base URL.",
            code=ErrorCode.REMOTE_BAD_RESPONSE,
        )

    def _unreachable(self, exc: Exception) -> RemoteError:
        reason = str(exc) or type(exc).__name__
        return RemoteError(
            f"Cannot reach the server at {self.spec.base_url} ({reason}); start it, or check the address and port "
            f"(`scriptorium models info {self.name}`).",
            code=ErrorCode.REMOTE_UNREACHABLE,
        )

    def _dropped(self, mid_answer: bool) -> RemoteError:
        when = "mid-answer; the text that came is kept" if mid_answer else "before sending any text"
        return RemoteError(f"The server at {self.spec.host} closed the stream {when}. Try again; if it keeps happening, look at the server's log.", code=ErrorCode.STREAM_DROPPED)

    def _not_served(self, served: dict) -> RemoteError:
        names = ", ".join(sorted(served)) or "nothing"
        return RemoteError(
            f"The server at {self.spec.host} does not serve {self.spec.model!r}; it serves: {names}. "
            f"Register one of those: `scriptorium models add-remote {self.name} --base-url {self.spec.base_url} --model ID`.",
            code=ErrorCode.MODEL_NOT_SERVED,
        )

    def _status_error(self, response: httpx.Response, listing: bool) -> RemoteError:
        status, said = response.status_code, _server_message(response)
        if status in (401, 403):
            return self._unauthorised(status, said)
        if status == 404 and not listing:
            served = self.served()
            return self._not_served(served) if self.spec.model not in served else self._no_endpoint(response, said)
        if status == 404:
            return RemoteError(f"{self.spec.base_url} has no /models (HTTP 404); give the base URL of an OpenAI-compatible server, usually ending in /v1.")
        if status == 400 and _about_context(response, said):
            return RemoteError(
                f"The server at {self.spec.host} says the prompt is too long for its context ({said}). Shorten the text or lower "
                f"max_tokens; if the server's window is smaller than Scriptorium assumed, register the model with `--context N`.",
                code=ErrorCode.CONTEXT_OVERFLOW,
            )
        return RemoteError(f"The server at {self.spec.host} answered HTTP {status}: {said}")

    def _said_error(self, error: object) -> RemoteError:
        """An error object sent inside a stream (vLLM does this once an answer has begun)."""
        said = error.get("message", error) if isinstance(error, dict) else error
        return RemoteError(f"The server at {self.spec.host} stopped with an error: {said}")

    def _unauthorised(self, status: int, said: str) -> RemoteError:
        var = self.spec.api_key_env
        advice = (
            f"set {var} to a key it accepts" if var
            else f"register the model with `--api-key-env VAR` (`scriptorium models add-remote {self.name} … --api-key-env VAR`) and put the key in VAR"
        )
        given = f"the API key in ${var}" if var else "a request without an API key"
        return RemoteError(f"The server at {self.spec.host} refused {given} (HTTP {status}: {said}); {advice}.", code=ErrorCode.REMOTE_UNAUTHORISED)

    def _no_endpoint(self, response: httpx.Response, said: str) -> RemoteError:
        other = "--completion" if self.spec.chat else "--chat"
        return RemoteError(
            f"The server at {self.spec.host} has no {response.request.url.path} (HTTP 404: {said}); if it offers only the other "
            f"kind of completion, register the model with {other}."
        )


class _Opened:
    """A response opened by RemoteClient._send (or None for a missing optional endpoint), closed on leaving the block."""

    def __init__(self, response: httpx.Response | None, stopper: Stopper) -> None:
        self.response, self.stopper = response, stopper

    def __enter__(self) -> httpx.Response | None:
        return self.response

    def __exit__(self, *exc: object) -> None:
        if self.response is not None:
            self.stopper.detach()
            self.response.close()


def _server_message(response: httpx.Response) -> str:
    """What the server said about an error: OpenAI's error.message, FastAPI's detail, or the start of the body."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        said = error.get("message") if isinstance(error, dict) else error or data.get("detail") or data.get("message")
        if said:
            return str(said)[:300]
    return response.text.strip()[:300]


def _about_context(response: httpx.Response, said: str) -> bool:
    """Whether a 400 is about the context window: OpenAI's error code when the server sends one, else its words."""
    try:
        error = response.json().get("error")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("code") == "context_length_exceeded":
        return True
    return "context" in said.lower()
