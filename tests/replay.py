"""Recorded worker transcripts, replayed to the Qt client as far as a test says: no pacing, no race with a real process.

After vorta's tests: the fixtures are real stdout lines of `python -m inference.worker --backend fake`,
recorded once by `python -m tests.transcripts.record`; a test plays them through the client's public
`Transport` seam and asserts on what the client emitted and on what it wrote back.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from app.worker_client import Transport
from inference.protocol import ErrorCode, Request, from_line
from inference.wire import LineBuffer

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def transcript(name: str) -> list[bytes]:
    """The recorded stdout lines of `tests/transcripts/NAME.jsonl`, newlines kept."""
    return (TRANSCRIPTS / f"{name}.jsonl").read_bytes().splitlines(keepends=True)


class ReplayTransport(Transport):
    """Plays a transcript's lines only when told, each as its own read from the event loop; records what the client wrote."""

    def __init__(self, lines: list[bytes], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.unplayed = deque(lines)
        self.written: list[Request] = []  # every request the client sent, parsed
        self.signals: list[str] = []  # "terminate" / "kill", in order
        self.command: list[str] = []
        self._inbox = LineBuffer()
        self._outbox: deque[bytes | tuple[str, str]] = deque()
        self._running = False

    def factory(self, parent: QObject) -> "ReplayTransport":
        """What `QtWorkerClient(transport=...)` calls at start: this replay, parented to the client."""
        self.setParent(parent)
        return self

    # -- the Transport the client sees -------------------------------------------------------
    def start(self, command: list[str], env: dict[str, str]) -> None:
        self.command, self._running = list(command), True

    def write(self, data: bytes) -> None:
        if self._running:
            self.written += [from_line(line) for line in self._inbox.feed(data)]  # type: ignore[misc]

    def close_input(self) -> None:
        self.die("exit code 0")  # as the real worker: end of input is shut down

    def terminate(self) -> None:
        self.signals.append("terminate")
        self.die("exit code 15")

    def kill(self) -> None:
        self.signals.append("kill")
        self.die("exit code 9")

    @property
    def running(self) -> bool:
        return self._running

    # -- what a test says --------------------------------------------------------------------
    def play(self, count: int | None = None) -> None:
        """The next `count` lines of the transcript (all of them if None) reach the client."""
        for _ in range(len(self.unplayed) if count is None else count):
            self.feed(self.unplayed.popleft())

    def play_through(self, request_id: str, kind: str | None = None) -> None:
        """Lines up to and including the first one of `request_id` (of this `kind`, if given)."""
        while self.unplayed:
            event = from_line(self.unplayed[0].decode())
            self.play(1)
            if event.id == request_id and kind in (None, event.kind):
                return
        raise AssertionError(f"the transcript has no {kind or 'line'} for {request_id}")

    def feed(self, *reads: bytes) -> None:
        """Raw stdout bytes, each argument one read however it splits the lines."""
        self._post(*reads)

    def die(self, why: str = "exit code 9") -> None:
        """After what was played, the worker ends as killed (a test's crash) or as exited."""
        if self._running:
            self._running = False
            self._post((ErrorCode.WORKER_DIED, why))

    @property
    def delivered(self) -> bool:
        """Everything played so far has reached the client."""
        return not self._outbox

    def requests(self, op: str) -> list[Request]:
        """What the client wrote of this op."""
        return [r for r in self.written if r.op == op]

    def _post(self, *items: bytes | tuple[str, str]) -> None:
        # Delivered from the event loop, as a QProcess delivers: never inside the client's own call.
        self._outbox.extend(items)
        QTimer.singleShot(0, self, self._deliver)

    def _deliver(self) -> None:
        while self._outbox:
            item = self._outbox.popleft()
            if isinstance(item, bytes):
                self.output.emit(item)
            else:
                self.ended.emit(*item)
                return  # the client deletes an ended transport; nothing comes after its end
