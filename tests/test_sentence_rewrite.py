"""Concordance meets the model: hits of the manuscript's concordance, their sentences rewritten on the fake backend,
each reviewed as tracked changes, accepted ones landing in the document and changed ones left alone."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.corpus.kwic import kwic
from app.corpus.search import MANUSCRIPT, sync_manuscript
from app.desk.sentence_rewrite import SentenceRewrites, hit_sentences, request
from app.store import create_document, get_document, open_memory_db, save_body
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo

MODEL = ModelInfo("fake", Path("fake.gguf"), "f" * 64, "llama", None, "F32", 4096, 0, None)
DRAFT = ("It was very cold. The sea was very, very grey that morning. Nobody spoke.\n\n"
         "Mara was tired. She was very quiet at dinner.")


@pytest.fixture
def db() -> Database:
    db = open_memory_db()
    doc = create_document(db, "Chapter one")
    save_body(db, doc.id, DRAFT, "save")
    other = create_document(db, "Notes")
    save_body(db, other.id, "A very short note.", "save")
    sync_manuscript(db)
    return db


def run_on_fake(run: SentenceRewrites, replies: list[str]) -> list[dict]:
    """Each sentence's request through the engine on the scripted fake backend, as the window sends them."""
    backend = FakeBackend()
    backend.enqueue(replies)
    engine = Engine(backend)
    engine.load(MODEL, LoadOptions())
    sent = run.requests()
    for i, params in enumerate(sent):
        run.begin(i, f"q{i}")
        result = engine.generate(GenerateParams.from_wire(params), lambda text, n: None, threading.Event()).to_result()
        run.finished(f"q{i}", result["output"])
    return sent


def test_kwic_hits_become_their_sentences_once_each(db: Database) -> None:
    lines = kwic(db, "very", corpus=MANUSCRIPT)
    assert len(lines) == 5  # two in one sentence
    found = hit_sentences(db, [(l.text_id, l.start, l.end) for l in lines])
    assert [s.text for s in found] == ["It was very cold.", "The sea was very, very grey that morning.",
                                       "She was very quiet at dinner.", "A very short note."]
    chapter = found[1]
    assert DRAFT[chapter.start : chapter.end] == chapter.text and len(chapter.hits) == 2
    assert get_document(db, chapter.doc_id).title == "Chapter one"


def test_the_rewrite_flow_reviews_each_sentence_and_lands_accepted_ones(db: Database) -> None:
    lines = [l for l in kwic(db, "very", corpus=MANUSCRIPT) if l.title == "Chapter one"]
    run = SentenceRewrites(hit_sentences(db, [(l.text_id, l.start, l.end) for l in lines]), "instruct",
                           "Rewrite the sentence without the word very.")
    sent = run_on_fake(run, ["It was bitterly cold.", "The sea was slate grey that morning.", "She was silent at dinner."])
    assert [p["task"] for p in sent] == ["instruct"] * 3 and sent[0]["text"] == "It was very cold."
    first, second, third = run.items
    assert first.review.to_html().count("line-through") == 1  # "very" struck, "bitterly" inserted: tracked
    assert [h.old for h in (first.review.hunks[i] for i in first.review.changes)] == ["very"]
    # The writer takes the first as it came, accepts the second's one hunk (very, very -> slate), skips the third.
    run.decide(0, True)
    run.decide(1, True)
    for i in second.review.changes:
        if second.review.hunks[i].old == "very, very":
            second.review.decide(i, True)
    run.decide(2, False)
    doc_id = first.sentence.doc_id
    applied = run.apply(doc_id, get_document(db, doc_id).body)
    assert applied.applied == [0, 1] and applied.stale == []
    assert applied.text == ("It was bitterly cold. The sea was slate grey that morning. Nobody spoke.\n\n"
                            "Mara was tired. She was very quiet at dinner.")
    edits, stale = run.replacements(doc_id, DRAFT)
    assert [e[0] for e in edits] == [second.sentence.start, first.sentence.start] and not stale  # last first


def test_a_sentence_changed_since_it_was_read_is_left_alone(db: Database) -> None:
    lines = kwic(db, "very", corpus=MANUSCRIPT)
    run = SentenceRewrites(hit_sentences(db, [(l.text_id, l.start, l.end) for l in lines][:1]), "rewrite", "plainer")
    run_on_fake(run, ["It was cold."])
    run.decide(0, True)
    edited = DRAFT.replace("It was very cold.", "It was very, very cold.")
    applied = run.apply(run.items[0].sentence.doc_id, edited)
    assert applied.text == edited and applied.stale == [0] and applied.applied == []


def test_answers_of_other_requests_are_dropped_and_unchanged_sentences_cannot_be_accepted(db: Database) -> None:
    lines = kwic(db, "very", corpus=MANUSCRIPT)
    run = SentenceRewrites(hit_sentences(db, [(l.text_id, l.start, l.end) for l in lines][:1]), "proofread")
    assert request(run.items[0].sentence, "proofread", "ignored")["instruction"] == ""
    run.begin(0, "q1")
    assert run.finished("q0", "stale") is None and run.pending == 1
    assert run.finished("q1", "It was very cold.") == 0 and run.pending == 0  # the model changed nothing
    with pytest.raises(ValueError, match="no change"):
        run.decide(0, True)
    with pytest.raises(ValueError):
        request(run.items[0].sentence, "summarize", "")
