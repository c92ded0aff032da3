"""The concordance (key word in context): every hit of a query with its left and right context, sorted, exported to CSV.

Each text's body is read once for all of its hits. Sorting by a side (L3 … L1, R1 … R3) compares the folded
tokens next to the match (app.corpus.tokens), so words sort in English and single characters in Chinese; equal keys
keep text order, then offset order. The stretches of text around every hit are laid out in one numpy pass.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator
from typing import IO, NamedTuple

import numpy as np
from sqlite_utils import Database

from app.corpus.fold import Fold
from app.corpus.occurrences import Span
from app.corpus.search import find_spans
from app.corpus.store import Text, TextFilter, fold_of, get_text, iter_texts
from app.corpus.tokens import layout, tokens
from app.errors import UserError

_SORT_KEY = re.compile(r"[LR][123]")
# Line breaks and tabs show as spaces, one for one, so a context is still `width` characters of the original.
_FLAT = re.compile("[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_TEXTS_AT_ONCE = 199  # fewer than iter_texts reads in one query, so each slice of ids is one query
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what Excel, LibreOffice and Sheets read as a formula's start
_KEY_SPAN = 16  # characters read per sort-key token at first; a longer stretch only when these hold too few


class KwicLine(NamedTuple):
    """One concordance line: the hit's [start, end) in the text's body, its context, and its sort keys by name.

    A NamedTuple, not a frozen dataclass: 10,000 lines cost 5 ms to make instead of 20.
    """

    text_id: int
    title: str
    author: str
    start: int
    end: int
    left: str
    match: str
    right: str
    keys: dict[str, str]


_COLUMNS = KwicLine._fields[:-1]


# The characters read on one side of a hit for its sort keys, and whether they reach the text's edge.
_Stretch = tuple[str, bool]


def kwic(
    db: Database,
    query: str,
    corpus: str | int | None = None,
    filters: TextFilter | None = None,
    width: int = 40,
    sort: tuple[str, ...] = (),
    limit: int | None = None,
) -> list[KwicLine]:
    """The first `limit` hits of `query` (all when None) as lines with `width` characters of context a side.

    `sort` names up to three keys, e.g. ("R1", "R2") or ("L1",): Ln is the n-th token left of the match, Rn the
    n-th right of it. The limit takes the first hits in text order; sorting orders those.
    """
    keys = _sort_keys(sort)
    if width < 0:
        raise UserError(f"The context width must be 0 or more characters, not {width}.")
    hits: dict[int, list[Span]] = {}
    for span in find_spans(db, query, corpus=corpus, filters=filters, limit=limit):
        hits.setdefault(span[0], []).append(span)
    depth = {side: max((int(k[1]) for k in keys if k[0] == side), default=0) for side in "LR"}
    lines, stretches = [], {"L": [], "R": []}
    for text in _texts(db, list(hits)):
        for hit in hits[text.id]:
            lines.append(_line(text, hit, width))
            for side in "LR":
                if depth[side]:
                    stretches[side].append(_stretch(text.body, hit[1], hit[2], side, _KEY_SPAN * depth[side]))
    if not keys:
        return lines
    fold = fold_of(db)
    near = {side: _near(db, lines, stretches[side], side, depth[side], fold) for side in "LR"}
    for i, line in enumerate(lines):
        line.keys.update((k, _nth(near[k[0]][i], int(k[1]))) for k in keys)  # each line's own dict, filled once
    return sorted(lines, key=lambda line: tuple(line.keys.values()))


def _texts(db: Database, ids: list[int]) -> Iterator[Text]:
    """The texts with these ids, in id order, as find_spans gives its hits."""
    # A page of iter_texts at a time: paging one long id list costs ~1.6× as much (measured, 3,853 texts).
    for at in range(0, len(ids), _TEXTS_AT_ONCE):
        yield from iter_texts(db, filters=TextFilter(text_ids=tuple(ids[at : at + _TEXTS_AT_ONCE])))


def _sort_keys(sort: Iterable[str]) -> tuple[str, ...]:
    """The sort keys, upper-cased and checked: at most three of L1–L3 and R1–R3."""
    keys = tuple(key.strip().upper() for key in sort)
    bad = [key for key in keys if not _SORT_KEY.fullmatch(key)]
    if bad or len(keys) > 3:
        raise UserError(f"Sort by up to three of L3, L2, L1, R1, R2, R3 (tokens left or right of the match), not {sort}.")
    return keys


def _line(text: Text, hit: Span, width: int) -> KwicLine:
    """The concordance line of one hit in its text (no sort keys yet)."""
    body, (_, start, end) = text.body, hit
    left = _FLAT.sub(" ", body[max(0, start - width) : start])
    right = _FLAT.sub(" ", body[end : end + width])
    return KwicLine(text.id, text.title, text.author, start, end, left, body[start:end], right, {})


def _stretch(body: str, start: int, end: int, side: str, span: int) -> _Stretch:
    """The `span` characters just left of `start` ("L") or right of `end` ("R")."""
    if side == "L":
        return body[max(0, start - span) : start], start <= span
    return body[end : end + span], end + span >= len(body)


def _near(db: Database, lines: list[KwicLine], stretches: list[_Stretch], side: str, depth: int,
          fold: Fold) -> list[list[str]]:
    """For each line, the first `depth` tokens on one side of its match, nearest first."""
    if not depth:
        return [[] for _ in lines]
    out = []
    for line, (_, whole), found in zip(lines, stretches, _stretch_tokens([text for text, _ in stretches], fold)):
        # One token more than asked for proves the last one asked for was not cut off by the stretch's edge.
        if len(found) <= depth and not whole:
            found = _widened(get_text(db, line.text_id).body, line, side, depth, fold)  # rare: long runs of spaces
        out.append(found[::-1][:depth] if side == "L" else found[:depth])
    return out


def _widened(body: str, line: KwicLine, side: str, depth: int, fold: Fold) -> list[str]:
    """The tokens of ever longer stretches beside a match, until they hold enough or reach the text's edge."""
    span = _KEY_SPAN * depth
    while True:
        span *= 4
        text, whole = _stretch(body, line.start, line.end, side, span)
        found = [t.text for t in tokens(text, fold=fold)]
        if len(found) > depth or whole:
            return found


def _stretch_tokens(pieces: list[str], fold: Fold) -> list[list[str]]:
    """The token texts of each piece, all laid out at once (one numpy pass, not one per hit)."""
    laid = layout("\0".join(pieces), "word", fold)  # NUL is punctuation: no token crosses from piece to piece
    bounds = np.cumsum([0] + [len(p) + 1 for p in pieces])
    at = np.searchsorted(laid.starts, bounds).tolist()
    texts = laid.texts()
    return [texts[at[i] : at[i + 1]] for i in range(len(pieces))]


def _nth(found: list[str], n: int) -> str:
    return found[n - 1] if len(found) >= n else ""


def to_csv(lines: Iterable[KwicLine], file: str | os.PathLike[str] | IO[str]) -> None:
    """Write lines as CSV with a header row; a path is written as UTF-8 with a BOM, which Excel reads as UTF-8.

    Columns: text_id, title, author, start, end, left, match, right, then one per sort key (R1, L1 …).
    A text cell that begins with = + - @ (or a tab or carriage return) gets a ' in front, so a spreadsheet shows
    it as text instead of running it as a formula (corpus text is data, never a command: OWASP's CSV injection
    rule); the JSON output (`corpus kwic --json`) keeps every cell as it is in the text.
    """
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w", encoding="utf-8-sig", newline="") as out:
            _write_csv(lines, out)
    else:
        _write_csv(lines, file)


def _write_csv(lines: Iterable[KwicLine], out: IO[str]) -> None:
    lines = list(lines)
    keys = list(lines[0].keys) if lines else []
    writer = csv.writer(out)
    writer.writerow([*_COLUMNS, *keys])
    for line in lines:
        writer.writerow([_cell(value) for value in (*line[: len(_COLUMNS)], *line.keys.values())])


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet will not take for a formula: text starting with a formula character gets a '."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value
