"""The worker's queue: interactive requests first, in arrival order; background requests round-robin by client."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

from inference.protocol import BACKGROUND, Request


class FairQueue:
    """Requests wait here until the worker takes the next one.

    - Interactive requests (the desktop, the command line: the default) run before any queued
      background request, in the order they came.
    - Background requests (`scriptorium serve`'s HTTP clients) wait in one line per client, and
      the clients take turns: a client whose request was served goes to the back of the turn
      order, so a burst of a hundred from one client waits behind one request of every other.
    - After `close`, `get` hands out what is still queued, then the closing request, then None:
      a shutdown drains the queue instead of jumping it.
    """

    def __init__(self) -> None:
        self._interactive: deque[Request] = deque()
        self._background: OrderedDict[str, deque[Request]] = OrderedDict()  # first key: the client whose turn it is
        self._closed = False
        self._last: Request | None = None
        self._ready = threading.Condition()

    def put(self, request: Request) -> None:
        """Queue a request in its priority's line."""
        with self._ready:
            if request.priority == BACKGROUND:
                self._background.setdefault(request.client, deque()).append(request)
            else:
                self._interactive.append(request)
            self._ready.notify()

    def close(self, last: Request | None = None) -> None:
        """Accept nothing more; `last` (a shutdown) is handed out once the queue is empty."""
        with self._ready:
            self._closed, self._last = True, last
            self._ready.notify()

    def idle(self) -> bool:
        """Nothing waits and the queue is open: the moment for background work."""
        with self._ready:
            return not (self._interactive or self._background or self._closed)

    def get(self) -> Request | None:
        """The next request to run, waiting for one; None once closed and drained."""
        with self._ready:
            while not (self._interactive or self._background or self._closed):
                self._ready.wait()
            if self._interactive:
                return self._interactive.popleft()
            if self._background:
                return self._next_background()
            last, self._last = self._last, None
            return last

    def _next_background(self) -> Request:
        client, waiting = next(iter(self._background.items()))
        request = waiting.popleft()
        del self._background[client]
        if waiting:
            self._background[client] = waiting  # to the back of the turn order
        return request

    def remove(self, request_id: str) -> Request | None:
        """Take a queued request out (it was cancelled); None if it is not waiting here."""
        with self._ready:
            for client, line in [("", self._interactive), *self._background.items()]:
                for request in line:
                    if request.id == request_id:
                        line.remove(request)
                        if line is not self._interactive and not line:
                            del self._background[client]
                        return request
        return None

    def snapshot(self) -> dict:
        """The waiting request ids: interactive in order, background per client in turn order."""
        with self._ready:
            return {
                "interactive": [r.id for r in self._interactive],
                "background": {client: [r.id for r in line] for client, line in self._background.items()},
            }
