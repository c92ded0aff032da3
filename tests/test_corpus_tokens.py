"""Tokens for counting: words of spaced scripts, one token per CJK character, folded, with offsets into the original."""

from __future__ import annotations

from collections import Counter

import pytest

from app.corpus.tokens import grams, join, layout, ngrams, tokens

MIXED = (
    "Don't stop, Mr. O'Neil: 3.14 and 1,000 'quoted' words.\n"
    "Hard-wrapped prose goes on\nacross a line.\n\nA new paragraph.\n"
    "春眠不覺曉，處處聞啼鳥。\n夜來風雨聲\n"
    "iPhone手机 나는 학교에 갑니다 हिन्दी"
)


def texts(text: str, unit: str = "word") -> list[str]:
    return [t.text for t in tokens(text, unit)]


def test_english_words_keep_inner_apostrophes_and_number_separators() -> None:
    assert texts("Don't stop, Mr. O'Neil: 3.14 and 1,000 'quoted' words.") == [
        "don't", "stop", "mr", "o'neil", "3.14", "and", "1,000", "quoted", "words"]


def test_each_cjk_character_is_a_token_folded_to_simplified() -> None:
    assert texts("春眠不覺曉，處處聞啼鳥。") == list("春眠不觉晓处处闻啼鸟")


def test_korean_and_mixed_scripts() -> None:
    assert texts("iPhone手机 나는 학교에 갑니다") == ["iphone", "手", "机", "나는", "학교에", "갑니다"]


def test_combining_marks_stay_inside_their_word() -> None:
    assert texts("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_offsets_point_into_the_original() -> None:
    for token in tokens(MIXED):
        original = MIXED[token.start : token.end]
        assert texts(original) == [token.text]


def test_punctuation_is_never_a_token() -> None:
    assert texts("— , . ; 「」《》！？… ' \" -- _") == []


def test_cjk_ngrams_stop_at_punctuation_and_line_breaks() -> None:
    bigrams = [g.text for g in ngrams(tokens("春眠不覺曉，處處\n聞啼鳥"), 2)]
    assert bigrams == ["春眠", "眠不", "不觉", "觉晓", "处处", "闻啼", "啼鸟"]


def test_word_ngrams_cross_a_wrapped_line_but_not_a_paragraph_or_punctuation() -> None:
    bigrams = [g.text for g in ngrams(tokens("the old\nman. He sat\n\ndown"), 2)]
    assert bigrams == ["the old", "old man", "he sat"]


def test_an_ngram_spans_its_tokens_in_the_original() -> None:
    text = "Call me\nIshmael."
    (gram,) = ngrams(tokens(text), 3)
    assert (gram.text, text[gram.start : gram.end]) == ("call me ishmael", "Call me\nIshmael")


def test_character_ngrams_take_adjacent_characters_only() -> None:
    assert [g.text for g in ngrams(tokens("ab cd，春眠", "char"), 2, "char")] == ["ab", "cd", "春眠"]


def test_join_writes_cjk_side_by_side_and_words_with_spaces() -> None:
    assert join(["春", "眠"]) == "春眠"
    assert join(["of", "the"]) == "of the"
    assert join(["iphone", "手", "机"]) == "iphone 手机"


@pytest.mark.parametrize("unit", ["word", "char"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_counting_fast_path_agrees_with_tokens_and_ngrams(unit: str, n: int) -> None:
    slow = Counter(g.text for g in ngrams(tokens(MIXED, unit), n, unit))
    laid = layout(MIXED, unit)
    fast = Counter(join(g, unit) for run in laid.runs() for g in grams(run, n))
    assert fast == slow
    assert sum(len(run) for run in laid.runs()) == len(laid.texts()) == len(list(tokens(MIXED, unit)))


def test_an_empty_or_punctuation_only_text_has_no_tokens() -> None:
    assert list(tokens("")) == [] and list(tokens("。，！")) == []
    assert layout("").runs() == [] and layout("").texts() == []


def test_a_windows_line_break_is_one_line_break() -> None:
    assert [g.text for g in ngrams(tokens("old\r\nman\r\n\r\nnew"), 2)] == ["old man"]
    assert [g.text for g in ngrams(tokens("春\r\n眠"), 2)] == []


def test_a_katakana_middle_dot_is_punctuation_and_a_variation_selector_stays_with_its_character() -> None:
    assert texts("トム・ソーヤー") == ["ト", "ム", "ソ", "ー", "ヤ", "ー"]
    assert texts("葛\U000e0100城") == ["葛\U000e0100", "城"]
