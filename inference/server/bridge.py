"""The endpoint's worker, seen from the event loop: requests go out as background work, events come back as awaitables."""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

from starlette.requests import Request as HttpRequest

from inference.client import WorkerClient
from inference.protocol import BACKGROUND, INTERACTIVE, Done, Error, Event, Progress

T = TypeVar("T")


class WorkerBridge:
    """Owns the worker behind the endpoint: loads the model once, tags every request with its HTTP client."""

    def __init__(self, client: WorkerClient, load_params: dict) -> None:
        self.client = client
        self.load_params = load_params
        self.model: dict = {}  # the served model, as the registry describes it
        self.n_ctx = 0

    def load(self) -> dict:
        """Start the worker and load the served model (blocking: before the endpoint opens)."""
        result = self.client.call("load_model", **self.load_params)
        self.model, self.n_ctx = result["model"], int(result.get("n_ctx") or 0)
        return result

    def submit(self, op: str, params: dict, client: str = "", priority: str = BACKGROUND) -> "Pending":
        """Send a request on the running event loop's behalf; its events arrive through the returned Pending."""
        if not self.client.running:
            # The worker died (its open requests ended with worker_died: a 503 each). The next request
            # starts a new one, and the model is loaded first: interactive, so it runs before anything queued.
            self.client.request("load_model", self.load_params, on_event=lambda event: None)
        pending = Pending(self)
        pending.id = self.client.request(op, params, priority=priority, client=client, on_event=pending.deliver)
        return pending

    def queue_stats(self) -> "Pending":
        return self.submit("queue_stats", {}, priority=INTERACTIVE)  # answered at once, never queued

    def close(self) -> None:
        self.client.close()


class Pending:
    """One worker request from the event loop's side: its events in order, and a cancel if its HTTP client leaves."""

    def __init__(self, bridge: WorkerBridge) -> None:
        self.bridge = bridge
        self.id = ""
        self.ended = False
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[Event] = asyncio.Queue()

    def deliver(self, event: Event) -> None:
        """Called on the client's reader thread: hand the event to the event loop."""
        try:
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)
        except RuntimeError:  # the loop has closed: the server is gone and nobody waits for this event
            pass

    async def next(self) -> Event:
        """The next event; after the terminal one, `ended` is true."""
        event = await self._events.get()
        self.ended = self.ended or isinstance(event, (Done, Error))
        return event

    async def first(self) -> Event:
        """The first token, or the terminal event: the request is running, or over."""
        while isinstance(event := await self.next(), Progress):
            pass
        return event

    async def end(self) -> Done | Error:
        """The terminal event, skipping the rest."""
        while not isinstance(event := await self.next(), (Done, Error)):
            pass
        return event

    def abandon(self) -> None:
        """Nobody will read the rest: stop the worker's work on it (a no-op once it has ended)."""
        if not self.ended:
            self.ended = True
            self.bridge.client.cancel(self.id)


async def until_disconnect(request: HttpRequest, work: Awaitable[T]) -> T | None:
    """Await `work`; None if the HTTP client hangs up first (a queued request waits without sending a byte)."""
    task = asyncio.ensure_future(work)
    hangup = asyncio.ensure_future(_hung_up(request))
    try:
        await asyncio.wait({task, hangup}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hangup.cancel()
        if not task.done():
            task.cancel()
    return task.result() if task.done() and not task.cancelled() else None


async def _hung_up(request: HttpRequest) -> None:
    # The body has been read, so the next message the server hands us is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass
