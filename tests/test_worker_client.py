"""The Qt adapter over the worker: whole lines, one `finished` per request, newest request wins, cancel in stages, crashes.

A real worker (fake backend) where the test is about the process; a recorded transcript replayed
(tests/replay.py) where it is about timing, so a cancel window is open because the test holds the stream.
"""

from __future__ import annotations

import logging

import pytest

from app.worker_client import CANCEL_GRACE_MS, QtWorkerClient
from inference.protocol import Done, ErrorCode, Token, to_line
from tests.gui_helpers import gui_home  # noqa: F401 (fixture)
from tests.replay import ReplayTransport, transcript


class Recorder:
    """Counts every finished(id) a client emits."""

    def __init__(self, client: QtWorkerClient) -> None:
        self.finished: dict[str, list] = {}
        self.tokens: dict[str, str] = {}
        client.finished.connect(lambda i, e: self.finished.setdefault(i, []).append(e))
        client.token.connect(lambda i, t: self.tokens.__setitem__(i, self.tokens.get(i, "") + t))


@pytest.fixture
def client(qtbot, gui_home):
    c = QtWorkerClient(gui_home, "fake")
    with qtbot.waitSignal(c.ready, timeout=10000):
        c.start()
    yield c
    if c.running:
        with qtbot.waitSignal(c.stopped, timeout=10000):
            c.shutdown()


def replayed(qtbot, name: str) -> tuple[QtWorkerClient, ReplayTransport]:
    """A client on the transcript `name`: hello (q1) answered, every later line held until the test plays it."""
    replay = ReplayTransport(transcript(name))
    c = QtWorkerClient(None, "fake", transport=replay.factory)
    with qtbot.waitSignal(c.ready, timeout=5000):
        c.start()
        replay.play_through("q1", "done")
    return c, replay


def test_generate_streams_then_finishes_once(qtbot, client):
    rec = Recorder(client)
    rid = client.request("generate", task="continue", text="Hello")
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=10000)
    (event,) = rec.finished[rid]
    assert isinstance(event, Done) and rec.tokens[rid] == event.result["output"]


def test_newest_request_on_a_channel_wins(qtbot):
    client, replay = replayed(qtbot, "newest_wins")
    rec = Recorder(client)
    first = client.request("generate", channel="s", task="continue", text="A")
    replay.play_through(first, "token")
    qtbot.waitUntil(lambda: first in rec.tokens, timeout=5000)
    second = client.request("generate", channel="s", task="continue", text="B", max_tokens=12)
    assert [e.code for e in rec.finished[first]] == [ErrorCode.CANCELLED]  # at once, not when the worker answers
    assert [r.params for r in replay.requests("cancel")] == [{"target": first}]
    seen = rec.tokens[first]
    replay.feed(to_line(Token(first, " late")).encode())  # what a worker sends before it reads the cancel
    replay.play()  # the worker's own `cancelled` for the first, then the second's stream
    qtbot.waitUntil(lambda: second in rec.finished, timeout=5000)
    assert rec.tokens[first] == seen  # nothing of the superseded request arrived after it was dropped
    assert len(rec.finished[first]) == 1 and isinstance(rec.finished[second][0], Done)
    assert rec.tokens[second] == rec.finished[second][0].result["output"]


def test_crash_finishes_every_open_request_once(qtbot):
    client, replay = replayed(qtbot, "generate")
    rec = Recorder(client)
    died = []
    client.died.connect(died.append)
    ids = [client.request("generate", task="continue", text="x") for _ in range(3)]
    replay.play_through(ids[0], "token")
    replay.die("exit code 9")  # killed mid-stream
    qtbot.waitUntil(lambda: all(i in rec.finished for i in ids) and bool(died), timeout=5000)
    assert rec.tokens[ids[0]] == "T"
    assert all(len(rec.finished[i]) == 1 and rec.finished[i][0].code == ErrorCode.WORKER_DIED for i in ids)
    assert "stopped unexpectedly (exit code 9)" in died[0] and not client.running
    late = client.request("hello")
    assert late not in rec.finished  # from the event loop, never inside request()
    qtbot.waitUntil(lambda: late in rec.finished, timeout=2000)
    assert rec.finished[late][0].code == ErrorCode.WORKER_DIED


def test_a_worker_that_never_starts_still_finishes_requests(qtbot, gui_home):
    class Broken(QtWorkerClient):
        def command(self) -> list[str]:
            return [str(gui_home / "no-such-python"), "-m", "inference.worker"]

    client = Broken(gui_home, "fake")
    rec = Recorder(client)
    died = []
    client.died.connect(died.append)
    client.start()
    rid = client.request("generate", task="continue", text="x")
    qtbot.waitUntil(lambda: rid in rec.finished and bool(died), timeout=5000)
    assert rec.finished[rid][0].code == ErrorCode.WORKER_START_FAILED
    assert "could not start" in died[0]


def test_lines_split_across_reads_and_junk_lines(qtbot, caplog):
    client, replay = replayed(qtbot, "generate")
    rec = Recorder(client)
    rid = client.request("generate", task="continue", text="Hello")
    junk = [b"llama.cpp: a stray print on stdout\n", b'{"kind": "token", "id": "q2"\n', b"\n", "\u00e9t\u00e9 not JSON\n".encode()]
    lines = transcript("generate")[1:]
    data = b"".join(lines[:4] + junk + lines[4:])
    with caplog.at_level(logging.WARNING, logger="inference.wire"):
        replay.feed(*(data[i : i + 1] for i in range(len(data))))  # a read a byte: every line and every CJK character split
        qtbot.waitUntil(lambda: rid in rec.finished, timeout=5000)
    (event,) = rec.finished[rid]
    assert isinstance(event, Done) and "敏捷的棕色狐狸" in event.result["output"]
    assert rec.tokens[rid] == event.result["output"]  # every character whole, none replaced
    assert sum("not protocol" in r.getMessage() for r in caplog.records) == 3  # the blank line is no news
    assert client.running


def test_cancel_asks_the_worker_and_ends_with_cancelled(qtbot):
    client, replay = replayed(qtbot, "cancel")
    rec = Recorder(client)
    rid = client.request("generate", task="continue", text="x")
    replay.play_through(rid, "token")
    qtbot.waitUntil(lambda: rid in rec.tokens, timeout=5000)
    client.cancel(rid, escalate=True)
    assert [r.params for r in replay.requests("cancel")] == [{"target": rid}]  # stage one: ask
    assert rid not in rec.finished  # the request ends when the worker says so
    replay.play()
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=5000)
    assert [e.code for e in rec.finished[rid]] == [ErrorCode.CANCELLED]
    assert client.running and replay.signals == []


def test_a_cancel_the_worker_ignores_ends_in_a_terminate_and_a_fresh_worker(qtbot):
    stuck, fresh = ReplayTransport(transcript("cancel")), ReplayTransport(transcript("cancel"))
    starts = iter([stuck, fresh])
    client = QtWorkerClient(None, "fake", transport=lambda parent: next(starts).factory(parent))
    client.start()
    stuck.play_through("q1", "done")
    rec = Recorder(client)
    died = []
    client.died.connect(died.append)
    rid = client.request("generate", task="continue", text="x")
    stuck.play_through(rid, "token")
    client.cancel(rid, escalate=True)  # and the worker never answers it
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=CANCEL_GRACE_MS + 5000)
    assert stuck.signals == ["terminate"] and rec.finished[rid][0].code == ErrorCode.WORKER_DIED
    assert client.transport is fresh and fresh.requests("hello") and not died  # restarted, no banner
