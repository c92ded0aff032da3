"""`scriptorium bench retrieval`'s data and harness: every question's answer is in its corpus once, scores add up."""

from __future__ import annotations

import threading
from contextlib import closing
from pathlib import Path

import pytest

from app import store
from app.bench_retrieval import (
    CHINESE, ENGLISH, answer_span, build, load_questions, measure_ask, measure_refusal, measure_retrieval, retrieval_scores,
    sample_records,
)
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo

MODEL = ModelInfo("fake", Path("fake.gguf"), "f" * 64, "llama", None, "F32", 4096, 0, None)


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("retrieval-bench")
    build(home)
    with closing(store.open_db(home)) as db:
        yield db


def test_the_set_has_forty_questions_or_more_in_both_languages_each_answer_once_in_its_corpus(bench_db) -> None:
    questions, off_topic = load_questions(), load_questions("off_topic.jsonl")
    assert len(questions) >= 40 and {q.corpus for q in questions} == {ENGLISH, CHINESE} == {q.corpus for q in off_topic}
    assert len({q.id for q in [*questions, *off_topic]}) == len(questions) + len(off_topic)
    bodies = {name: [r.body for r in records] for name, records in sample_records().items()}
    for q in questions:
        assert sum(body.count(q.answer) for body in bodies[q.corpus]) == 1, q.id
        text_id, start, end = answer_span(bench_db, q)
        assert bench_db.execute("SELECT substr(body, ?, ?) FROM texts WHERE id = ?", [start + 1, end - start, text_id]).fetchone()[0] == q.answer


def test_the_english_sample_is_cut_into_its_five_works() -> None:
    titles = [r.title for r in sample_records()[ENGLISH]]
    assert titles == ["Pride And Prejudice, Chapter 1", "The Gettysburg Address", "The Second Inaugural Address",
                      "The Declaration Of Independence", "Genesis, Chapter 1"]
    assert len(sample_records()[CHINESE]) == 44


def test_scores_of_ranks() -> None:
    assert retrieval_scores([1, 2, None, 6]) == {"recall@5": 0.5, "mrr": round((1 + 0.5 + 0 + 1 / 6) / 4, 3), "n": 4}


def test_retrieval_and_refusal_without_vectors(bench_db) -> None:
    questions, off_topic = load_questions()[:6], load_questions("off_topic.jsonl")
    vectors = {q.id: None for q in [*questions, *off_topic]}
    scores = measure_retrieval(bench_db, questions, vectors, modes=("bm25", "hybrid"))[ENGLISH]
    assert scores["hybrid"] == scores["bm25"] and scores["bm25"]["recall@5"] >= 0.5  # hybrid fell back to BM25
    refusal = measure_refusal(bench_db, questions, off_topic, vectors)
    shipped = next(r for r in refusal["by_threshold"] if (r["coverage"], r["cosine"]) == (refusal["coverage"], refusal["cosine"]))
    assert shipped[ENGLISH]["off_topic_refused"] == 1.0 and shipped[CHINESE]["off_topic_refused"] == 1.0


def test_ask_is_scored_on_what_the_model_cites_and_quotes(bench_db) -> None:
    [question] = [q for q in load_questions() if q.id == "en-29"]  # "What did God create in the beginning?"
    backend = FakeBackend()
    backend.enqueue(['1] "In the beginning God created the heaven and the earth" [9] "and a moon"'])
    engine = Engine(backend)
    engine.load(MODEL, LoadOptions())
    generate = lambda request: engine.generate(GenerateParams.from_wire(request), lambda t, n: None, threading.Event()).to_result()  # noqa: E731
    off_topic = load_questions("off_topic.jsonl")[:2]
    scores, records = measure_ask(bench_db, [question], off_topic, {q.id: None for q in [question, *off_topic]}, generate, lambda m: None)
    assert scores["generations"] == 1 and scores["off_topic_refused"] == 1.0 and len(backend.prompts) == 1
    assert scores["citations"] == 2 and scores["citations_correct"] == 0.5 and scores["citations_invalid"] == 0.5
    assert scores["quotes"] == 2 and scores["quotes_verified"] == 0.5 and scores["answers_citing"] == 1.0
    assert records[0]["id"] == "en-29" and records[0]["quotes"][0]["verified"]
