"""Word-level diffs for revisions and tracked changes: exact reconstruction, CJK characters as words."""

from __future__ import annotations

from app.textdiff import apply_hunks, diff_words, tokenize


def test_tokens_rebuild_the_text() -> None:
    for text in ["", "Hello,  world!\n\tNext line.", "床前明月光，疑是地上霜。", "mixed 中文 and English—dash"]:
        assert "".join(tokenize(text)) == text


def test_cjk_characters_are_words() -> None:
    assert tokenize("明月光") == ["明", "月", "光"]
    hunks = diff_words("床前明月光", "床前明亮光")
    assert [(h.op, h.old, h.new) for h in hunks if h.op != "equal"] == [("replace", "月", "亮")]


def test_word_level_hunks() -> None:
    hunks = diff_words("The quick brown fox.", "The brown fox jumps.")
    changes = [(h.op, h.old.strip(), h.new.strip()) for h in hunks if h.op != "equal"]
    assert changes == [("delete", "quick", ""), ("insert", "", "jumps")]


def test_hunks_rebuild_both_sides_and_partial_accept() -> None:
    old, new = "One two three four.", "One 2 three four five."
    hunks = diff_words(old, new)
    assert apply_hunks(hunks) == new
    assert apply_hunks(hunks, accepted=[]) == old
    first_change = next(i for i, h in enumerate(hunks) if h.op != "equal")
    assert apply_hunks(hunks, accepted=[first_change]) == "One 2 three four."
