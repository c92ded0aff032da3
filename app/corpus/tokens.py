"""Tokens for counting: words of spaced scripts and single CJK characters, folded, with their offsets in the original.

A word is a run of letters and digits (with their combining marks), joined by an apostrophe between letters
("don't", "l'homme") or a point or comma between digits ("3.14", "1,000"); Korean, written with spaces, has words
too. A Chinese or Japanese character (a letter of app.scripts.UNSPACED) is a token on its own. Punctuation is never
a token. With unit "char" every letter, digit and CJK character is a token.

The token text is folded with the corpus's fold (app.corpus.fold: case, accents, traditional -> simplified,
duplicate code points), which keeps every code point's place, so [start, end) are offsets into the original.

An n-gram never spans punctuation or a paragraph break (an empty line), nor, next to a CJK character, a line break:
a line of classical verse ends its n-grams. A single line break between words of a spaced script is a space, since
prose is often hard-wrapped. A character n-gram spans nothing at all: its characters are adjacent.

The work is done on arrays of code points (numpy), as the index's shadow is: Python's `re` costs ~0.4 µs a match,
which is 15 s for the 33 million characters of 100 MB of Chinese.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from app.corpus.codetable import CodeTable
from app.corpus.fold import TABLE_END, Fold, load_fold
from app.scripts import UNSPACED

Unit = Literal["word", "char"]
UNITS: tuple[Unit, ...] = ("word", "char")
SPACE, LINE, PUNCT, LETTER, CJK, MARK, APOSTROPHE = range(7)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_BREAK, _JOIN = ord("\n"), ord(" ")  # what stands between two tokens in a laid-out text: a break, or nothing
_CR, _LF, _POINT, _COMMA, _ZERO, _NINE = (ord(c) for c in "\r\n.,09")


class Token(NamedTuple):
    """A token: its folded text and its [start, end) in the original; `joined` unless a break comes before it."""

    text: str
    start: int
    end: int
    joined: bool = True


@dataclass(frozen=True, eq=False)
class Layout:
    """A text's tokens: where each starts and ends, whether a break comes before it, and their folded texts."""

    codes: np.ndarray  # int64 [characters]: the folded text's code points
    starts: np.ndarray  # int64 [tokens]
    ends: np.ndarray  # int64 [tokens]
    breaks: np.ndarray  # bool [tokens]: True where no n-gram joins this token to the one before
    laid_out: str  # the token texts, " " between two that an n-gram may join and "\n" at a break

    def texts(self) -> list[str]:
        """The folded token texts, in order."""
        return self.laid_out.split()

    def runs(self) -> list[list[str]]:
        """The token texts in runs between breaks: what n-grams are taken from."""
        return [run.split(" ") for run in self.laid_out.split("\n")] if self.laid_out else []


def layout(text: str, unit: Unit = "word", fold: Fold | None = None) -> Layout:
    """Find the tokens of `text` (the corpus's `fold`, the shipped one when None)."""
    codes = (fold or load_fold()).codes(text).astype(np.int64)
    if not len(codes):
        return Layout(codes, codes, codes, np.zeros(0, bool), "")
    kinds = _kinds_of(codes)
    inside, starts_here = _token_chars(codes, kinds, unit)
    last = inside & ~(_after(inside) & ~_after(starts_here))
    starts, ends = np.flatnonzero(starts_here), np.flatnonzero(last) + 1
    breaks = _breaks(codes, kinds, inside, starts, ends, unit)
    return Layout(codes, starts, ends, breaks, _laid_out(codes, inside, starts_here, breaks))


def _token_chars(codes: np.ndarray, kinds: np.ndarray, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """Which characters are inside a token, and which start one."""
    marks = kinds == MARK
    base = _base_kinds(kinds, marks)  # a mark belongs to the letter or character before it
    cjk = kinds == CJK
    letter = kinds == LETTER
    if unit == "char":
        inside = letter | cjk | (marks & ((base == LETTER) | (base == CJK)))
        return inside, letter | cjk
    wordish = letter | (marks & (base == LETTER))
    digit = (codes >= _ZERO) & (codes <= _NINE)
    apostrophe = (kinds == APOSTROPHE) & _before(wordish) & _after(letter)
    separator = ((codes == _POINT) | (codes == _COMMA)) & _before(digit) & _after(digit)
    word = wordish | apostrophe | separator
    return word | cjk | (marks & (base == CJK)), cjk | (word & ~_before(word))


def _breaks(
    codes: np.ndarray, kinds: np.ndarray, inside: np.ndarray, starts: np.ndarray, ends: np.ndarray, unit: Unit
) -> np.ndarray:
    """For each token, whether an n-gram may not join it to the token before (always for the first)."""
    breaks = np.ones(len(starts), dtype=bool)
    if len(starts) < 2:
        return breaks
    gap_from, gap_to = ends[:-1], starts[1:]
    if unit == "char":
        breaks[1:] = gap_to > gap_from
        return breaks
    punct = ~inside & (kinds != SPACE) & (kinds != LINE)  # a lone mark or apostrophe counts as punctuation
    line = (kinds == LINE) & ~((codes == _LF) & _before(codes == _CR))  # \r\n is one line break
    punct_in, lines_in = _in_gaps(punct, gap_from, gap_to), _in_gaps(line, gap_from, gap_to)
    cjk = kinds[starts] == CJK
    breaks[1:] = (punct_in > 0) | (lines_in > 1) | ((lines_in > 0) & (cjk[1:] | cjk[:-1]))
    return breaks


def _in_gaps(flags: np.ndarray, gap_from: np.ndarray, gap_to: np.ndarray) -> np.ndarray:
    """How many flagged characters each gap [from, to) holds."""
    total = np.concatenate(([0], np.cumsum(flags)))
    return total[gap_to] - total[gap_from]


def _laid_out(codes: np.ndarray, inside: np.ndarray, starts_here: np.ndarray, breaks: np.ndarray) -> str:
    """The token characters with one space or line break inserted before each token but the first."""
    kept = np.flatnonzero(inside)
    if not len(kept):
        return ""
    first = starts_here[kept]
    slots = np.arange(len(kept)) + np.cumsum(first) - 1  # each token moves right by one per token before it
    out = np.full(slots[-1] + 1, _JOIN, dtype=np.uint32)
    out[slots] = codes[kept]
    out[slots[first][1:] - 1] = np.where(breaks[1:], _BREAK, _JOIN)
    return out.tobytes().decode("utf-32-le", "surrogatepass")


def tokens(text: str, unit: Unit = "word", fold: Fold | None = None) -> Iterator[Token]:
    """The tokens of `text` in order: words and CJK characters ("word"), or letters, digits and CJK characters ("char")."""
    laid = layout(text, unit, fold)
    for word, start, end, brk in zip(laid.texts(), laid.starts.tolist(), laid.ends.tolist(), laid.breaks.tolist()):
        yield Token(word, start, end, not brk)


def ngrams(items: Iterable[Token], n: int, unit: Unit = "word") -> Iterator[Token]:
    """The n-grams of a token sequence (of `unit`) as tokens spanning [first.start, last.end), none across a break."""
    window: list[Token] = []
    for token in items:
        window = [*window[1 - n :], token] if token.joined and n > 1 else [token]
        if len(window) == n:
            yield Token(join([t.text for t in window], unit), window[0].start, window[-1].end, window[0].joined)


def grams(run: Sequence[str], n: int) -> Iterator[tuple[str, ...]]:
    """The n-grams of one unbroken run of token texts as tuples (cheap to count; `join` names one)."""
    return zip(*(run[i:] for i in range(n)))


def join(parts: Sequence[str], unit: Unit = "word") -> str:
    """The text of an n-gram: characters and CJK tokens side by side ("春眠"), words with a space ("of the", "iphone 手")."""
    if len(parts) == 1 or unit == "char":
        return "".join(parts)
    out = [parts[0]]
    for before, part in zip(parts, parts[1:]):
        out.append(part if _is_cjk(before) and _is_cjk(part) else " " + part)
    return "".join(out)


def _is_cjk(token: str) -> bool:
    return _kinds().value(min(ord(token[0]), TABLE_END - 1)) == CJK


def _before(flags: np.ndarray) -> np.ndarray:
    """flags shifted one place right: whether the character before each one is flagged."""
    return np.concatenate(([False], flags[:-1]))


def _after(flags: np.ndarray) -> np.ndarray:
    """flags shifted one place left: whether the character after each one is flagged."""
    return np.concatenate((flags[1:], [False]))


def _base_kinds(kinds: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """For each character, the kind of the last character at or before it that is not a mark."""
    if not marks.any():
        return kinds
    base = np.maximum.accumulate(np.where(marks, -1, np.arange(len(kinds))))
    return np.where(base >= 0, kinds[np.maximum(base, 0)], SPACE)


def _kinds_of(codes: np.ndarray) -> np.ndarray:
    """The kind of each folded code point; those past the table (rare: tags, private use) are looked up one by one."""
    kinds = _kinds().lookup(np.minimum(codes, TABLE_END - 1))
    for i in np.flatnonzero(codes >= TABLE_END):
        kinds[i] = _kind(chr(codes[i]))
    return kinds


@functools.cache
def _kinds() -> CodeTable:
    """SPACE, LINE, PUNCT, LETTER, CJK, MARK or APOSTROPHE for each code point of the fold table."""
    return CodeTable(lambda chars: [_kind(c) for c in chars], np.uint8, TABLE_END)


_UNSPACED = re.compile(f"[{UNSPACED}]")


def _kind(c: str) -> int:
    category = unicodedata.category(c)[0]
    if c in LINE_BREAKS:
        return LINE
    if c.isspace():
        return SPACE
    if category in "LN":  # letters and digits, as \w and FTS5's unicode61 see them
        return CJK if _UNSPACED.match(c) else LETTER
    if category == "M":
        return MARK
    return APOSTROPHE if c in "'’" else PUNCT
