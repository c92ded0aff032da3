"""One definition of the CJK scripts: the word count and the revisions diff see the same words in every script."""

from __future__ import annotations

import re

import pytest

from app.desk.counting import count_words
from app.textdiff import diff_words, tokenize


def _word_tokens(text: str) -> int:
    return sum(1 for token in tokenize(text) if re.match(r"\w", token))


@pytest.mark.parametrize(
    "text, words",
    [
        ("The boats came in", 4),
        ("春眠不觉晓，处处闻啼鸟。", 10),
        ("東京へ行きます", 7),
        ("나는 학교에 갑니다", 3),
        ("ＡＢＣ１２３ と ｶﾀｶﾅ", 6),
    ],
    ids=["english", "chinese", "japanese", "korean", "full-and-half-width"],
)
def test_counted_words_are_the_words_a_diff_changes(text: str, words: int) -> None:
    assert count_words(text) == words
    assert _word_tokens(text) == words


def test_a_changed_korean_word_is_one_change() -> None:
    hunks = diff_words("나는 학교에 갑니다", "나는 집에 갑니다")
    assert [(h.op, h.old, h.new) for h in hunks if h.op != "equal"] == [("replace", "학교에", "집에")]


def test_chinese_punctuation_is_neither_a_word_nor_glued_to_one() -> None:
    assert tokenize("月光，霜。") == ["月", "光", "，", "霜", "。"]
    assert count_words("「静夜思」") == 3
