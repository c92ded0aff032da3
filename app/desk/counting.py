"""Word and character counts as writers expect them: each CJK character counts as a word."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Han (with extensions and compatibility ideographs), kana and Hangul syllables: scripts written without
# spaces between words, where a character is the unit writers and editors count.
_CJK_WORD = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
# CJK punctuation and full-width forms separate words but are not words themselves.
_CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
_WORD = re.compile(rf"[{_CJK_WORD}]|[^\s{_CJK_WORD}{_CJK_PUNCT}]*[^\W_][^\s{_CJK_WORD}{_CJK_PUNCT}]*")
_SPACE = re.compile(r"\s")
# Below this size a count takes well under a millisecond and can run on every keystroke.
INSTANT_LIMIT = 50_000
DEBOUNCE_MS = 400


@dataclass(frozen=True)
class Counts:
    """What the status bar shows about a text."""

    words: int
    chars: int
    chars_no_spaces: int

    def label(self) -> str:
        """'1,234 words · 6,789 characters'."""
        word = "word" if self.words == 1 else "words"
        char = "character" if self.chars == 1 else "characters"
        return f"{self.words:,} {word} · {self.chars:,} {char}"


def count_words(text: str) -> int:
    """Words in `text`: runs of letters or digits between spaces, and every CJK character on its own."""
    return len(_WORD.findall(text))


def count(text: str) -> Counts:
    """Words, characters, and characters not counting whitespace."""
    return Counts(count_words(text), len(text), len(text) - len(_SPACE.findall(text)))


def count_delay_ms(length: int) -> int:
    """How long to wait after an edit before recounting: at once for short texts, debounced for long ones."""
    return 0 if length <= INSTANT_LIMIT else DEBOUNCE_MS
