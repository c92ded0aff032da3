"""Degenerate answers on the scripted backend: no scaffold label is ever shown, loops stop early, echoes are retried."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.client import WorkerClient
from inference.degenerate import ECHO_NOTE, REPETITION_NOTE
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo

MODEL = ModelInfo("fake", Path("fake.gguf"), "0" * 64, "llama", None, "F32", 4096, 0, None)
SOURCE = "The town council met on Tuesday to discuss the new bridge. Engineers said the old bridge was unsafe and would close in spring."


def engine_with(*replies: str) -> tuple[Engine, FakeBackend]:
    backend = FakeBackend()
    backend.enqueue(list(replies))
    engine = Engine(backend)
    engine.load(MODEL, LoadOptions())
    return engine, backend


def run(engine: Engine, **params) -> tuple[str, dict]:
    chunks: list[str] = []
    outcome = engine.generate(GenerateParams(**params), lambda text, n: chunks.append(text), threading.Event())
    return "".join(chunks), outcome.to_result()


@pytest.mark.parametrize("task, options, reply, expected", [
    ("rewrite", {}, "Rewritten: The committee is ending it.", "The committee is ending it."),
    ("proofread", {}, " They're going. Original: Their going", "They're going."),
    ("proofread", {}, " They're going.\nCorrected: They are going.", "They're going."),
    ("summarize", {}, " Summary: The bridge will close.", "The bridge will close."),
    ("summarize", {}, " The bridge will close.\nTex", "The bridge will close."),
    ("translate", {"language": "French"}, " French: Bonjour.\nEnglish: Hello.", "Bonjour."),
    ("outline", {}, " Why bridges fail\n2. Repairs Outline: more", "1. Why bridges fail\n2. Repairs"),
    ("brainstorm", {"instruction": "titles"}, " Sea\n2. Salt Titles: more", "1. Sea\n2. Salt"),
    ("instruct", {"instruction": "Make it vivid."}, " Response: The dog tore away. Instruction: more", "The dog tore away."),
])
def test_a_leaked_scaffold_label_never_reaches_the_answer(task: str, options: dict, reply: str, expected: str) -> None:
    streamed, result = run(engine_with(reply)[0], task=task, text="Their going to the bridge.", **options)
    assert result["output"] == expected
    assert streamed == expected  # not even for a moment


def test_a_label_the_writers_text_has_is_kept() -> None:
    text = "Original: the first draft, by me."
    streamed, result = run(engine_with(" Original: the first draft, by me.")[0], task="proofread", text=text)
    assert result["output"] == streamed == text


def test_an_english_loop_stops_early_and_says_so() -> None:
    loop = " and the sea rose" * 10
    engine, backend = engine_with("The night was dark" + loop)
    streamed, result = run(engine, task="continue", text="It was late.")
    assert result["output"] == streamed == "The night was dark and the sea rose"
    assert result["stop_reason"] == "repetition" and result["notes"] == [REPETITION_NOTE]
    assert result["stats"]["generated_tokens"] < len(("The night was dark" + loop).encode())  # it stopped early


def test_a_chinese_loop_stops_early() -> None:
    streamed, result = run(engine_with("花开花落知多少" * 8)[0], task="continue", text="诗：")
    assert result["output"] == streamed == "花开花落知多少"
    assert result["stop_reason"] == "repetition" and REPETITION_NOTE in result["notes"]


def test_a_sentence_said_twice_in_a_summary_is_dropped() -> None:
    streamed, result = run(engine_with(" The bridge will close in spring. The bridge will close in spring.")[0], task="summarize", text=SOURCE)
    assert result["output"] == streamed == "The bridge will close in spring."
    assert result["stop_reason"] == "repetition"


def test_an_echo_is_retried_once_with_another_seed() -> None:
    good = " The old bridge closes in spring."
    engine, backend = engine_with(" " + SOURCE, good)
    streamed, result = run(engine, task="summarize", text=SOURCE, seed=41)
    assert result["output"] == streamed == good.strip()  # the echo was never shown
    assert [p.seed for p in backend.sampling] == [41, 42] and result["stats"]["retry_seed"] == 42
    assert result["notes"] == [] and result["stop_reason"] == "end"


def test_an_echo_twice_is_reported_with_nothing_to_accept() -> None:
    engine, backend = engine_with(" " + SOURCE, SOURCE[:80])
    streamed, result = run(engine, task="continue", text=SOURCE)
    assert streamed == result["output"] == ""
    assert result["stop_reason"] == "echo" and result["notes"] == [ECHO_NOTE]
    assert len(backend.sampling) == 2 and backend.sampling[0].seed != backend.sampling[1].seed


def test_a_greedy_echo_is_not_retried() -> None:
    engine, backend = engine_with(SOURCE, "A fine summary.")
    _, result = run(engine, task="summarize", text=SOURCE, temperature=0)
    assert result["stop_reason"] == "echo" and len(backend.sampling) == 1


def test_a_rewrite_that_changes_nothing_is_an_echo_but_a_proofread_is_not() -> None:
    text = "The results were good."
    assert run(engine_with(text, text)[0], task="rewrite", text=text)[1]["stop_reason"] == "echo"
    streamed, result = run(engine_with(text)[0], task="proofread", text=text)
    assert result["output"] == streamed == text and result["stop_reason"] == "end"


def test_raw_prompts_are_the_models_own() -> None:
    loop = "and again " * 20
    _, result = run(engine_with(loop)[0], raw_prompt="x", max_tokens=400)
    assert result["output"] == loop and result["stop_reason"] == "end"


def test_the_worker_retries_an_echo_and_reports_a_loop(home: Path, tiny_model: Path) -> None:
    env = {"SCRIPTORIUM_FAKE_REPLIES": '[" The keeper waited by the lamp.", " Then the lamp went out."]', "SCRIPTORIUM_FAKE_REPLY": " on and on" * 30}
    with WorkerClient(home=home, backend="fake", env=env) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        retried = client.call("generate", task="continue", text="The keeper waited by the lamp.", timeout=30)
        looped = client.call("generate", task="continue", text="x", timeout=30)
    assert retried["output"] == " Then the lamp went out." and "retry_seed" in retried["stats"]
    assert looped["output"] == " on and on" and looped["stop_reason"] == "repetition" and looped["notes"] == [REPETITION_NOTE]
