"""The engine with the scripted backend: whole characters, stop strings, context fitting and stats."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams, fit_around_cursor
from inference.models import ModelInfo
from inference.protocol import BadRequest, Cancelled

MODEL = ModelInfo("fake", Path("fake.gguf"), "0" * 64, "llama", None, "F32", 4096, 0, None)


def engine_with(*replies: str) -> Engine:
    backend = FakeBackend()
    backend.enqueue(list(replies))
    engine = Engine(backend)
    engine.load(MODEL, LoadOptions())
    return engine


def run(engine: Engine, **params) -> tuple[list[str], dict]:
    chunks: list[str] = []
    outcome = engine.generate(GenerateParams(**params), lambda text, n: chunks.append(text), threading.Event())
    return chunks, outcome.to_result()


def test_chinese_streams_as_whole_characters() -> None:
    chunks, result = run(engine_with("春眠不觉晓，处处闻啼鸟。"), task="continue", text="诗：")
    assert "".join(chunks) == result["output"] == "春眠不觉晓，处处闻啼鸟。"
    assert all("\ufffd" not in c for c in chunks)
    assert result["stats"]["generated_tokens"] == len("春眠不觉晓，处处闻啼鸟。".encode())


def test_stop_string_ends_the_answer_and_is_not_shown() -> None:
    chunks, result = run(engine_with(" They're going to the park.\n\nOriginal: more"), task="proofread", text="Their going.")
    assert result["output"] == "They're going to the park."
    assert "".join(chunks) == "They're going to the park."
    assert result["stop_reason"] == "stop"


def test_leading_blank_line_does_not_count_as_a_stop() -> None:
    _, result = run(engine_with("\n\nA fine answer.\n\nOriginal:"), task="summarize", text="Some text.")
    assert result["output"] == "A fine answer."


def test_list_tasks_keep_the_number_the_prompt_began() -> None:
    chunks, result = run(engine_with(" Sea\n2. Salt\n\nSubject:"), task="brainstorm", text="a sailing novel", instruction="titles")
    assert result["output"] == "1. Sea\n2. Salt"
    assert "".join(chunks) == result["output"]


def test_stats_have_the_documented_keys() -> None:
    _, result = run(engine_with("abc"), task="continue", text="x")
    for key in ("prompt_tokens", "tokens_reused", "generated_tokens", "ttft_ms", "tokens_per_s"):
        assert key in result["stats"]
    assert result["prompt"] == "x" and result["model"] == "fake"


def test_cancel_raises_cancelled() -> None:
    engine = engine_with("a long answer")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        engine.generate(GenerateParams(task="continue", text="x"), lambda t, n: None, cancel)


def test_long_document_is_fitted_keeping_text_nearest_the_cursor() -> None:
    engine = engine_with("ok")
    text = "".join(f"Sentence number {i}. " for i in range(600))  # ~12k bytes, context 4096 byte-tokens
    _, result = run(engine, task="continue", text=text, max_tokens=100)
    assert result["prompt"].endswith("Sentence number 599. ")
    assert len(result["prompt"].encode()) <= 4096 - 100
    assert result["notes"] and "left out" in result["notes"][0]
    assert result["prompt"].startswith("Sentence number")  # cut at a sentence boundary


def test_fit_around_cursor_keeps_both_sides_for_other_tasks() -> None:
    text = "aaaa. " * 50 + "MIDDLE" + " bbbb." * 50
    fitted = fit_around_cursor(text, text.index("MIDDLE"), 60, before_only=False)
    assert "MIDDLE" in fitted.text and fitted.cut_before and fitted.cut_after


def test_unknown_parameter_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="temprature"):
        GenerateParams.from_wire({"temprature": 1})


def test_max_tokens_larger_than_context_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="no room"):
        run(engine_with("x"), task="continue", text="x", max_tokens=5000)


def test_a_raw_prompt_stops_at_the_callers_stop_strings() -> None:
    chunks, result = run(engine_with("Answer one.\nUser: more"), raw_prompt="User: hi\nAssistant:", stop=["\nUser:"])
    assert "".join(chunks) == result["output"] == "Answer one." and result["stop_reason"] == "stop"
    with pytest.raises(BadRequest):
        GenerateParams.from_wire({"raw_prompt": "x", "stop": [""]})


@pytest.mark.parametrize("bad", [{"top_k": "40"}, {"seed": 1.5}, {"top_k": True}])
def test_whole_number_sampling_parameters_are_checked(bad: dict) -> None:
    with pytest.raises(BadRequest):
        GenerateParams.from_wire({"raw_prompt": "x", **bad})
