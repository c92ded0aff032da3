"""The worker under load: requests from several clients with random cancels and disconnects, every one answered
exactly once, the worker's memory stable, nothing stuck; and a client killed mid-stream leaves no worker behind.

A "client" is what `scriptorium serve` makes of each HTTP peer: a tag on its requests, and when it disconnects,
a cancel of everything it still waits for (inference/server/bridge.py). A short run is in the suite; the
1,000-request run is marked slow (`make soak`).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from inference.backends.fake import FakeBackend
from inference.client import WorkerClient
from inference.engine import Engine
from inference.protocol import BACKGROUND, INTERACTIVE, Done, Error, Event, Request, Token
from inference.worker import RECENT, Worker

IN_FLIGHT = 24  # requests a load keeps waiting at once, as a busy endpoint would
OPS = ["generate"] * 7 + ["tokenize", "hello", "cache_stats"]


def rss_kib(pid: int) -> int:
    """A process's resident size (VmRSS in /proc/PID/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


@dataclass
class Load:
    """One worker driven by many clients: what was sent, what came back, who left."""

    client: WorkerClient
    rng: random.Random
    max_tokens: int
    events: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    owner: dict[str, str] = field(default_factory=dict)  # request id -> client
    ended: set[str] = field(default_factory=set)
    here: list[str] = field(default_factory=lambda: [f"c{n}" for n in range(6)])  # clients connected now
    gone: set[str] = field(default_factory=set)  # clients that disconnected, each replaced by a newcomer
    slots: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(IN_FLIGHT))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _on_event(self, event: Event) -> None:  # the client's reader thread
        with self.lock:
            self.events[event.id].append(event)
            if isinstance(event, (Done, Error)):
                self.ended.add(event.id)
                self.slots.release()

    def send_one(self) -> str:
        """A random request from a random client still here; then, at random, a cancel or a client leaving."""
        who = self.rng.choice(self.here)
        op = self.rng.choice(OPS)
        params = {"task": "continue", "text": "Once", "max_tokens": self.rng.randint(1, self.max_tokens), "temperature": 0} if op == "generate" else {}
        params = {"text": "床前明月光 moonlight"} if op == "tokenize" else params
        self.slots.acquire()
        rid = self.client.request(op, params, priority=self.rng.choice([INTERACTIVE, BACKGROUND]), client=who, on_event=self._on_event)
        self.owner[rid] = who
        if self.rng.random() < 0.25:
            self.client.cancel(self.rng.choice(list(self.owner)))  # running, queued, finished: all must be harmless
        if self.rng.random() < 0.02:
            self.disconnect(who)
        return rid

    def disconnect(self, who: str) -> None:
        """A client leaves mid-stream: everything it still waits for is cancelled, and it reads nothing more."""
        self.gone.add(who)
        self.here[self.here.index(who)] = f"c{len(self.here) + len(self.gone)}"
        for rid in [r for r, c in self.owner.items() if c == who and r not in self.ended]:
            self.client.cancel(rid)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ended) < len(self.owner):
            assert time.monotonic() < deadline, f"{len(self.owner) - len(self.ended)} requests never answered"
            time.sleep(0.05)


def run_load(client: WorkerClient, model: Path, n: int, max_tokens: int, seed: int = 19) -> tuple[Load, int, int]:
    """Send `n` requests; return the load, and the worker's resident KiB after warm-up and at the end."""
    client.call("load_model", model=str(model), n_ctx=512, timeout=60)
    load = Load(client, random.Random(seed), max_tokens)
    warm = max(20, n // 10)
    for _ in range(warm):
        load.send_one()
    load.wait(120)
    warm_rss = rss_kib(client.pid)
    for _ in range(n - warm):
        load.send_one()
    load.wait(600)
    return load, warm_rss, rss_kib(client.pid)


def check(load: Load, warm_rss: int, end_rss: int, n: int) -> None:
    """Every request answered exactly once, its end last; memory within 10% of warm-up; the worker answers at once."""
    assert len(load.owner) == n and load.ended == set(load.owner)
    for rid, events in load.events.items():
        assert [type(e) for e in events[:-1]] == [Token] * (len(events) - 1) and isinstance(events[-1], (Done, Error)), rid
    ends = [load.events[rid][-1] for rid in load.owner]
    assert {e.code for e in ends if isinstance(e, Error)} <= {"cancelled"} and sum(isinstance(e, Done) for e in ends) > n // 3
    stats = load.client.call("queue_stats", timeout=10)
    # The worker's own count: each request ended once (a second `done` would count twice), none runs or waits.
    assert sum(stats["outcomes"].values()) == n + 1  # and the load_model
    assert stats["running"] is None and not any(stats["queued"].values())
    assert end_rss <= warm_rss * 1.10, f"resident size grew from {warm_rss} KiB to {end_rss} KiB"
    started = time.monotonic()
    assert load.client.call("hello", timeout=5)["protocol"] == 1 and time.monotonic() - started < 2


FAKE = {"SCRIPTORIUM_FAKE_DELAY_MS": "1", "SCRIPTORIUM_FAKE_REPLY": "The quick brown fox jumps over the lazy dog. " * 4}


@pytest.mark.parametrize("n", [200, pytest.param(1000, marks=pytest.mark.slow)])
def test_the_fake_worker_answers_every_request_once_under_cancels_and_disconnects(home: Path, tiny_model: Path, n: int) -> None:
    with WorkerClient(home=home, backend="fake", env=FAKE) as client:
        check(*run_load(client, tiny_model, n, max_tokens=120), n=n)


@pytest.mark.parametrize("n", [20, pytest.param(300, marks=pytest.mark.slow)])
def test_the_tiny_model_answers_every_request_once_under_cancels_and_disconnects(home: Path, tiny_model: Path, n: int) -> None:
    with WorkerClient(home=home) as client:
        check(*run_load(client, tiny_model, n, max_tokens=16), n=n)


KILLED_CLIENT = """
import os, sys
from inference.client import WorkerClient
from inference.protocol import Token
client = WorkerClient(home=sys.argv[1], backend="fake", env={"SCRIPTORIUM_FAKE_DELAY_MS": "5", "SCRIPTORIUM_FAKE_REPLY": "word " * 400})
client.call("load_model", model=sys.argv[2], timeout=30)
ids = [client.send("generate", task="continue", text="x", max_tokens=2000) for _ in range(20)]
next(e for e in client.events(ids[0], timeout=30) if isinstance(e, Token))
print(client.pid, flush=True)
os._exit(0)  # dies mid-stream: no shutdown sent, the pipes closed by the kernel
"""


def test_a_client_killed_mid_stream_leaves_no_worker_generating(home: Path, tiny_model: Path) -> None:
    """Twenty 10-second generations queued, the client gone after one token: the worker stops within seconds."""
    started = time.monotonic()
    child = subprocess.run([sys.executable, "-c", KILLED_CLIENT, str(home), str(tiny_model)], capture_output=True, text=True, timeout=60)
    # capture_output read stderr to its end: every writer closed it, the orphaned worker too, so it has exited.
    assert child.returncode == 0 and child.stdout.strip().isdigit()
    assert time.monotonic() - started < 20
    assert "the client has gone" in child.stderr and "Traceback" not in child.stderr


def test_cancels_of_ended_requests_are_remembered_for_the_last_few_only(home: Path) -> None:
    """A long serve session cancels many requests after they ended: the worker keeps the last RECENT, not all."""
    worker = Worker(Engine(FakeBackend()), home, io.StringIO())
    for n in range(5 * RECENT):
        worker._cancel(Request(f"c{n}", "cancel", {"target": f"r{n}"}))
    assert len(worker.cancelled) == RECENT and f"r{5 * RECENT - 1}" in worker.cancelled
