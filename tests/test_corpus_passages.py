"""Passages: cut on sentence boundaries in Latin and CJK text, by length where there is no punctuation, with exact
offsets and overlap; stored per text, rebuilt with its body, gone with it."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from app.corpus.passages import (
    CJK_WEIGHT, MAX, OVERLAP, TARGET, build_passages, cut, ensure_passages, get_passages, passage_at, passages_of,
    sentences,
)
from app.corpus.records import TextRecord
from app.corpus.store import add_text, corpus_id, delete_text, replace_text
from app.store import open_memory_db

ENGLISH = " ".join(
    f"Sentence number {i} tells of the river, the mill and Mr. Bennet's {3 + i}.5 acres{'!' if i % 5 == 0 else '.'}"
    for i in range(60)
)
CHINESE = "".join(f"第{i}句說的是河水漲了，磨坊停了，村裏的人都上山去看水{'？' if i % 4 == 0 else '。'}" for i in range(40))
UNPUNCTUATED = "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽雲騰致雨露結為霜" * 30


@pytest.fixture
def db() -> Database:
    return open_memory_db()


def units(text: str) -> int:
    return sum(CJK_WEIGHT if "\u4e00" <= c <= "\u9fff" else 1 for c in text)


def test_english_passages_are_whole_sentences_of_the_target_size_with_one_sentence_overlap() -> None:
    spans, ends = cut(ENGLISH), [e for _, e in sentences(ENGLISH)]
    starts = [s for s, _ in sentences(ENGLISH)]
    assert len(ends) == 60, "Mr. and 3.5 do not end sentences; ! and . do"
    assert spans[0][0] == 0 and spans[-1][1] == len(ENGLISH)
    for (s, e), (next_s, _) in zip(spans, spans[1:]):
        assert s in starts and e in ends, "a passage starts and ends on a sentence boundary"
        assert TARGET <= units(ENGLISH[s:e]) <= MAX
        shared = ENGLISH[next_s:e]
        assert next_s == max(x for x in starts if x < e), f"the next passage starts with the last sentence: {shared!r}"
    assert ENGLISH[spans[1][0]:].startswith("Sentence number ")


def test_chinese_passages_end_after_the_full_stop_or_question_mark_and_overlap_by_one_sentence() -> None:
    spans = cut(CHINESE)
    assert len(spans) > 3
    for (s, e), (next_s, _) in zip(spans, spans[1:]):
        assert CHINESE[e - 1] in "。？" and (s == 0 or CHINESE[s - 1] in "。？")
        assert TARGET <= units(CHINESE[s:e]) <= MAX
        assert CHINESE[next_s:e].startswith("第") and CHINESE[next_s:e].count("第") == 1, "one sentence is shared"


def test_cjk_semicolons_closing_quotes_and_blank_lines_end_sentences() -> None:
    body = "子曰：「學而時習之。」有朋自遠方來；不亦樂乎\n\nA heading without a stop\n\nNext paragraph."
    assert [body[s:e] for s, e in sentences(body)] == [
        "子曰：「學而時習之。」", "有朋自遠方來；", "不亦樂乎", "A heading without a stop", "Next paragraph."]


def test_unpunctuated_classical_text_is_cut_by_length_with_overlap() -> None:
    spans = cut(UNPUNCTUATED)
    assert spans[0][0] == 0 and spans[-1][1] == len(UNPUNCTUATED)
    for (s, e), (next_s, next_e) in zip(spans, spans[1:]):
        assert units(UNPUNCTUATED[s:e]) <= TARGET and units(UNPUNCTUATED[s:next_e]) > units(UNPUNCTUATED[s:e])
        assert units(UNPUNCTUATED[next_s:e]) == OVERLAP, "consecutive windows share OVERLAP units"
    assert units(UNPUNCTUATED[spans[-1][0]:spans[-1][1]]) <= MAX


def test_a_long_unpunctuated_english_run_is_cut_at_spaces() -> None:
    body = " ".join(f"word{i}" for i in range(400))
    spans = cut(body)
    assert len(spans) > 2 and all(len(body[s:e]) <= MAX for s, e in spans)
    assert all(body[s - 1] == " " for s, _ in spans[1:]) and all(e == len(body) or body[e] == " " for _, e in spans)


def test_offsets_are_exact_in_text_with_astral_characters_and_crlf() -> None:
    body = "𠀀𠀁 is rare.\r\n\r\nSo is 𪚥！Then plain text follows? Yes."
    assert [body[s:e] for s, e in cut(body)] == [body]  # short: one passage
    assert [body[s:e] for s, e in sentences(body)] == ["𠀀𠀁 is rare.", "So is 𪚥！", "Then plain text follows?", "Yes."]


def test_short_and_empty_bodies() -> None:
    assert cut("") == [] and cut("  \n ") == []
    assert cut("  One line.  ") == [(2, 11)]


def test_passages_are_built_with_a_text_rebuilt_with_its_body_and_deleted_with_it(db: Database) -> None:
    cid = corpus_id(db, "c")
    text_id = add_text(db, cid, TextRecord(title="t", body=ENGLISH))
    first = passages_of(db, text_id, with_text=True)
    assert [(p.start, p.end) for p in first] == cut(ENGLISH)
    assert [p.ordinal for p in first] == list(range(len(first)))
    assert all(p.text == ENGLISH[p.start:p.end] for p in first)
    replace_text(db, text_id, TextRecord(title="t", body=CHINESE))
    again = passages_of(db, text_id)
    assert [(p.start, p.end) for p in again] == cut(CHINESE)
    assert min(p.id for p in again) > max(p.id for p in first), "ids are never reused"
    delete_text(db, text_id)
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == 0


def test_get_passages_keeps_the_order_asked_and_passage_at_finds_the_offset(db: Database) -> None:
    text_id = add_text(db, corpus_id(db, "c"), TextRecord(title="t", body=ENGLISH))
    ps = passages_of(db, text_id)
    wanted = [ps[2].id, ps[0].id, 10**9]
    assert [p.id for p in get_passages(db, wanted)] == wanted[:2]
    assert get_passages(db, [ps[0].id])[0].text == ENGLISH[ps[0].start:ps[0].end]
    assert passage_at(db, text_id, ps[1].end - 1).ordinal == 1
    assert passage_at(db, text_id, len(ENGLISH)) is None


def test_ensure_passages_cuts_texts_stored_before_passages_existed(db: Database) -> None:
    cid = corpus_id(db, "c")
    text_id = add_text(db, cid, TextRecord(title="t", body=CHINESE))
    add_text(db, cid, TextRecord(title="empty", body=""))
    db.execute("DELETE FROM passages")
    assert ensure_passages(db, cid) == 1 and ensure_passages(db) == 0
    assert len(passages_of(db, text_id)) == len(cut(CHINESE))
    assert build_passages(db, text_id, "Short.") == 1
