"""The fold, the shadow text with its position map, and query translation: the pieces the corpus index is built of."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.corpus.fold import load_fold, read_variants
from app.corpus.query import parse, phrases, to_match
from app.corpus.shadow import build_shadow, pack_starts, piece_shadows, unpack_starts
from app.errors import UserError

FOLD = load_fold()


@pytest.mark.parametrize("original, folded", [
    ("說爲後", "说为后"),  # OpenCC t2s
    ("牀峩嶋", "床峨岛"),  # the shipped variant table, then t2s
    ("\uf967", "\u4e0d"),  # a compatibility ideograph (U+F967) is the unified 不
    ("ＡＢｃ１ｶ", "abc1カ"),  # full-width and half-width forms
    ("Éclair naïve İ", "eclair naive i"),  # case and Latin accents
])
def test_fold_maps_each_code_point_to_one(original: str, folded: str) -> None:
    assert FOLD.text(original) == folded


def test_fold_never_changes_the_length() -> None:
    # Each would become several code points under NFKC or casefold; they stay as they are.
    for c in "ﬁ㍿ßẞ\U0001d400":
        assert len(FOLD.text(c)) == 1
    assert FOLD.text("𠀀\U000323af") == "𠀀\U000323af"  # Extension B and the end of the table


def test_fold_is_context_free() -> None:
    assert FOLD.text("乾隆") == FOLD.text("乾") + FOLD.text("隆")


def test_user_variants_extend_and_override_the_shipped_table(tmp_path: Path) -> None:
    (tmp_path / "variants.tsv").write_text("# mine\n丒\t丑\n峩\t峩\n", encoding="utf-8")
    fold = load_fold(tmp_path)
    assert fold.text("丒峩") == "丑峩"
    assert fold.signature != FOLD.signature


def test_a_bad_variant_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "variants.tsv"
    path.write_text("丒\t丑\n丒丑\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"variants.tsv, line 2"):
        read_variants(path)


def test_shadow_spaces_cjk_drops_punctuation_and_keeps_words() -> None:
    body = "床前明月光，\n疑是地上霜。Hello, World-wide 2024年"
    shadow = build_shadow(body, FOLD)
    assert shadow.text == "床 前 明 月 光 疑 是 地 上 霜 hello world wide 2024 年"
    for start, token in zip(shadow.starts, shadow.text.split()):
        assert FOLD.text(body[start:start + len(token)]) == token


def test_shadow_keeps_indic_vowel_signs_in_their_word_and_drops_latin_accents() -> None:
    assert build_shadow("हिन्दी भाषा", FOLD).text == "हिन्दी भाषा"
    assert build_shadow("cafe\u0301 ok", FOLD).text == "cafe ok"


def test_shadow_of_nothing_to_index() -> None:
    for body in ("", "，。！", "\n\n"):
        shadow = build_shadow(body, FOLD)
        assert (shadow.text, len(shadow.starts)) == ("", 0)


def test_position_map_round_trips() -> None:
    starts = build_shadow("一二，三 four five。六" * 50, FOLD).starts
    assert (unpack_starts(pack_starts(starts)) == starts).all()


@pytest.mark.parametrize("body", [
    "床前明月光，\n疑是地上霜。說爲牀 𠀀𪚥 乾隆",
    "Don't stop: naïve cafe\u0301s, 3.14 ﬁne İstanbul Straße!",
    "\u0301\u0301ab cd\u0308 नमस्ते दुनिया x\u093fy 一\u0301二",
    "，。！\n\n  ",
])
def test_piece_shadows_are_the_shadows_of_the_pieces(body: str) -> None:
    # Every span, so every way a span can cut a word, a mark or a run of punctuation is met.
    spans = [(s, e) for s in range(len(body)) for e in range(s + 1, len(body) + 1)]
    assert piece_shadows(body, spans, FOLD) == [build_shadow(body[s:e], FOLD).text for s, e in spans]


def test_position_map_round_trips_steps_past_a_byte_read_in_part() -> None:
    # Gaps of 255 characters and more between token starts are the map's exceptions.
    body = "".join(f"w{i}" + " " * gap for i, gap in enumerate([0, 254, 255, 3, 1000, 70000, 2, 300]))
    starts = build_shadow(body, FOLD).starts
    assert (unpack_starts(pack_starts(starts)) == starts).all()
    for upto in range(len(starts) + 2):
        assert unpack_starts(pack_starts(starts), upto).tolist() == starts[: upto + 1].tolist()


@pytest.mark.parametrize("query, match", [
    ("光疑是", '"光 疑 是"'),
    ("說", '"说"'),
    ("床前明月光，疑是", '"床 前 明 月 光 疑 是"'),
    ("hello world", '("hello" AND "world")'),
    ('"Hello World"', '"hello world"'),
    ("wor*", '"wor"*'),
    ('"two wor"*', '"two wor"*'),
    ("a OR b c", '("a" OR ("b" AND "c"))'),
    ("(a OR b) NOT c", '(("a" OR "b") NOT "c")'),
    ("a AND NOT b", '("a" NOT "b")'),
    ('"NOT" or', '("not" AND "or")'),
    ("iPhone手机", '"iphone 手 机"'),
])
def test_to_match_translates_the_query_syntax(query: str, match: str) -> None:
    assert to_match(query) == match


@pytest.mark.parametrize("query", ["(a", "a)", '"open', "NOT a", "a OR", "()", "AND", "a NOT", "，", "   "])
def test_malformed_queries_are_user_errors(query: str) -> None:
    with pytest.raises(UserError):
        to_match(query)


def test_phrases_leave_out_what_is_negated() -> None:
    assert [p.tokens for p in phrases(parse("(a OR b) NOT c d"))] == [("a",), ("b",), ("d",)]
