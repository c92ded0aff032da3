"""The `score` op: each text's summed token log-probability, through the worker, the fake and the real llama.cpp path."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from inference.backends.base import ScoreStats
from inference.backends.fake import UNSCRIPTED_LOGPROB, FakeBackend
from inference.backends.llama_session import LlamaSession
from inference.client import WorkerClient
from inference.engine import Engine
from inference.protocol import BadRequest, Cancelled, ErrorCode, WorkerError
from inference.scoring import ScoreParams, run_score


def test_the_fake_scores_scripted_texts_and_charges_others_by_the_byte(home: Path, tiny_model: Path) -> None:
    env = {"SCRIPTORIUM_FAKE_SCORES": json.dumps({"It is too late.": -3.0})}
    with WorkerClient(home=home, backend="fake", env=env) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        result = client.call("score", texts=["It is to late.", "It is too late."], timeout=30)
    assert result["scores"][1] == pytest.approx(-3.0)
    assert result["scores"][0] == pytest.approx(UNSCRIPTED_LOGPROB * (len("It is to late.") - 1))
    assert result["tokens"] == [len("It is to late.") - 1, len("It is too late.") - 1]


@pytest.mark.parametrize("params, why", [
    ({}, "texts"), ({"texts": []}, "texts"), ({"texts": ["a", 3]}, "texts"), ({"texts": [""]}, "texts"),
    ({"texts": ["a"], "prefix": "b"}, "prefix"),
])
def test_bad_score_requests_are_refused_before_any_work(params: dict, why: str) -> None:
    with pytest.raises(BadRequest, match=why):
        ScoreParams.from_wire(params)


def test_a_backend_without_scoring_answers_unsupported(home: Path, tiny_model: Path) -> None:
    class Mute(FakeBackend):
        check_scoring = FakeBackend.__mro__[1].check_scoring  # the interface's default

    engine = Engine(Mute())
    engine.model = object()  # type: ignore[assignment]
    with pytest.raises(WorkerError) as caught:
        run_score(engine, ScoreParams(("a text",)), threading.Event())
    assert caught.value.code == ErrorCode.UNSUPPORTED


def test_scores_come_back_in_request_order_though_read_in_token_order() -> None:
    backend = FakeBackend()
    engine = Engine(backend)
    engine.model = object()  # type: ignore[assignment]
    result = run_score(engine, ScoreParams(("b second", "a first", "b first")), threading.Event())
    assert backend.scored == ["a first", "b first", "b second"]
    assert result["tokens"] == [7, 6, 6]


def test_a_cancel_stops_scoring() -> None:
    engine = Engine(FakeBackend())
    engine.model = object()  # type: ignore[assignment]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_score(engine, ScoreParams(("x",)), cancel)


@pytest.fixture(scope="module")
def tiny_session(tiny_model: Path):
    session = LlamaSession.open(tiny_model, n_ctx=512, n_batch=16, n_threads=1)
    yield session
    session.close()


def _fresh_logprobs(model: Path, tokens: list[int]) -> list[float]:
    """The reference: llama.cpp's logits of every position from one full evaluation, log-softmaxed here."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(model), n_ctx=512, n_batch=512, logits_all=True, verbose=False, n_threads=1)
    try:
        llm.eval(tokens)
        rows = np.asarray(llm.scores[: len(tokens) - 1], dtype=np.float64)
        lse = np.log(np.exp(rows - rows.max(axis=1, keepdims=True)).sum(axis=1)) + rows.max(axis=1)
        return [rows[i, tokens[i + 1]] - lse[i] for i in range(len(tokens) - 1)]
    finally:
        llm.close()


def test_llama_scores_match_a_full_evaluation_and_reuse_the_shared_beginning(tiny_session: LlamaSession, tiny_model: Path) -> None:
    a = tiny_session.tokenize("The keeper climbed the stairs of the old lighthouse at dusk.")
    b = tiny_session.tokenize("The keeper climbed the stairs of the new lighthouse at dawn.")
    stats = ScoreStats()
    first = tiny_session.score(a, stats)
    second = tiny_session.score(b, stats)
    shared = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert stats.tokens_reused == shared - 1  # the last shared token is read again for its logits
    assert stats.tokens_evaluated == len(a) + len(b) - (shared - 1)
    for got, tokens in ((first, a), (second, b)):
        want = _fresh_logprobs(tiny_model, tokens)
        assert len(got) == len(tokens) - 1 and all(x <= 0 for x in got)
        assert np.allclose(got, want, atol=0.05)  # f16 KV, flash attention and batch shapes differ: equal to noise (an off-by-one is off by units)


def test_llama_scoring_after_a_generation_reads_the_text_again(tiny_session: LlamaSession) -> None:
    text = tiny_session.tokenize("A short line to score.")
    before = tiny_session.score(text, ScoreStats())
    tiny_session.reset()
    tiny_session.extend(tiny_session.tokenize("Something else entirely was read here."))
    stats = ScoreStats()
    again = tiny_session.score(text, stats)
    assert np.allclose(before, again, atol=2e-3) and math.isclose(sum(before), sum(again), abs_tol=1e-2)


def test_llama_scores_a_text_longer_than_one_batch(tiny_session: LlamaSession, tiny_model: Path) -> None:
    tokens = tiny_session.tokenize(" ".join(["the old keeper climbed the stairs"] * 8))
    assert len(tokens) > 3 * tiny_session.n_batch
    got = tiny_session.score(tokens, ScoreStats())
    assert np.allclose(got, _fresh_logprobs(tiny_model, tokens), atol=0.05)


def test_the_worker_scores_with_the_tiny_model(home: Path, tiny_model: Path) -> None:
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(tiny_model), timeout=60)
        scores = client.score(["One sentence.", "One sentence, longer."], timeout=60)
        result = client.call("score", texts=["One sentence."], token_logprobs=True, timeout=60)
    assert len(scores) == 2 and all(s < 0 for s in scores)
    assert result["scores"][0] == pytest.approx(sum(result["token_logprobs"][0]), abs=1e-2)
