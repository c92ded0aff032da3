"""Speculative decoding: greedy output equals plain greedy output token for token; the controller turns itself off when verifying costs too much."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.backends.base import GenerationStats, LoadOptions, RequestContext, SamplingParams
from inference.speculative import MIN_GAIN, Controller, PromptLookup, expected_tokens

TEXT = "Their going to the libary tomorow, weather or not it rains. They're going to the library tomorrow, whether or not it rains. " * 4


def test_prompt_lookup_copies_what_followed_the_last_ngram() -> None:
    lookup = PromptLookup(max_ngram=2)
    assert lookup([1, 2, 3, 4, 5, 9, 2, 3], 3) == [4, 5, 9]
    assert lookup([1, 2, 3, 4, 7, 3], 2) == [4, 7]  # falls back to a 1-gram
    assert lookup([1, 2, 3], 4) == [] and lookup([5, 5], 0) == []


def test_expected_tokens() -> None:
    assert expected_tokens(0.0, 4) == 1.0
    assert expected_tokens(1.0, 4) == 5.0
    assert expected_tokens(0.5, 2) == pytest.approx(1.75)


def _controller(costs: dict[int, float], accepted: int, drafted: int) -> Controller:
    ctl = Controller(costs=dict(costs))
    for _ in range(40):
        ctl.record_step("proofread", "lookup", drafted, accepted)
    return ctl


def test_controller_chooses_zero_when_verifying_costs_too_much() -> None:
    # A compute-bound machine: a batch of n tokens costs n times one, so no acceptance rate can pay for it.
    cpu = {n: 0.020 * n for n in (1, 2, 3, 5, 9)}
    ctl = _controller(cpu, accepted=4, drafted=4)  # even when every drafted token is accepted
    assert ctl.choose_k("proofread", "lookup") == 0
    assert not ctl.can_pay("lookup")
    assert ctl.choose_k("proofread", "lookup", forced=True) >= 1


def test_controller_speculates_where_verifying_is_nearly_free() -> None:
    gpu = {1: 0.010, 2: 0.0102, 3: 0.0104, 5: 0.0108, 9: 0.0116}
    good = _controller(gpu, accepted=4, drafted=4)
    k = good.choose_k("proofread", "lookup")
    assert k >= 4 and good.speedup(k, good.alpha("proofread", "lookup"), "lookup") >= MIN_GAIN
    poor = _controller(gpu, accepted=0, drafted=4)
    choices = [poor.choose_k("proofread", "lookup") for _ in range(32)]
    assert choices.count(0) >= 30 and max(choices) == 2  # off, with a rare probe to notice a change


def test_controller_counts_the_cost_of_a_draft_model() -> None:
    gpu = {1: 0.010, 2: 0.0102, 3: 0.0104, 5: 0.0108, 9: 0.0116}
    ctl = _controller(gpu, accepted=2, drafted=4)
    ctl.record_draft("draft:big", 0.040, 4)  # 10 ms per drafted token: as slow as the target
    assert ctl.choose_k("proofread", "draft:big") == 0


def _run(backend, ids: list[int], mode: str, n: int = 32) -> tuple[list[int], GenerationStats]:
    stats = GenerationStats()
    backend.session.reset()
    out = list(backend.generate(ids, SamplingParams(max_tokens=n, temperature=0), stats, RequestContext(None, mode, "proofread")))
    return out, stats


@pytest.fixture(scope="module")
def tiny_backend(tiny_model: Path):
    from inference.backends.llama_cpp import LlamaCppBackend

    backend = LlamaCppBackend()
    backend.load(tiny_model, LoadOptions(n_ctx=1024))
    yield backend
    backend.unload()


@pytest.mark.parametrize("mode", ["lookup", "auto", "draft"])
def test_speculative_greedy_equals_plain_greedy_tiny(tiny_backend, tiny_model: Path, mode: str) -> None:
    ids = tiny_backend.tokenize(TEXT)
    plain, _ = _run(tiny_backend, ids, "off")
    spec_mode = f"draft:{tiny_model}" if mode == "draft" else mode
    out, stats = _run(tiny_backend, ids, spec_mode)
    assert out == plain
    if mode == "draft":  # the tiny model drafting for itself: every drafted token stands
        assert stats.drafted_tokens > 0 and stats.accepted_tokens == stats.drafted_tokens


def test_sampling_does_not_speculate(tiny_backend) -> None:
    stats = GenerationStats()
    ids = tiny_backend.tokenize(TEXT)
    list(tiny_backend.generate(ids, SamplingParams(max_tokens=4, temperature=0.8, seed=1), stats, RequestContext(None, "lookup")))
    assert stats.speculative == "off" and "greedy" in stats.extra["speculative_note"]


@pytest.mark.embedded
@pytest.mark.parametrize("mode", ["lookup", "auto"])
def test_speculative_greedy_equals_plain_greedy_embedded(embedded_model: Path, mode: str) -> None:
    """Prompt and answer stay under 256 tokens: there the CPU build's batched verify is bit-exact (measured),
    so the equality is guaranteed, not lucky; past 256 only `auto`'s probe keeps the text unchanged."""
    from inference.backends.llama_cpp import LlamaCppBackend

    backend = LlamaCppBackend()
    backend.load(embedded_model, LoadOptions(n_ctx=1024))
    try:
        ids = backend.tokenize(TEXT)
        plain, _ = _run(backend, ids, "off", n=24)
        out, stats = _run(backend, ids, mode, n=24)
    finally:
        backend.unload()
    assert out == plain
    if mode == "lookup":
        assert stats.drafted_tokens > 0


@pytest.mark.embedded
def test_draft_model_of_another_tokenizer_is_refused(embedded_model: Path, tiny_model: Path) -> None:
    from inference.backends.llama_cpp import LlamaCppBackend
    from inference.protocol import BadRequest

    backend = LlamaCppBackend()
    backend.load(embedded_model, LoadOptions(n_ctx=512))
    try:
        with pytest.raises(BadRequest, match="tokenizer"):
            _run(backend, backend.tokenize("Hello there."), f"draft:{tiny_model}", n=2)
    finally:
        backend.unload()


def test_auto_turns_itself_off_once_the_probe_says_it_cannot_pay(tiny_backend) -> None:
    ids = tiny_backend.tokenize(TEXT)
    plain, _ = _run(tiny_backend, ids, "off")
    tiny_backend.controller.costs = {n: 0.001 * n for n in (1, 2, 3, 5, 9)}  # measured costs injected: linear
    tiny_backend.controller.exact = True
    out, stats = _run(tiny_backend, ids, "auto")
    assert out == plain and stats.speculative == "off" and stats.drafted_tokens == 0
    assert "costs 2.00x" in stats.extra["speculative_reason"]


def test_skip_on_llama_cpp_says_where_it_runs(tiny_backend) -> None:
    from inference.protocol import BadRequest

    with pytest.raises(BadRequest, match="torch engine"):
        _run(tiny_backend, tiny_backend.tokenize(TEXT), "skip")
