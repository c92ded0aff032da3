"""Record the worker transcripts the Qt tests replay: `QT_QPA_PLATFORM=offscreen python -m tests.transcripts.record` (seconds).

Each scenario drives the real worker (fake backend) through `QtWorkerClient`, in the order the test
replays it, so the ids agree (q1 is always hello). A tee on the transport keeps every stdout line the
worker sent, the ones the client drops included, up to the scenario's end (the shutdown is not kept).
Rerun after a change to the protocol or to what the worker sends.

The fake backend is paced here, and only here, so that a cancel or a newer request lands mid-stream
while recording; the tests replay the lines with no clock at all.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject

from app.worker_client import ProcessTransport, QtWorkerClient
from inference.models import Registry
from inference.wire import LineBuffer
from tests import tiny_model
from tests.replay import TRANSCRIPTS

PACE = {"SCRIPTORIUM_FAKE_DELAY_MS": "5"}  # 5 ms a byte: several token events of the 20 ms batcher per word


class Session:
    """One worker run: the client, what it emitted, and the worker's stdout lines as sent."""

    def __init__(self, home: Path, reply: str, load: bool = False) -> None:
        self.lines: list[str] = []
        self.tokens: dict[str, str] = {}
        self.finished: set[str] = set()
        self.client = QtWorkerClient(home, "fake", {**PACE, "SCRIPTORIUM_FAKE_REPLY": reply}, transport=self._tee)
        self.client.token.connect(lambda i, t: self.tokens.__setitem__(i, self.tokens.get(i, "") + t))
        self.client.finished.connect(lambda i, _e: self.finished.add(i))
        if load:  # as the window does: load the default model once the worker has said hello (q2)
            self.client.ready.connect(lambda _: self.client.request("load_model", channel="load"))
        self.client.start()
        self.wait(lambda: "q1" in self.finished and (not load or "q2" in self.finished))

    def _tee(self, parent: QObject) -> ProcessTransport:
        transport, lines = ProcessTransport(parent), LineBuffer()
        transport.output.connect(lambda data: self.lines.extend(lines.feed(data)))
        return transport

    def wait(self, done: Callable[[], bool], timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("the worker did not get there in time")
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)

    def save(self, name: str) -> None:
        kept = list(self.lines)
        self.client.shutdown()
        self.wait(lambda: not self.client.running)
        (TRANSCRIPTS / f"{name}.jsonl").write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        print(f"{name}: {len(kept)} lines", file=sys.stderr)


def generate(home: Path) -> None:
    """hello (q1), then one generate (q2) streamed to its end: English and three-byte CJK characters."""
    s = Session(home, "The quick brown fox — 敏捷的棕色狐狸 — jumps over the lazy dog.")
    rid = s.client.request("generate", task="continue", text="Hello")
    s.wait(lambda: rid in s.finished)
    s.save("generate")


def cancel(home: Path) -> None:
    """hello (q1), generate (q2) cancelled after its first token: the worker ends it with `cancelled`."""
    s = Session(home, "word " * 200)
    rid = s.client.request("generate", task="continue", text="x")
    s.wait(lambda: rid in s.tokens)
    s.client.cancel(rid)
    s.wait(lambda: rid in s.finished)
    s.save("cancel")


def newest_wins(home: Path) -> None:
    """hello (q1), generate (q2) on a channel, superseded after its first token by generate (q3) on that channel."""
    s = Session(home, "word " * 200)
    first = s.client.request("generate", channel="s", task="continue", text="A")
    s.wait(lambda: first in s.tokens)
    second = s.client.request("generate", channel="s", task="continue", text="B", max_tokens=12)
    s.wait(lambda: second in s.finished)
    s.save("newest_wins")


def window_stop(home: Path) -> None:
    """The window's start (hello q1, load_model q2), then continue (q3), stopped after a few words."""
    s = Session(home, "one two three four five six seven eight nine ten " * 20, load=True)
    rid = s.client.request("generate", channel="suggestion", task="continue", text="Count:")
    s.wait(lambda: len(s.tokens.get(rid, "")) > 10)
    s.client.cancel(rid)
    s.wait(lambda: rid in s.finished)
    s.save("window_stop")


def window_retry(home: Path) -> None:
    """The window's start, continue (q3) stopped early, then Retry (q4) on the same channel streamed to max_tokens."""
    s = Session(home, "abcdefghij" * 30, load=True)
    first = s.client.request("generate", channel="suggestion", task="continue", text="Letters:", max_tokens=200)
    s.wait(lambda: len(s.tokens.get(first, "")) > 5)
    s.client.cancel(first)
    second = s.client.request("generate", channel="suggestion", task="continue", text="Letters:", max_tokens=200)
    s.wait(lambda: second in s.finished)
    s.save("window_retry")


SCENARIOS = (generate, cancel, newest_wins, window_stop, window_retry)


def main() -> None:
    app = QCoreApplication.instance() or QCoreApplication(sys.argv)  # noqa: F841 (the event loop the client needs)
    TRANSCRIPTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        Registry(home).use(str(tiny_model.build_tiny_model(Path(tmp))))
        for scenario in SCENARIOS:
            scenario(home)


if __name__ == "__main__":
    main()
