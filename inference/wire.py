"""What every client of a JSON-lines process shares: whole lines from bytes, events routed by id, the sentences for a worker that is gone.

Both worker clients (the plain one in `inference.client`, the Qt adapter in `app.worker_client`) and the
model manager's `scriptorium compress` runner read a child's stdout with these; no Qt here.
"""

from __future__ import annotations

import codecs
import logging
import threading
from typing import Callable

from inference.protocol import Done, Error, ErrorCode, Event, Progress, Token, WorkerError, from_line

log = logging.getLogger(__name__)

NOT_RUNNING = "The inference worker is not running; restart it and try again."


def worker_died(why: str) -> str:
    """The sentence for a worker that ended while requests were open (`why`: "exit code 9")."""
    return f"The inference worker stopped unexpectedly ({why}); your text is safe — restart the worker and try again."


def worker_start_failed(why: str) -> str:
    """The sentence for a worker that never began (`why`: the operating system's reason)."""
    return f"The inference worker could not start ({why}); reinstall with `make install`."


def gone_message(code: str, why: str) -> str:
    """The sentence for `worker_died` or `worker_start_failed`."""
    return worker_start_failed(why) if code == ErrorCode.WORKER_START_FAILED else worker_died(why)


class LineBuffer:
    """Bytes in, whole decoded lines out; a partial line and a partial UTF-8 character wait for the next read."""

    def __init__(self) -> None:
        # Incremental: a three-byte character split across two reads is decoded once, whole.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""

    def feed(self, data: bytes) -> list[str]:
        """The lines completed by `data`, without their newlines."""
        *lines, self._partial = (self._partial + self._decoder.decode(data)).split("\n")
        return lines

    def close(self) -> list[str]:
        """At end of stream: the last line if it had no newline (an undecodable tail becomes U+FFFD)."""
        rest, self._partial = self._partial + self._decoder.decode(b"", final=True), ""
        return [rest] if rest else []


def read_event(line: str) -> Event | None:
    """The event on a stdout line; None for a blank line or one that is not protocol (logged, never fatal)."""
    if not line.strip():
        return None
    try:
        message = from_line(line)
    except WorkerError:
        message = None
    if not isinstance(message, (Token, Progress, Done, Error)):
        # A cut-off event line can hold document text: its words go to the log only when debugging.
        log.warning("ignoring a line of %d characters that is not protocol", len(line))
        log.debug("the line: %r", line[:200])
        return None
    return message


Handler = Callable[[Event], None]


class Router:
    """Request id → handler. Each id gets its events in order and ends exactly once: with its own `done`/`error`, or `end_all`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        # The plain client routes on its reader thread while callers open requests; handlers run outside
        # the lock, since a handler may open the next request.
        self._lock = threading.Lock()

    def open(self, request_id: str, handler: Handler) -> None:
        """Route the events of `request_id` to `handler` until its terminal event."""
        with self._lock:
            self._handlers[request_id] = handler

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._handlers

    def route(self, event: Event) -> bool:
        """Hand `event` to its request's handler; a terminal event closes the id. False if the id is not open."""
        with self._lock:
            terminal = isinstance(event, (Done, Error))
            handler = self._handlers.pop(event.id, None) if terminal else self._handlers.get(event.id)
        if handler is not None:
            handler(event)
        return handler is not None

    def route_lines(self, lines: list[str]) -> None:
        """Route the event on each line; a line that is not protocol is logged and skipped."""
        for line in lines:
            if (event := read_event(line)) is not None:
                self.route(event)

    def end_all(self, code: str, message: str) -> None:
        """Every open request ends with the error `code`, in the order they were opened."""
        with self._lock:
            orphans, self._handlers = self._handlers, {}
        for request_id, handler in orphans.items():
            handler(Error(request_id, code, message))

    def forget(self, request_id: str) -> None:
        """Stop routing `request_id` without ending it (its reader has gone)."""
        with self._lock:
            self._handlers.pop(request_id, None)
