"""Cited answers: citations and quotes checked against the sources, exact offsets, refusals that never reach the model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.corpus.answer import ask, prepare
from app.corpus.citations import check, find_citations, locate, quote_spans
from app.corpus.fold import load_fold
from app.corpus.records import TextRecord
from app.corpus.retrieve import Found
from app.corpus.search import MANUSCRIPT
from app.corpus.store import add_text, corpus_id
from app.store import create_document, open_memory_db, save_body
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo
from inference.tasks import ANSWER, TaskInput, build_prompt, number_sources

MILL = "The mill by the river was built in 1820 by the Carter family.\nIt ground corn for a century."
WINTER = "In winter the river froze, and the children skated from the bridge to the church."
POEM = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"
MODEL = ModelInfo("fake", Path("fake.gguf"), "f" * 64, "llama", None, "F32", 4096, 0, None)
FOLD = load_fold()


class FakeModel:
    """The engine in-process with the scripted fake backend; counts what reached it."""

    def __init__(self, *replies: str) -> None:
        self.backend = FakeBackend()
        self.backend.enqueue(list(replies))
        self.engine = Engine(self.backend)
        self.engine.load(MODEL, LoadOptions())
        self.requests: list[dict] = []

    def __call__(self, request: dict) -> dict:
        self.requests.append(request)
        params = GenerateParams.from_wire(request)
        return self.engine.generate(params, lambda text, n: None, threading.Event()).to_result()


@pytest.fixture
def db() -> Database:
    db = open_memory_db()
    town, tang = corpus_id(db, "town"), corpus_id(db, "tang")
    add_text(db, town, TextRecord(title="Mill", body="A note first.\n\n" + MILL))
    add_text(db, town, TextRecord(title="Winter", body=WINTER))
    add_text(db, tang, TextRecord(title="靜夜思", body=POEM))
    return db


def source(text: str, text_id: int = 1, start: int = 100) -> Found:
    return Found(1, text_id, start, start + len(text), "t", text, 1.0)


def body_of(db: Database, text_id: int) -> str:
    return db.execute("SELECT body FROM texts WHERE id = ?", [text_id]).fetchone()[0]


def test_a_fabricated_quote_is_caught() -> None:
    checked = check('[1] "built in 1820 by the Miller family"', [source(MILL)], FOLD)
    quote = checked.quotes[0]
    assert not quote.verified and quote.reason == "these words are not in [1]" and quote.start is None


def test_an_invalid_citation_number_is_caught_and_its_quote_unverified() -> None:
    checked = check('[3] "built in 1820" and [0]', [source(MILL), source(WINTER)], FOLD)
    assert [(c.number, c.valid) for c in checked.citations] == [(3, False), (0, False)]
    assert checked.invalid == checked.citations
    assert not checked.quotes[0].verified and "no source that was retrieved" in checked.quotes[0].reason


def test_a_verified_quote_carries_exact_offsets_in_the_body() -> None:
    body = "Before. " + MILL
    checked = check('The Carter family built it: "BUILT in 1820  by the Carter family" [1].', [source(MILL, 7, 8)], FOLD)
    quote = checked.quotes[0]
    assert quote.verified and quote.source == 1 and quote.text_id == 7
    assert body[quote.start : quote.stop] == "built in 1820 by the Carter family"


def test_quotes_are_checked_after_the_corpus_fold_and_across_line_breaks() -> None:
    assert check("[1] 「牀前明月光」", [source(POEM)], FOLD).quotes[0].verified  # a variant of 床
    assert check("[1] “举头望明月”", [source(POEM)], FOLD).quotes[0].verified  # simplified against traditional
    assert locate("Carter family. It ground", MILL, FOLD) is not None  # the line break is one space
    assert locate("the river was … a century", MILL, FOLD) == (12, len(MILL) - 1)  # pieces in order
    assert locate("a century … the river was", MILL, FOLD) is None


def test_which_citation_a_quote_is_checked_against() -> None:
    sources = [source(WINTER), source(MILL)]
    after = check('"the children skated" [1] and "built in 1820" [2]', sources, FOLD)
    assert [q.cites for q in after.quotes] == [(1,), (2,)] and all(q.verified for q in after.quotes)
    before = check('[2] "built in 1820", then "It ground corn"', sources, FOLD)
    assert [q.cites for q in before.quotes] == [(2,), (2,)] and all(q.verified for q in before.quotes)
    several = check('[1, 2] "It ground corn"', sources, FOLD).quotes[0]
    assert several.cites == (1, 2) and several.verified and several.source == 2
    assert check('"It ground corn" with no source', sources, FOLD).quotes[0].reason == "it cites no source"


def test_citation_and_quote_syntax() -> None:
    assert [c.number for c in find_citations("[1] [2, 3] ［４］ [x]", 5)] == [1, 2, 3, 4]
    assert quote_spans('a "b c" d “e” 「f」 "g') == [(3, 6), (11, 12), (15, 16), (19, 20)]
    assert quote_spans('"" and " "') == []


def test_the_answer_prompt_numbers_the_sources_and_begins_the_answer() -> None:
    sources = number_sources(["One\n two.", "Three."])
    assert sources == "[1] One two.\n[2] Three."
    prompt = build_prompt(TaskInput(ANSWER, sources, instruction="What?"), chat=False)
    assert prompt.text.endswith("Question: What?\nSources:\n[1] One two.\n[2] Three.\nAnswer: [")
    assert prompt.output_prefix == "[" and "\n" in prompt.stop
    chinese = build_prompt(TaskInput(ANSWER, "[1] 床前明月光", instruction="月光在哪里？"), chat=False)
    assert "「" in chinese.text
    with pytest.raises(ValueError, match="question"):
        build_prompt(TaskInput(ANSWER, sources), chat=False)


def test_ask_answers_with_citations_that_open_at_the_passage(db: Database) -> None:
    model = FakeModel('1] "was built in 1820 by the Carter family" and [9]')
    answer = ask(db, "Who built the mill?", model, "town")
    assert not answer.refused and len(model.requests) == 1 and model.requests[0]["task"] == ANSWER
    assert answer.output.startswith("[1]")  # the prompt began the answer with "["
    first = answer.sources[0]
    assert body_of(db, first.text_id)[first.start : first.end] == first.text and "Carter" in first.text
    quote = answer.checked.quotes[0]
    assert quote.verified and body_of(db, quote.text_id)[quote.start : quote.stop] == "was built in 1820 by the Carter family"
    assert [(c.number, c.valid) for c in answer.checked.citations] == [(1, True), (9, False)]
    payload = answer.to_dict()
    assert payload["sources"][0]["number"] == 1 and payload["sources"][0]["start"] == first.start


def test_an_off_topic_question_is_refused_without_generating(db: Database) -> None:
    model = FakeModel("[1] anything")
    answer = ask(db, "What is the capital of Australia?", model, "town")
    assert answer.refused and model.requests == [] and model.backend.prompts == []
    assert "nothing was asked of the model" in answer.prepared.reason and answer.output == "" and answer.sources == []
    assert prepare(db, "What is the capital of Australia?", "town").request == {}


def test_a_chinese_question_in_other_words_is_answered_from_traditional_text(db: Database) -> None:
    model = FakeModel("1] 「舉頭望明月，低頭思故鄉」")
    answer = ask(db, "诗人抬头望明月时想起什么？", model, "tang")
    assert not answer.refused and answer.checked.quotes[0].verified


def test_ask_works_with_the_manuscript(db: Database) -> None:
    doc = create_document(db, "Chapter two")
    save_body(db, doc.id, "Chapter two.\n\nMara's eyes were the colour of the winter sea, grey and cold.", "save")  # not synced yet
    model = FakeModel('1] "the colour of the winter sea"')
    answer = ask(db, "What colour were Mara's eyes?", model, MANUSCRIPT)
    quote = answer.checked.quotes[0]
    assert answer.sources[0].title == "Chapter two"
    assert quote.verified and body_of(db, quote.text_id)[quote.start : quote.stop] == "the colour of the winter sea"


def test_the_shown_answer_links_only_what_was_checked(db: Database) -> None:
    from app.desk.cited_answer import answer_html, link_target

    answer = ask(db, "Who built the mill?", FakeModel('1] "built in 1820" and "built by the Millers" [7]'), "town")
    shown = answer_html(answer)
    assert "href='cite:1'" in shown and "href='quote:0'" in shown and "cite:7" not in shown and "quote:1" not in shown
    assert "(unverified: these words are not in [1])" in shown  # [1] came first: quotes follow their numbers
    first = answer.sources[0]
    assert link_target(answer, "cite:1") == (first.text_id, first.start, first.end)
    quote = answer.checked.quotes[0]
    assert link_target(answer, "quote:0") == (quote.text_id, quote.start, quote.stop)
    assert link_target(answer, "quote:1") is None and link_target(answer, "cite:7") is None
