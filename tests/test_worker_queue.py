"""Fair queueing in the worker: interactive requests first, background ones round-robin by client, queue_stats at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from inference.client import WorkerClient
from inference.protocol import BACKGROUND, BadRequest, Done, Error, ErrorCode, Event, Request, Token
from inference.scheduler import FairQueue


@pytest.fixture
def slow_worker(home: Path, tiny_model: Path):
    """A fake worker whose replies take ~20 tokens x 5 ms: long enough for a burst to queue behind the first."""
    env = {"SCRIPTORIUM_FAKE_DELAY_MS": "5", "SCRIPTORIUM_FAKE_REPLY": "twenty tokens long..."}
    with WorkerClient(home=home, backend="fake", env=env) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        yield client


class Ends:
    """Records the order in which requests end, across requests (handlers run on the client's reader thread)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.names: dict[str, str] = {}
        self.started: dict[str, threading.Event] = {}
        self.all_done = threading.Event()
        self.expected = 0

    def send(self, client: WorkerClient, name: str, priority: str = "interactive", who: str = "") -> str:
        self.expected += 1
        rid = client.request("generate", {"raw_prompt": name, "max_tokens": 20}, priority=priority, client=who, on_event=self._on_event)
        self.names[rid] = name
        return rid

    def wait_started(self, name: str) -> None:
        """Wait until the request's first token: it is running, so what is sent next must queue."""
        assert self.started.setdefault(name, threading.Event()).wait(30)

    def _on_event(self, event: Event) -> None:
        name = self.names.get(event.id, event.id)
        if isinstance(event, Token):
            self.started.setdefault(name, threading.Event()).set()
        if isinstance(event, (Done, Error)):
            self.order.append(name)
            if len(self.order) == self.expected:
                self.all_done.set()


def test_interactive_first_then_background_round_robin_by_client(slow_worker: WorkerClient) -> None:
    ends = Ends()
    ends.send(slow_worker, "A1", BACKGROUND, "A")
    ends.wait_started("A1")
    for name in ("A2", "A3", "A4"):  # a burst from A, then one from B, then the desk
        ends.send(slow_worker, name, BACKGROUND, "A")
    for name in ("B1", "B2"):
        ends.send(slow_worker, name, BACKGROUND, "B")
    ends.send(slow_worker, "desk", "interactive")
    assert ends.all_done.wait(30)
    assert ends.order == ["A1", "desk", "A2", "B1", "A3", "B2", "A4"]


def test_queue_stats_answers_while_a_request_runs_and_cancel_takes_a_queued_one_out(slow_worker: WorkerClient) -> None:
    ends = Ends()
    running = ends.send(slow_worker, "A1", BACKGROUND, "A")
    ends.wait_started("A1")
    queued = ends.send(slow_worker, "B1", BACKGROUND, "B")
    stats = slow_worker.call("queue_stats", timeout=30)
    assert stats["running"]["id"] == running and stats["queued"]["background"] == {"B": [queued]}
    slow_worker.cancel(queued)
    assert ends.all_done.wait(30)
    assert ends.order == ["B1", "A1"]  # the cancelled one ends at once, before the one running
    stats = slow_worker.call("queue_stats", timeout=30)
    assert stats["outcomes"] == {"done": 2, "cancelled": 1}  # load_model, A1; B1 cancelled
    assert [(r["id"], r["client"], r["outcome"]) for r in stats["recent"][-2:]] == [(queued, "B", ErrorCode.CANCELLED), (running, "A", "done")]


def test_shutdown_waits_for_queued_background_requests(slow_worker: WorkerClient) -> None:
    ends = Ends()
    ends.send(slow_worker, "desk")
    ends.wait_started("desk")
    for name in ("A1", "A2", "B1"):
        ends.send(slow_worker, name, BACKGROUND, name[0])
    slow_worker.close(timeout=30)
    assert ends.all_done.wait(30) and ends.order == ["desk", "A1", "B1", "A2"]


def test_a_bad_priority_is_refused_on_the_wire() -> None:
    with pytest.raises(BadRequest):
        Request("r1", "hello", {}, priority="urgent")


def test_fair_queue_alone() -> None:
    queue = FairQueue()
    for rid, priority, who in (("a1", BACKGROUND, "a"), ("a2", BACKGROUND, "a"), ("b1", BACKGROUND, "b"), ("i1", "interactive", ""), ("c1", BACKGROUND, "c")):
        queue.put(Request(rid, "generate", {}, priority, who))
    assert queue.remove("c1").id == "c1" and queue.remove("nope") is None
    queue.close(Request("bye", "shutdown"))
    assert [queue.get().id for _ in range(5)] == ["i1", "a1", "b1", "a2", "bye"]
    assert queue.get() is None
