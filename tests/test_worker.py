"""The worker process through the plain client: ops, queueing, cancel, bad requests and a dying worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from inference.client import WorkerClient
from inference.protocol import Done, Error, ErrorCode, Token, WorkerError


@pytest.fixture
def fake_worker(home: Path):
    env = {"SCRIPTORIUM_FAKE_DELAY_MS": "5", "SCRIPTORIUM_FAKE_REPLY": "The quick brown fox " + "jumps " * 500}
    with WorkerClient(home=home, backend="fake", env=env) as client:
        yield client


def collect(client: WorkerClient, rid: str) -> tuple[str, object]:
    text, last = "", None
    for event in client.events(rid, timeout=30):
        if isinstance(event, Token):
            text += event.text
        last = event
    return text, last


def test_hello_reports_protocol_and_backend(fake_worker: WorkerClient) -> None:
    hello = fake_worker.call("hello", timeout=30)
    assert hello["protocol"] == 1 and hello["backend"] == "fake" and hello["pid"] == fake_worker.pid


def test_generate_streams_then_done(fake_worker: WorkerClient, tiny_model: Path) -> None:
    fake_worker.call("load_model", model=str(tiny_model), timeout=30)
    text, last = collect(fake_worker, fake_worker.send("generate", task="continue", text="x", max_tokens=10))
    assert isinstance(last, Done) and text == last.result["output"] == "The quick "


def test_second_request_is_queued_not_lost(fake_worker: WorkerClient, tiny_model: Path) -> None:
    fake_worker.call("load_model", model=str(tiny_model), timeout=30)
    first = fake_worker.send("generate", task="continue", text="a", max_tokens=20)
    second = fake_worker.send("generate", task="continue", text="b", max_tokens=5)
    assert collect(fake_worker, first)[0] == "The quick brown fox "
    assert collect(fake_worker, second)[0] == "The q"


def test_cancel_running_and_queued(fake_worker: WorkerClient, tiny_model: Path) -> None:
    fake_worker.call("load_model", model=str(tiny_model), timeout=30)
    running = fake_worker.send("generate", task="continue", text="a", max_tokens=2000)
    queued = fake_worker.send("generate", task="continue", text="b", max_tokens=5)
    events = fake_worker.events(running, timeout=30)
    assert isinstance(next(events), Token)  # it is running
    fake_worker.cancel(queued)
    fake_worker.cancel(running)
    last = list(events)[-1]
    assert isinstance(last, Error) and last.code == ErrorCode.CANCELLED
    assert collect(fake_worker, queued)[1].code == ErrorCode.CANCELLED
    assert fake_worker.call("hello", timeout=30)["protocol"] == 1  # still serving


def test_bad_requests_get_errors_and_the_worker_stays_up(fake_worker: WorkerClient, bad_models: dict) -> None:
    proc = fake_worker.proc
    proc.stdin.write("this is not json\n")
    proc.stdin.flush()
    with pytest.raises(WorkerError) as unknown:
        fake_worker.call("frobnicate", timeout=30)
    assert unknown.value.code == ErrorCode.UNKNOWN_OP
    with pytest.raises(WorkerError) as bad_param:
        fake_worker.call("generate", task="continue", text="x", temprature=2, timeout=30)
    assert bad_param.value.code == ErrorCode.BAD_REQUEST and "temprature" in bad_param.value.message
    for kind, code in (("missing", "model_not_found"), ("not_gguf", "not_gguf"), ("truncated", "truncated_model"), ("unsupported_arch", "unsupported_architecture")):
        with pytest.raises(WorkerError) as err:
            fake_worker.call("load_model", model=str(bad_models[kind]), timeout=30)
        assert err.value.code == code, kind
    assert fake_worker.call("hello", timeout=30)["backend"] == "fake"


@pytest.mark.parametrize("params, words", [
    ({"task": "continue", "text": "x", "temprature": 2}, "temprature"),
    ({"task": "summarise", "text": "x"}, "Unknown task"),
    ({"task": "continue", "text": "x", "max_tokens": 0}, "max_tokens"),
    ({"task": "continue", "text": "x", "speculative": "sometimes"}, "speculative"),
])
def test_bad_generate_parameters_are_refused_before_any_model_is_prepared(home: Path, params: dict, words: str) -> None:
    """A fresh worker with no model answers bad_request at once, without assembling the embedded model first."""
    with WorkerClient(home=home, backend="fake") as client:
        rid = client.send("generate", **params)
        events = list(client.events(rid, timeout=30))
    assert [type(e) for e in events] == [Error]  # no `progress` of a model being prepared or loaded
    assert events[0].code == ErrorCode.BAD_REQUEST and words in events[0].message
    assert not (home / "models").exists()


def test_killed_worker_gives_a_clear_error(home: Path, tiny_model: Path) -> None:
    with WorkerClient(home=home, backend="fake", env={"SCRIPTORIUM_FAKE_DELAY_MS": "20", "SCRIPTORIUM_FAKE_REPLY": "word " * 500}) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        rid = client.send("generate", task="continue", text="x", max_tokens=2000)
        events = client.events(rid, timeout=30)
        assert isinstance(next(events), Token)
        os.kill(client.pid, signal.SIGKILL)
        last = list(events)[-1]
        assert isinstance(last, Error) and last.code == ErrorCode.WORKER_DIED
        assert "restart" in last.message


def test_token_batcher_sends_the_first_token_at_once_then_coalesces() -> None:
    from inference.worker import TokenBatcher

    sent: list[tuple[str, int]] = []
    batcher = TokenBatcher(lambda text, n: sent.append((text, n)))
    batcher.BATCH_S = 3600.0  # nothing after the first token is due until flush
    for piece in ("春", "眠", "不", "觉"):
        batcher.add(piece, 1)
    assert sent == [("春", 1)]
    batcher.flush()
    assert sent == [("春", 1), ("眠不觉", 3)]
    batcher.flush()
    assert len(sent) == 2  # nothing left, nothing sent
