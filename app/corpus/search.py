"""Full-text search of the corpora: a page of matching texts with snippets, every occurrence for the concordance, the manuscript mirrored in.

Ranking plan (the p95 <= 50 ms target at 100 MB): BM25 scores every matching text, which costs ~280 ms for a
character found in every text, while the count and the first page in text order cost a few milliseconds. So a
search counts its matching texts first and ranks them by BM25 only when there are at most RANK_LIMIT of them;
past that, the page lists texts in document order and says so (`SearchPage.ranked` is False), as a concordance
would. Offsets come from the shadow (app/corpus/shadow.py): matches are found in the stored shadow of each text
and mapped back through its position map, so [start, end) are exact offsets of the original body.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import numpy as np
from sqlite_utils import Database

from app.corpus.query import Phrase, parse, phrases
from app.corpus.records import Hit, TextRecord
from app.corpus.shadow import unpack_starts
from app.corpus.store import (
    TextFilter, add_text, content_hash, corpus_id, delete_text, filter_sql, fold_of, replace_text, resolve_corpus,
    text_hashes,
)
from app.errors import UserError

# Ranking 1,000 matching texts costs a few milliseconds on the 100 MB sample; 20,000 would cost ~250 ms.
RANK_LIMIT = 1000
SNIPPET_CONTEXT = 40  # characters of the original on each side of a match
MARKS = ("«", "»")  # around the match in a snippet; the parts are also given apart in Hit.extra
MANUSCRIPT = "Manuscript"
_BATCH = 100  # texts whose shadows are read per query while finding every occurrence
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchPage:
    """One page of a search: `total` matching texts, and a hit (the first match) for each text on the page."""

    query: str
    total: int
    hits: list[Hit]
    ranked: bool  # True: best BM25 score first; False: text order, because more than RANK_LIMIT texts matched
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def search(db: Database, query: str, corpus: str | int | None = None, filters: TextFilter | None = None,
           limit: int = 20, offset: int = 0) -> SearchPage:
    """Texts matching `query`, a page at a time, each with its first match and a snippet of the original around it."""
    parsed = parse(query, fold_of(db))
    match, (where, params) = parsed.to_match(), filter_sql(resolve_corpus(db, corpus), filters)
    total = _count(db, match, where, params)
    ranked = total <= RANK_LIMIT
    score, order = ("bm25(texts_fts)", "score, texts.id") if ranked else ("0.0", "texts.id")
    rows = _execute(
        db,
        f"""SELECT texts.id, texts.title, {score} AS score FROM texts_fts
            CROSS JOIN texts ON texts.id = texts_fts.rowid
            WHERE texts_fts MATCH ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?""",
        [match, *params, limit, offset],
    )
    wanted = phrases(parsed)
    firsts = {text_id: next(iter(spans), (0, 0)) for text_id, spans in _spans_of(db, [r[0] for r in rows], wanted)}
    hits = [_hit(db, text_id, title, score, *firsts.get(text_id, (0, 0))) for text_id, title, score in rows]
    return SearchPage(query, total, hits, ranked, offset, limit)


def find_all(db: Database, query: str, corpus: str | int | None = None, filters: TextFilter | None = None,
             limit: int | None = None) -> Iterator[Hit]:
    """Every occurrence of the query's phrases in the texts it matches, in text order then offset order.

    Occurrences of one phrase do not overlap (as str.count counts); those of different phrases (a OR b) may.
    """
    parsed = parse(query, fold_of(db))
    match, (where, params) = parsed.to_match(), filter_sql(resolve_corpus(db, corpus), filters)
    wanted, last, found = phrases(parsed), 0, 0
    while limit is None or found < limit:
        rows = _execute(
            db,
            f"""SELECT texts.id, texts.title FROM texts_fts CROSS JOIN texts ON texts.id = texts_fts.rowid
                WHERE texts_fts MATCH ? AND {where} AND texts_fts.rowid > ? ORDER BY texts_fts.rowid LIMIT {_BATCH}""",
            [match, *params, last],
        )
        titles = dict(rows)
        for text_id, spans in _spans_of(db, list(titles), wanted):
            for start, end in spans:
                yield Hit(text_id, start, end, title=titles[text_id])
                found += 1
                if limit is not None and found >= limit:
                    return
        if len(rows) < _BATCH:
            return
        last = rows[-1][0]


def sync_manuscript(db: Database) -> int:
    """Mirror the writer's documents (not trashed) into the corpus "Manuscript"; how many texts were added, changed or removed."""
    cid = corpus_id(db, MANUSCRIPT)
    held = {row[0]: (row[1], row[2]) for row in db.execute(
        "SELECT source_path, id, content_hash FROM texts WHERE corpus_id = ?", [cid])}
    documents = db.execute("SELECT id, title, body, format, updated FROM documents WHERE trashed_at IS NULL").fetchall()
    changed, current = 0, set()
    with db.atomic():
        for doc_id, title, body, format, updated in documents:
            source = document_source(doc_id)
            current.add(source)
            record = TextRecord(title=title, body=body, date=updated[:10], source_path=source, format=format)
            changed += _sync_document(db, cid, held.get(source), record)
        for source, (text_id, _) in held.items():
            if source not in current:
                delete_text(db, text_id)
                changed += 1
    return changed


def document_source(doc_id: int) -> str:
    """The source_path of a document's text in the Manuscript corpus."""
    return f"doc:{int(doc_id)}"


def _sync_document(db: Database, cid: int, held: tuple[int, str] | None, record: TextRecord) -> int:
    """Bring one document's text up to date; 1 if anything was written (the title alone is always refreshed)."""
    if held is None:
        return int(add_text(db, cid, record) is not None)  # None: another document has the same text
    text_id, digest = held
    if digest == content_hash(record.body):
        db.execute("UPDATE texts SET title = ?, date = ? WHERE id = ?", [record.title, record.date, text_id])
        return 0
    if text_hashes(db, cid) & {content_hash(record.body)}:
        delete_text(db, text_id)  # now the same text as another document's, which stands for both
    else:
        replace_text(db, text_id, record)
    return 1


def _count(db: Database, match: str, where: str, params: list[Any]) -> int:
    if where == "1 = 1":  # no corpus or metadata filter: the index alone counts
        return _execute(db, "SELECT count(*) FROM texts_fts WHERE texts_fts MATCH ?", [match])[0][0]
    sql = f"""SELECT count(*) FROM texts_fts CROSS JOIN texts ON texts.id = texts_fts.rowid
              WHERE texts_fts MATCH ? AND {where}"""
    return _execute(db, sql, [match, *params])[0][0]


def _execute(db: Database, sql: str, params: list[Any]) -> list[tuple]:
    """Run a MATCH query; an expression FTS5 refuses (the query parser should let none through) is a UserError."""
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "fts5" not in str(exc) and "MATCH" not in str(exc):
            raise
        raise UserError(f"The search cannot be run ({exc}); simplify it or quote its words.") from exc


def _spans_of(db: Database, text_ids: list[int], wanted: list[Phrase]) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """For each text, in the order given, the sorted [start, end) offsets of every occurrence of the phrases."""
    if not text_ids:
        return
    ids = "[" + ",".join(str(i) for i in text_ids) + "]"
    rows = db.execute(
        "SELECT text_id, shadow, positions FROM text_shadows WHERE text_id IN (SELECT value FROM json_each(?))", [ids]
    ).fetchall()
    shadows = {text_id: (shadow, positions) for text_id, shadow, positions in rows}
    for text_id in text_ids:
        if text_id in shadows:
            shadow, positions = shadows[text_id]
            yield text_id, locate(shadow, unpack_starts(positions), wanted)


def locate(shadow: str, starts: np.ndarray, wanted: list[Phrase]) -> list[tuple[int, int]]:
    """The original [start, end) of each occurrence of the phrases in a shadow whose tokens start at `starts`."""
    spans = set()
    for phrase in wanted:
        first, counted = 0, 0  # the token index at shadow offset `counted`, advanced match by match
        for at, length in _occurrences(shadow, phrase):
            first, counted = first + shadow.count(" ", counted, at), at
            tail = shadow.rfind(" ", at, at + length) + 1 or at  # where the phrase's last token begins
            last = first + len(phrase.tokens) - 1
            spans.add((int(starts[first]), int(starts[last]) + at + length - tail))
    return sorted(spans)


def _occurrences(shadow: str, phrase: Phrase) -> Iterator[tuple[int, int]]:
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


def _hit(db: Database, text_id: int, title: str, score: float, start: int, end: int) -> Hit:
    """A hit with its snippet, cut from the original body in SQL so a long text is never read whole."""
    lo = max(0, start - SNIPPET_CONTEXT)
    left, middle, right, chars, author, date = db.execute(
        "SELECT substr(body, ?, ?), substr(body, ?, ?), substr(body, ?, ?), chars, author, date FROM texts WHERE id = ?",
        [lo + 1, start - lo, start + 1, end - start, end + 1, SNIPPET_CONTEXT, text_id],
    ).fetchone()
    left, right = _SPACES.sub(" ", left), _SPACES.sub(" ", right)
    more = "…" if end + SNIPPET_CONTEXT < chars else ""
    snippet = ("…" if lo else "") + left + MARKS[0] + middle + MARKS[1] + right + more
    extra = {"snippet": snippet, "left": left, "match": middle, "right": right, "author": author, "date": date}
    return Hit(text_id, start, end, title=title, score=-float(score), extra=extra)
