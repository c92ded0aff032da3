"""The Qt adapter over the worker: whole lines, one `finished` per request, newest request wins, crashes."""

from __future__ import annotations

import os
import signal

import pytest

from app.worker_client import QtWorkerClient
from inference.protocol import Done, Error, ErrorCode
from tests.gui_helpers import gui_home  # noqa: F401 (fixture)


class Recorder:
    """Counts every finished(id) a client emits."""

    def __init__(self, client: QtWorkerClient) -> None:
        self.finished: dict[str, list] = {}
        self.tokens: dict[str, str] = {}
        client.finished.connect(lambda i, e: self.finished.setdefault(i, []).append(e))
        client.token.connect(lambda i, t: self.tokens.__setitem__(i, self.tokens.get(i, "") + t))


@pytest.fixture
def client(qtbot, gui_home, request):
    env = getattr(request, "param", {})
    c = QtWorkerClient(gui_home, "fake", env)
    with qtbot.waitSignal(c.ready, timeout=10000):
        c.start()
    yield c
    if c.running:
        with qtbot.waitSignal(c.stopped, timeout=10000):
            c.shutdown()


def test_generate_streams_then_finishes_once(qtbot, client):
    rec = Recorder(client)
    rid = client.request("generate", task="continue", text="Hello")
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=10000)
    (event,) = rec.finished[rid]
    assert isinstance(event, Done) and rec.tokens[rid] == event.result["output"]


@pytest.mark.parametrize("client", [{"SCRIPTORIUM_FAKE_DELAY_MS": "10"}], indirect=True)
def test_newest_request_on_a_channel_wins(qtbot, client):
    rec = Recorder(client)
    first = client.request("generate", channel="s", task="continue", text="A")
    qtbot.waitUntil(lambda: first in rec.tokens, timeout=5000)
    second = client.request("generate", channel="s", task="continue", text="B")
    assert [e.code for e in rec.finished[first]] == [ErrorCode.CANCELLED]  # at once, not when the worker answers
    seen = rec.tokens[first]
    qtbot.waitUntil(lambda: second in rec.finished, timeout=10000)
    assert rec.tokens[first] == seen  # nothing of the superseded request arrived after it was dropped
    assert len(rec.finished[first]) == 1 and isinstance(rec.finished[second][0], Done)


@pytest.mark.parametrize("client", [{"SCRIPTORIUM_FAKE_DELAY_MS": "50"}], indirect=True)
def test_crash_finishes_every_open_request_once(qtbot, client):
    rec = Recorder(client)
    died = []
    client.died.connect(died.append)
    ids = [client.request("generate", task="continue", text="x") for _ in range(3)]
    qtbot.waitUntil(lambda: ids[0] in rec.tokens, timeout=5000)
    os.kill(client.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: all(i in rec.finished for i in ids) and bool(died), timeout=5000)
    assert all(len(rec.finished[i]) == 1 and rec.finished[i][0].code == ErrorCode.WORKER_DIED for i in ids)
    late = client.request("hello")
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


def test_lines_split_across_reads_and_junk_lines(qtbot, client):
    rec = Recorder(client)
    rid = client.request("hello")
    client._dispatch("this is not protocol")  # logged and skipped, never fatal
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=5000)
    assert isinstance(rec.finished[rid][0], Done)


@pytest.mark.parametrize("client", [{"SCRIPTORIUM_FAKE_DELAY_MS": "20"}], indirect=True)
def test_cancel_ends_a_request_with_cancelled(qtbot, client):
    rec = Recorder(client)
    rid = client.request("generate", task="continue", text="x")
    qtbot.waitUntil(lambda: rid in rec.tokens, timeout=5000)
    client.cancel(rid, escalate=True)
    qtbot.waitUntil(lambda: rid in rec.finished, timeout=5000)
    assert isinstance(rec.finished[rid][0], Error) and rec.finished[rid][0].code == ErrorCode.CANCELLED
    assert client.running
