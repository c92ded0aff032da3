"""Where a query's phrases occur, as exact [start, end) offsets of original bodies: from the index's own positions, or from the shadows.

A one-token phrase (a word, a CJK character, a prefix) is read from the FTS5 index through an fts5vocab
"instance" table, which lists every (text, token position) of a term without reading any text: 10,000
occurrences of a character spread over 4,000 texts take ~10 ms, where reading those texts' shadows took ~1 s.
A longer phrase is found in the shadows of the texts that the index says contain it, with str.find. Either way a
token position becomes offsets through the text's position map (app/corpus/shadow.py), and a token's length in
the original is its length in the shadow (the fold is 1:1). Occurrences of one phrase never overlap, as
str.count counts them.
"""

from __future__ import annotations

import heapq
import itertools
import json
from typing import Iterable, Iterator

import numpy as np
from sqlite_utils import Database

from app.corpus.query import Phrase
from app.corpus.shadow import unpack_starts

Span = tuple[int, int, int]  # text id, start, end
_CHUNK = 5000  # index positions fetched at a time: the first hits come at once, memory stays bounded
_BATCH = 100  # texts whose shadows are read per query
_INSTANCES = "temp.texts_fts_instances"


def occurrences(db: Database, wanted: list[Phrase], texts: list[int] | None, matching: Iterable[int]) -> Iterator[Span]:
    """Every occurrence of the phrases, in text then offset order; `texts` limits them (None: any text).

    `matching` lists, in id order, the texts that contain the longer phrases (the query's own matches).
    """
    streams = [_token_spans(db, p, texts) if len(p.tokens) == 1 else _phrase_spans(db, p, matching) for p in wanted]
    previous = None
    for span in heapq.merge(*streams) if len(streams) > 1 else streams[0]:
        if span != previous:  # two phrases of an OR may find the same span
            yield span
            previous = span


def first_spans(db: Database, text_ids: list[int], wanted: list[Phrase]) -> dict[int, tuple[int, int]]:
    """The (start, end) of the first occurrence of any of the phrases in each of a few texts, read from their shadows."""
    found = {}
    for text_id, shadow, starts in _shadows(db, text_ids):
        firsts = [span for phrase in wanted for span in itertools.islice(locate(shadow, starts, phrase), 1)]
        if firsts:
            found[text_id] = min(firsts)
    return found


def locate(shadow: str, starts: np.ndarray, phrase: Phrase) -> Iterator[tuple[int, int]]:
    """The original (start, end) of each occurrence of a phrase in a shadow whose tokens start at `starts`."""
    first, counted = 0, 0  # the token index at shadow offset `counted`, advanced match by match
    for at, length in _find(shadow, phrase):
        first, counted = first + shadow.count(" ", counted, at), at
        tail = shadow.rfind(" ", at, at + length) + 1 or at  # where the phrase's last token begins
        last = first + len(phrase.tokens) - 1
        yield int(starts[first]), int(starts[last]) + at + length - tail


def _find(shadow: str, phrase: Phrase) -> Iterator[tuple[int, int]]:
    """(offset, length) in the shadow of each non-overlapping occurrence of a phrase, on token boundaries."""
    needle = " ".join(phrase.tokens)
    at = shadow.find(needle)
    while at >= 0:
        end = at + len(needle)
        if phrase.prefix:
            space = shadow.find(" ", end)
            end = len(shadow) if space < 0 else space
        if (at == 0 or shadow[at - 1] == " ") and (end == len(shadow) or shadow[end] == " "):
            yield at, end - at
            at = shadow.find(needle, end)
        else:
            at = shadow.find(needle, at + 1)


def _token_spans(db: Database, phrase: Phrase, texts: list[int] | None) -> Iterator[Span]:
    """Occurrences of a one-token phrase, from the index's positions."""
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_INSTANCES} USING fts5vocab(main, 'texts_fts', 'instance')")
    token = phrase.tokens[0]
    where, params = ("term >= ? AND term < ?", [token, token + "\U0010ffff"]) if phrase.prefix else ("term = ?", [token])
    if texts is not None:
        where += " AND doc IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(texts))
    # One term's instances come in (doc, offset) order; the terms of a prefix must be merged by sorting.
    order = " ORDER BY doc, offset" if phrase.prefix else ""
    cursor = db.execute(f"SELECT doc, offset, length(term) FROM {_INSTANCES} WHERE {where}{order}", params)
    while rows := cursor.fetchmany(_CHUNK):
        maps = _position_maps(db, rows)
        for doc, offset, length in rows:
            start = int(maps[doc][offset])
            yield doc, start, start + length


def _phrase_spans(db: Database, phrase: Phrase, matching: Iterable[int]) -> Iterator[Span]:
    """Occurrences of a longer phrase, found in the shadows of the texts that contain it."""
    batch: list[int] = []
    for text_id in [*matching, None]:
        if text_id is not None:
            batch.append(text_id)
        if batch and (text_id is None or len(batch) == _BATCH):
            for found_id, shadow, starts in _shadows(db, batch):
                yield from ((found_id, start, end) for start, end in locate(shadow, starts, phrase))
            batch = []


def _shadows(db: Database, text_ids: list[int]) -> Iterator[tuple[int, str, np.ndarray]]:
    """(text id, shadow, token starts) of each of the texts, in the order given."""
    by_id = {text_id: (shadow, positions) for text_id, positions, shadow in _read(db, "positions, shadow", text_ids)}
    for text_id in text_ids:
        if text_id in by_id:
            shadow, positions = by_id[text_id]
            yield text_id, shadow, unpack_starts(positions)


def _position_maps(db: Database, instances: list[tuple[int, int, int]]) -> dict[int, np.ndarray]:
    """The token starts of the texts of some (text, token, length) instances, decoded as far as they need."""
    upto: dict[int, int] = {}
    for doc, offset, _ in instances:
        upto[doc] = max(offset, upto.get(doc, 0))
    return {text_id: unpack_starts(positions, upto[text_id]) for text_id, positions in _read(db, "positions", list(upto))}


def _read(db: Database, columns: str, text_ids: list[int]) -> list[tuple]:
    """(text_id, *columns) of text_shadows for some texts, in no particular order (`columns` is a literal)."""
    sql = f"SELECT text_id, {columns} FROM text_shadows WHERE text_id IN (SELECT value FROM json_each(?))"
    return db.execute(sql, [json.dumps(text_ids)]).fetchall()
