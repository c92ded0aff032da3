"""The shadow text the FTS index reads: the folded body as tokens joined by single spaces, with the position map back to the original.

Each CJK character (app/scripts.UNSPACED) is a token of its own; a run of other letters and digits is a word;
everything else (spaces, punctuation, line breaks, symbols) is dropped, so a phrase matches across it, as CBETA
searches punctuation-free. 床前明月光，\\n疑是地上霜 has the shadow "床 前 明 月 光 疑 是 地 上 霜".
Tokens are made of Unicode letters and digits, which unicode61 keeps together: each one is one FTS token. A
combining mark stays inside the word it follows (a Devanagari vowel sign), except the accents of the Combining
Diacritical Marks blocks, which are dropped as unicode61's remove_diacritics drops them (a decomposed é is e).
The fold is 1:1 per code point, so token i covers original[starts[i] : starts[i] + len(token i)].
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
from dataclasses import dataclass

import numpy as np

from app.corpus.codetable import CodeTable
from app.corpus.fold import TABLE_END, Fold
from app.scripts import UNSPACED

SEPARATOR, CJK, WORD, MARK = 0, 1, 2, 3
# Combining accents (U+0300-036F and the blocks extending it): separators, as unicode61 drops them.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SPACE = ord(" ")
_MAP_FORMAT, _HEADER, _BIG_STEP = 1, 9, 255  # the position map's format byte, header length, escape value
_COUNTS = struct.Struct("<II")  # the header's counts of tokens and of exceptions, after the format byte


@dataclass(frozen=True, eq=False)
class Shadow:
    """A text's shadow and where each of its tokens starts in the original."""

    text: str
    starts: np.ndarray  # int32, one per token: offset of its first character in the original body

    def to_row(self) -> tuple[str, bytes]:
        """The shadow and its packed position map, as stored in text_shadows."""
        return self.text, pack_starts(self.starts)


def build_shadow(body: str, fold: Fold) -> Shadow:
    """Fold `body` and lay its tokens out one space apart, remembering where each token starts."""
    codes = fold.codes(body)
    kinds = _attach_marks(char_kinds().lookup(np.where(codes < TABLE_END, codes, 0)))
    if not len(codes):
        return Shadow("", np.zeros(0, dtype=np.int32))
    previous = np.concatenate(([SEPARATOR], kinds[:-1]))
    is_start = (kinds == CJK) | ((kinds == WORD) & (previous != WORD))
    kept = np.flatnonzero(kinds != SEPARATOR)
    if not len(kept):
        return Shadow("", np.zeros(0, dtype=np.int32))
    # Each kept character moves right by one space per token started before it (the first token has none).
    slots = np.arange(len(kept)) + np.cumsum(is_start[kept]) - 1
    out = np.full(slots[-1] + 1, _SPACE, dtype=np.uint32)
    out[slots] = codes[kept]
    text = out.tobytes().decode("utf-32-le", "surrogatepass")
    return Shadow(text, np.flatnonzero(is_start).astype(np.int32))


def _attach_marks(kinds: np.ndarray) -> np.ndarray:
    """A combining mark is part of the word before it, and a separator after anything else."""
    marks = kinds == MARK
    if not marks.any():
        return kinds
    # For each position, the index of the last character at or before it that is not a mark.
    base = np.maximum.accumulate(np.where(marks, -1, np.arange(len(kinds))))
    base_kind = np.where(base >= 0, kinds[np.maximum(base, 0)], SEPARATOR)
    return np.where(marks, np.where(base_kind == WORD, WORD, SEPARATOR), kinds).astype(np.uint8)


def piece_shadows(body: str, spans: list[tuple[int, int]], fold: Fold) -> list[str]:
    """build_shadow(body[s:e], fold).text for each [s, e), cut from the shadow of the whole body.

    The tokens wholly inside a span are a slice of the body's shadow: they tokenize alike in the piece, because a
    token starts where the character before it is no part of a word, and a mark's kind comes from the character
    it follows, which is inside the span from the first whole token on. Only a word the span cuts through is
    built again, from its piece. One build_shadow a passage (30 µs each, 40,000 passages in 20 MB) was two thirds
    of indexing the passages.
    """
    whole = build_shadow(body, fold)
    shadow, starts = whole.text, whole.starts.astype(np.int64)
    if not len(starts):  # no letters at all, so none in any piece
        return ["" for _ in spans]
    codes = np.frombuffer(shadow.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    spaces = np.flatnonzero(codes == _SPACE)
    at = np.concatenate(([0], spaces + 1))[: len(starts)]  # where each token is in the shadow
    ends = starts + np.concatenate((spaces, [len(codes)]))[: len(starts)] - at  # and where it ends in the body
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    first = np.searchsorted(starts, bounds[:, 0], "left")  # the first token starting inside
    last = np.searchsorted(ends, bounds[:, 1], "right") - 1  # the last one ending inside
    whole_tokens = first <= last
    f, l = np.minimum(first, len(starts) - 1), np.maximum(last, 0)
    slices = zip(at[f].tolist(), (at[l] + ends[l] - starts[l]).tolist())
    cut_left = whole_tokens & (first > 0) & (np.concatenate(([0], ends))[first] > bounds[:, 0])
    cut_right = whole_tokens & (last + 1 < len(starts)) & (np.append(starts, 0)[last + 1] < bounds[:, 1])
    out = []
    for i, ((s, e), (lo, hi), inside) in enumerate(zip(spans, slices, whole_tokens.tolist())):
        if not inside:  # no whole token: nothing, or a piece of one word
            out.append(build_shadow(body[s:e], fold).text)
            continue
        parts = [shadow[lo:hi]]
        if cut_left[i]:  # a word cut by the span's start
            parts.insert(0, build_shadow(body[s : int(starts[first[i]])], fold).text)
        if cut_right[i]:  # a word cut by its end
            parts.append(build_shadow(body[int(ends[last[i]]) : e], fold).text)
        out.append(" ".join(part for part in parts if part))
    return out


def query_tokens(text: str, fold: Fold) -> list[str]:
    """The tokens a fragment of a query stands for, folded and split exactly as the index was."""
    return build_shadow(text, fold).text.split()


def pack_starts(starts: np.ndarray) -> bytes:
    """The position map as stored: a format byte, the counts, one byte per token (the step from the previous
    token's start; 255 means "see the exceptions"), then (token, step) pairs for the steps of 255 or more.

    One byte a token reads back at memory speed: a concordance needs the maps of thousands of texts at once,
    and zlib, though 3x smaller, took 150 ms to inflate 4,000 of them.
    """
    steps = np.diff(starts, prepend=0).astype(np.int64)
    big = np.flatnonzero(steps >= _BIG_STEP)
    exceptions = np.stack([big, steps[big]], axis=1).astype("<u4")
    header = bytes([_MAP_FORMAT]) + np.array([len(starts), len(big)], dtype="<u4").tobytes()
    return header + np.minimum(steps, _BIG_STEP).astype(np.uint8).tobytes() + exceptions.tobytes()


def unpack_starts(blob: bytes, upto: int | None = None) -> np.ndarray:
    """The token starts of a stored position map: all of them, or those of tokens 0..upto."""
    if blob[0] != _MAP_FORMAT:
        raise ValueError(f"position map format {blob[0]} is not {_MAP_FORMAT}: re-index the corpus")
    # struct, not numpy, for the header, and no copy of the steps without exceptions: a concordance unpacks the
    # maps of thousands of texts, and the per-call overhead was most of it (10 µs a map, now 7).
    count, big = _COUNTS.unpack_from(blob, 1)
    wanted = count if upto is None else min(count, upto + 1)
    steps = np.frombuffer(blob, dtype=np.uint8, count=wanted, offset=_HEADER)
    if big:
        steps = steps.astype(np.int32)
        exceptions = np.frombuffer(blob, dtype="<u4", count=2 * big, offset=_HEADER + count).reshape(-1, 2)
        exceptions = exceptions[exceptions[:, 0] < wanted]
        steps[exceptions[:, 0]] = exceptions[:, 1]
    return steps.cumsum(dtype=np.int32)


@functools.cache
def char_kinds() -> CodeTable:
    """SEPARATOR, CJK, WORD or MARK for each code point of the fold table (folded text is classified, not the original)."""
    return CodeTable(_kinds, np.uint8, TABLE_END)


_UNSPACED = re.compile(f"[{UNSPACED}]")


def _kinds(chars: list[str]) -> list[int]:
    return [_kind(c) for c in chars]


def _kind(c: str) -> int:
    category = unicodedata.category(c)[0]
    if category in "LN":  # unicode61's token characters are L*, N* (and Co, unused here) and marks
        return CJK if _UNSPACED.match(c) else WORD
    if category == "M" and not _ACCENTS.match(c):
        return MARK
    return SEPARATOR
