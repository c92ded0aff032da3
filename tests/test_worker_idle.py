"""The worker's background work (Engine.idle_step): run a step at a time while no request waits, preempted by a
request within one step, resumed after it, left unfinished by a shutdown, and never fatal."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Callable

from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine
from inference.models import ModelInfo
from inference.protocol import Done, Request, from_line
from inference.worker import Worker


class IdleFake(FakeBackend):
    """A fake whose first generation leaves `steps` steps of background work; `during[n]` runs inside step n."""

    def __init__(self, steps: int, during: dict[int, Callable[[], None]] | None = None) -> None:
        super().__init__()
        self.steps, self.left, self.during, self.log = steps, 0, during or {}, []

    def generate(self, prompt, params, stats, context=None):
        self.log.append("generate")
        if self.steps:
            self.left, self.steps = self.steps, 0  # only the first request offers work
        return super().generate(prompt, params, stats)

    def idle_step(self) -> bool:
        n = sum(entry.startswith("step") for entry in self.log)
        self.log.append(f"step {n}")
        if n in self.during:
            self.during[n]()
        self.left -= 1
        return self.left > 0


def generate(rid: str) -> Request:
    return Request(rid, "generate", {"raw_prompt": "Once", "max_tokens": 3, "temperature": 0})


def run(worker: Worker, *requests: Request) -> list:
    """Queue the requests, serve until the queue is closed and drained, and return the events written."""
    thread = threading.Thread(target=worker.serve)
    for request in requests:
        worker.pending.put(request)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the worker did not stop"
    return [from_line(line) for line in worker.out.getvalue().splitlines()]


def make(home: Path, backend: IdleFake) -> Worker:
    worker = Worker(Engine(backend), home, io.StringIO())
    model = ModelInfo("fake", home / "fake.gguf", "f" * 64, "llama", None, "F32", 4096, 0, None)
    worker.engine.load(model, LoadOptions())
    return worker


def test_a_request_arriving_mid_step_runs_after_that_step_and_the_work_resumes_after_it(home: Path) -> None:
    backend = IdleFake(steps=6)
    worker = make(home, backend)
    backend.during = {2: lambda: worker.pending.put(generate("r2")), 5: lambda: worker.pending.close(Request("s", "shutdown"))}
    events = run(worker, generate("r1"))
    assert backend.log == ["generate", "step 0", "step 1", "step 2", "generate", "step 3", "step 4", "step 5"]
    assert [e.id for e in events if isinstance(e, Done)] == ["r1", "r2", "s"]


def test_a_shutdown_ends_the_work_unfinished(home: Path) -> None:
    backend = IdleFake(steps=100)
    worker = make(home, backend)
    backend.during = {1: lambda: worker.pending.close(Request("s", "shutdown"))}
    events = run(worker, generate("r1"))
    assert backend.log == ["generate", "step 0", "step 1"] and backend.left == 98
    assert isinstance(events[-1], Done) and events[-1].id == "s"


def test_work_that_fails_stops_until_the_next_request_and_the_worker_keeps_serving(home: Path) -> None:
    backend = IdleFake(steps=3)
    worker = make(home, backend)

    def fail() -> None:
        worker.pending.put(generate("r2"))  # queued before the failure, so the worker has something to do after it
        raise RuntimeError("a background step broke")

    backend.during = {0: fail, 1: lambda: worker.pending.close(Request("s", "shutdown"))}
    events = run(worker, generate("r1"))
    # the failed work is offered again after r2 (step 1), as any work is after a request
    assert backend.log == ["generate", "step 0", "generate", "step 1"]
    assert [e.id for e in events if isinstance(e, Done)] == ["r1", "r2", "s"]


def test_no_background_work_without_a_backend_that_has_some(home: Path) -> None:
    backend = IdleFake(steps=0)
    worker = make(home, backend)
    worker.pending.close(Request("s", "shutdown"))  # queued behind r1: it runs once r1 is done
    events = run(worker, generate("r1"))
    assert backend.log == ["generate"] and [e.id for e in events if isinstance(e, Done)] == ["r1", "s"]
