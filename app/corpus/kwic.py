"""The concordance (key word in context): every hit of a query with its left and right context, sorted, exported to CSV.

Each text's body is read once for all of its hits. Sorting by a side (L3 … L1, R1 … R3) compares the folded
tokens next to the match (app.corpus.tokens), so words sort in English and single characters in Chinese; equal keys
keep text order, then offset order.
"""

from __future__ import annotations

import csv
import os
import re

import numpy as np
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import IO

from sqlite_utils import Database

from app.corpus.records import Hit
from app.corpus.search import find_all
from app.corpus.fold import Fold
from app.corpus.store import Text, TextFilter, fold_of, iter_texts
from app.corpus.tokens import layout, tokens
from app.errors import UserError

_SORT_KEY = re.compile(r"[LR][123]")
# Line breaks and tabs show as spaces, one for one, so a context is still `width` characters of the original.
_FLAT = str.maketrans({c: " " for c in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})
_KEY_SPAN = 16  # characters read per sort-key token at first; a longer stretch only when these hold too few


@dataclass(frozen=True)
class KwicLine:
    """One concordance line: the hit's [start, end) in the text's body, its context, and its sort keys by name."""

    text_id: int
    title: str
    author: str
    start: int
    end: int
    left: str
    match: str
    right: str
    keys: dict[str, str] = field(default_factory=dict)


_COLUMNS = tuple(f.name for f in fields(KwicLine) if f.name != "keys")


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
    hits: dict[int, list[Hit]] = {}
    for hit in find_all(db, query, corpus=corpus, filters=filters, limit=limit):
        hits.setdefault(hit.text_id, []).append(hit)
    lines: dict[int, list[KwicLine]] = {}
    fold = fold_of(db)
    for text in iter_texts(db, filters=TextFilter(text_ids=tuple(hits))):
        found = hits[text.id]
        keyed = _keys(text.body, found, keys, fold) if keys else [{}] * len(found)
        lines[text.id] = [_line(text, hit, width, k) for hit, k in zip(found, keyed)]
    ordered = [line for text_id in hits for line in lines.get(text_id, ())]
    if keys:
        ordered.sort(key=lambda line: tuple(line.keys.values()))
    return ordered


def _sort_keys(sort: Iterable[str]) -> tuple[str, ...]:
    """The sort keys, upper-cased and checked: at most three of L1–L3 and R1–R3."""
    keys = tuple(key.strip().upper() for key in sort)
    bad = [key for key in keys if not _SORT_KEY.fullmatch(key)]
    if bad or len(keys) > 3:
        raise UserError(f"Sort by up to three of L3, L2, L1, R1, R2, R3 (tokens left or right of the match), not {sort}.")
    return keys


def _line(text: Text, hit: Hit, width: int, keys: dict[str, str]) -> KwicLine:
    """The concordance line of one hit in its text."""
    body = text.body
    left = body[max(0, hit.start - width) : hit.start].translate(_FLAT)
    right = body[hit.end : hit.end + width].translate(_FLAT)
    return KwicLine(text.id, text.title, text.author, hit.start, hit.end, left, body[hit.start : hit.end], right, keys)


def _keys(body: str, hits: list[Hit], keys: tuple[str, ...], fold: Fold) -> list[dict[str, str]]:
    """For each hit of a text, the folded token at each key's place ('' where the text ends first)."""
    depth = {side: max((int(k[1]) for k in keys if k[0] == side), default=0) for side in "LR"}
    near = {side: _near(body, hits, side, depth[side], fold) for side in "LR"}
    return [{key: _nth(near[key[0]][i], int(key[1])) for key in keys} for i in range(len(hits))]


def _nth(found: list[str], n: int) -> str:
    return found[n - 1] if len(found) >= n else ""


def _near(body: str, hits: list[Hit], side: str, depth: int, fold: Fold) -> list[list[str]]:
    """For each hit, the first `depth` tokens on one side of it ("L" or "R"), nearest first."""
    if not depth:
        return [[] for _ in hits]
    span = _KEY_SPAN * depth
    stretches = [_stretch(body, hit, side, span) for hit in hits]
    out = []
    for (lo, hi), found in zip(stretches, _stretch_tokens(body, stretches, fold)):
        # One token more than asked for proves the last one asked for was not cut off by the stretch's edge.
        while len(found) <= depth and (lo > 0 if side == "L" else hi < len(body)):
            span *= 4
            lo, hi = (max(0, hi - span), hi) if side == "L" else (lo, lo + span)
            found = [t.text for t in tokens(body[lo:hi], fold=fold)]
        out.append(found[::-1][:depth] if side == "L" else found[:depth])
    return out


def _stretch(body: str, hit: Hit, side: str, span: int) -> tuple[int, int]:
    """The [lo, hi) of the `span` characters just left or right of a hit."""
    return (max(0, hit.start - span), hit.start) if side == "L" else (hit.end, min(len(body), hit.end + span))


def _stretch_tokens(body: str, stretches: list[tuple[int, int]], fold: Fold) -> list[list[str]]:
    """The token texts of each stretch of `body`, all laid out at once (one numpy pass, not one per hit)."""
    pieces = [body[lo:hi] for lo, hi in stretches]
    laid = layout("\0".join(pieces), "word", fold)  # NUL is punctuation: no token crosses from piece to piece
    bounds = np.cumsum([0] + [len(p) + 1 for p in pieces])
    at = np.searchsorted(laid.starts, bounds).tolist()
    texts = laid.texts()
    return [texts[at[i] : at[i + 1]] for i in range(len(pieces))]


def to_csv(lines: Iterable[KwicLine], file: str | os.PathLike[str] | IO[str]) -> None:
    """Write lines as CSV with a header row; a path is written as UTF-8 with a BOM, which Excel reads as UTF-8.

    Columns: text_id, title, author, start, end, left, match, right, then one per sort key (R1, L1 …).
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
        writer.writerow([*(getattr(line, column) for column in _COLUMNS), *line.keys.values()])
