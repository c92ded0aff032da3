"""The concordance: every hit with its context, counts a plain count agrees with, sorting by the tokens around it, CSV."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.corpus.kwic import KwicLine, kwic, to_csv
from app.corpus.records import TextRecord
from app.corpus.store import TextFilter, fold_of, iter_texts
from app.errors import UserError
from tests import corpus_sample

POEM = "床前明月光，\n疑是地上霜。\n舉頭望明月，低頭思故鄉。"
MOONS = "明月出天山，蒼茫雲海間。\n海上生明月，天涯共此時。\n明月"
ENGLISH = "The cat sat on the mat. A big cat ran off, and a cat ate.\nCat!"


@pytest.fixture
def db() -> Database:
    return corpus_sample.texts_db({
        "poems": [TextRecord(title="Quiet night", body=POEM, author="Li Bai"),
                  TextRecord(title="Moon over the pass", body=MOONS, author="Li Bai")],
        "prose": [TextRecord(title="Cats", body=ENGLISH, author="Anon")],
    })


@pytest.fixture(scope="module")
def sample_db() -> Database:
    return corpus_sample.sample_db(0.3, seed=7)


def _plain_count(db: Database, corpus: str, query: str) -> int:
    """str.count over the folded texts with punctuation and line breaks taken out, as a phrase search reads them."""
    fold = fold_of(db)
    return sum(re.sub(r"[\W_]", "", fold.text(t.body)).count(fold.text(query)) for t in iter_texts(db, corpus))


def test_cjk_counts_equal_a_plain_count_of_the_folded_texts(sample_db: Database) -> None:
    fold = fold_of(sample_db)
    bodies = "".join(fold.text(t.body) for t in iter_texts(sample_db, "sample"))
    common = [c for c, _ in Counter(re.findall("[\u4e00-\u9fff]", bodies)).most_common(40)]
    queries = [common[0], common[5], common[30], common[0] + common[1], common[2] + common[0]]
    for query in queries:
        assert len(kwic(sample_db, query, "sample")) == _plain_count(sample_db, "sample", query) > 0, query


def test_a_phrase_is_found_across_punctuation_and_its_match_spans_it(db: Database) -> None:
    (line,) = kwic(db, "光疑", "poems")
    assert line.match == "光，\n疑"


def test_english_counts_equal_a_count_of_the_whole_word(sample_db: Database) -> None:
    fold = fold_of(sample_db)
    for word in ("the", "and", "which"):
        expected = sum(len(re.findall(rf"\b{word}\b", fold.text(t.body))) for t in iter_texts(sample_db, "sample"))
        assert len(kwic(sample_db, word, "sample")) == expected > 0, word


def test_a_traditional_text_is_found_by_a_simplified_query(db: Database) -> None:
    (line,) = kwic(db, "举头", "poems")
    assert (line.title, line.match, POEM[line.start : line.end]) == ("Quiet night", "舉頭", "舉頭")


def test_contexts_are_width_characters_of_the_original_with_line_breaks_as_spaces(db: Database) -> None:
    lines = kwic(db, "明月", "poems", width=5)
    assert len(lines) == 5
    for line in lines:
        body = POEM if line.title == "Quiet night" else MOONS
        assert line.match == body[line.start : line.end]
        assert line.left == body[max(0, line.start - 5) : line.start].replace("\n", " ")
        assert line.right == body[line.end : line.end + 5].replace("\n", " ")
    assert (lines[0].left, lines[0].right) == ("床前", "光， 疑是")
    assert lines[-1].right == ""  # the text ends with the match


def test_lines_come_in_text_order_then_offset_order_and_the_limit_takes_the_first(db: Database) -> None:
    lines = kwic(db, "明月")
    assert [(line.text_id, line.start) for line in lines] == sorted((line.text_id, line.start) for line in lines)
    assert kwic(db, "明月", limit=3) == lines[:3]


def test_filters_select_texts(db: Database) -> None:
    assert {line.title for line in kwic(db, "明月", filters=TextFilter(title="pass"))} == {"Moon over the pass"}


def test_sorting_english_by_the_first_word_right(db: Database) -> None:
    lines = kwic(db, "cat", "prose", sort=("R1",))
    assert [line.keys["R1"] for line in lines] == ["", "ate", "ran", "sat"]  # "Cat!" ends the text
    assert [line.right.split()[0] if line.right.strip() else "" for line in lines] == ["!", "ate.", "ran", "sat"]


def test_sorting_english_by_the_first_word_left_then_right(db: Database) -> None:
    lines = kwic(db, "cat", "prose", sort=("L1", "R1"))
    assert [(line.keys["L1"], line.keys["R1"]) for line in lines] == [
        ("a", "ate"), ("ate", ""), ("big", "ran"), ("the", "sat")]


def test_sorting_chinese_by_single_characters(db: Database) -> None:
    lines = kwic(db, "明月", "poems", sort=("R1",))
    # By code point: 低 U+4F4E, 光 U+5149, 出 U+51FA, 天 U+5929 (past the comma); the last 明月 ends the text.
    assert [line.keys["R1"] for line in lines] == ["", "低", "光", "出", "天"]
    lines = kwic(db, "明月", "poems", sort=("L1", "L2"))
    assert [(line.keys["L1"], line.keys["L2"]) for line in lines] == [
        ("", ""), ("前", "床"), ("时", "此"), ("望", "头"), ("生", "上")]  # 前 U+524D, 时 U+65F6, 望 U+671B, 生 U+751F


def test_sort_keys_reach_past_a_narrow_context(db: Database) -> None:
    (line,) = kwic(db, "mat", "prose", width=2, sort=("L3", "L2", "L1"))
    assert line.keys == {"L3": "sat", "L2": "on", "L1": "the"}


@pytest.mark.parametrize("sort", [("R4",), ("M1",), ("L1", "L2", "R1", "R2")])
def test_a_bad_sort_is_refused(db: Database, sort: tuple[str, ...]) -> None:
    with pytest.raises(UserError):
        kwic(db, "cat", sort=sort)


def test_csv_round_trips_with_a_header_and_a_bom(db: Database, tmp_path: Path) -> None:
    lines = kwic(db, "明月", sort=("R1", "L1")) + kwic(db, "cat", sort=("R1", "L1"))
    path = tmp_path / "kwic.csv"
    to_csv(lines, path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["text_id", "title", "author", "start", "end", "left", "match", "right", "R1", "L1"]
    back = [KwicLine(int(r["text_id"]), r["title"], r["author"], int(r["start"]), int(r["end"]), r["left"], r["match"],
                     r["right"], {"R1": r["R1"], "L1": r["L1"]}) for r in rows]
    assert back == lines


def test_csv_to_an_open_stream_has_no_bom(db: Database) -> None:
    out = io.StringIO()
    to_csv(kwic(db, "cat"), out)
    assert out.getvalue().startswith("text_id,title,author,start,end,left,match,right\r\n")
