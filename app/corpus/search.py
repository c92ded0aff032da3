"""Full-text search of the corpora: a page of matching texts with snippets, every occurrence for the concordance, the manuscript mirrored in.

Ranking plan (the p95 <= 50 ms target at 100 MB): BM25 scores every matching text, which costs ~280 ms for a
character found in every text, while the count and the first page in text order cost a few milliseconds. So a
search first counts its matching texts up to RANK_LIMIT + 1 and ranks them by BM25 only when there are at most
RANK_LIMIT; past that, it counts them all and lists them in document order, and says so (`SearchPage.ranked` is
False), as a concordance would. Offsets are exact offsets of the original body, found as app/corpus/occurrences.py
explains.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from sqlite_utils import Database

from app.corpus.occurrences import Span, first_spans, occurrences
from app.corpus.query import Phrase, parse, phrases
from app.corpus.records import Hit, TextRecord
from app.corpus.store import (
    TextFilter, add_text, content_hash, corpus_id, delete_text, filter_sql, fold_of, replace_text, resolve_corpus,
    text_hashes,
)
from app.errors import UserError
from inference import sqlfile

# On the 100 MB sample (2 busy cores), BM25 over a character's first 1,000 texts took 13-25 ms, over all its
# 6,234 texts 40-100 ms; past RANK_LIMIT the page is in text order.
RANK_LIMIT = 1000
SNIPPET_CONTEXT = 40  # characters of the original on each side of a match
MARKS = ("«", "»")  # around the match in a snippet; the parts are also given apart in Hit.extra
MANUSCRIPT = "Manuscript"
_TITLES = 500  # titles read at a time while hits stream out
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
    joined = _matching(where)
    # Counting stops past RANK_LIMIT: a broad query costs no more than that many texts' worth of index here.
    first = _execute(db, f"SELECT count(*) FROM (SELECT texts.id {joined} LIMIT {RANK_LIMIT + 1})", [match, *params])
    ranked = first[0][0] <= RANK_LIMIT
    if ranked:
        total = first[0][0]
        sql = f"SELECT texts.id, bm25(texts_fts) AS score {joined} ORDER BY score, texts.id LIMIT ? OFFSET ?"
    else:
        total = _count(db, match, where, params)
        sql = f"SELECT texts.id, 0.0 {joined} ORDER BY texts_fts.rowid LIMIT ? OFFSET ?"
    rows = _execute(db, sql, [match, *params, limit, offset])
    firsts = first_spans(db, [row[0] for row in rows], phrases(parsed))
    hits = [_hit(db, text_id, score, *firsts.get(text_id, (0, 0))) for text_id, score in rows]
    return SearchPage(query, total, hits, ranked, offset, limit)


def find_all(db: Database, query: str, corpus: str | int | None = None, filters: TextFilter | None = None,
             limit: int | None = None) -> Iterator[Hit]:
    """Every occurrence of the query's phrases in the texts it matches, in text order then offset order.

    Occurrences of one phrase do not overlap (as str.count counts); those of different phrases (a OR b) may.
    """
    matching, spans = _spans(db, query, corpus, filters)
    titles = _Titles(db, matching)
    for text_id, start, end in itertools.islice(spans, limit):
        yield Hit(text_id, start, end, title=titles[text_id])


def find_spans(db: Database, query: str, corpus: str | int | None = None, filters: TextFilter | None = None,
               limit: int | None = None) -> Iterator[Span]:
    """The (text id, start, end) of find_all's hits, without their titles (a concordance reads them with the texts)."""
    return itertools.islice(_spans(db, query, corpus, filters)[1], limit)


def _spans(db: Database, query: str, corpus: str | int | None, filters: TextFilter | None) -> tuple[list[int], Iterator[Span]]:
    """The ids of the texts a query matches, in id order, and its occurrences in them."""
    parsed = parse(query, fold_of(db))
    match, (where, params) = parsed.to_match(), filter_sql(resolve_corpus(db, corpus), filters)
    sql = f"SELECT texts.id {_matching(where)} ORDER BY texts_fts.rowid"
    matching = [row[0] for row in _execute(db, sql, [match, *params])]
    # A lone phrase with no filter needs no list of texts: every text where the index has it matches.
    texts = None if isinstance(parsed, Phrase) and where == "1 = 1" else matching
    return matching, occurrences(db, phrases(parsed), texts, matching)


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


def drop_mirror(db: Database, doc_id: int) -> bool:
    """Delete a document's text from the Manuscript corpus now (a purge cannot wait for the next sync); whether it had one."""
    row = db.execute(
        "SELECT texts.id FROM texts JOIN corpora ON corpora.id = texts.corpus_id WHERE corpora.name = ? AND texts.source_path = ?",
        [MANUSCRIPT, document_source(doc_id)]).fetchone()
    if row:
        delete_text(db, row[0])
    return row is not None


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
    if content_hash(record.body) in text_hashes(db, cid):
        delete_text(db, text_id)  # now the same text as another document's, which stands for both
    else:
        replace_text(db, text_id, record)
    return 1


def _count(db: Database, match: str, where: str, params: list[Any]) -> int:
    """How many texts match; without a filter the index counts alone, several times faster than through the join."""
    if where == "1 = 1":
        return _execute(db, "SELECT count(*) FROM texts_fts WHERE texts_fts MATCH ?", [match])[0][0]
    return _execute(db, f"SELECT count(*) {_matching(where)}", [match, *params])[0][0]


def _matching(where: str) -> str:
    """FROM and WHERE of the texts that match (the MATCH parameter first) and meet a filter_sql fragment.

    CROSS JOIN keeps the index as the outer loop: with a plain join SQLite may walk a corpus's texts and run
    the MATCH once for each of them.
    """
    return f"FROM texts_fts CROSS JOIN texts ON texts.id = texts_fts.rowid WHERE texts_fts MATCH ? AND {where}"


def _execute(db: Database, sql: str, params: list[Any]) -> list[tuple]:
    """Run a MATCH query; an expression FTS5 refuses (the query parser should let none through) is a UserError."""
    try:
        return db.execute(sql, params).fetchall()
    except sqlfile.OPERATIONAL_ERRORS as exc:
        if "fts5" not in str(exc) and "MATCH" not in str(exc):
            raise
        raise UserError(f"The search cannot be run ({exc}); simplify it or quote its words.") from exc


def _hit(db: Database, text_id: int, score: float, start: int, end: int) -> Hit:
    """A hit with `extra`: snippet (the match between MARKS, whitespace runs as one space), left, match, right,
    author and date; cut from the original body in SQL, so a long text is never read whole."""
    lo = max(0, start - SNIPPET_CONTEXT)
    left, middle, right, chars, title, author, date = db.execute(
        """SELECT substr(body, ?, ?), substr(body, ?, ?), substr(body, ?, ?), chars, title, author, date
           FROM texts WHERE id = ?""",
        [lo + 1, start - lo, start + 1, end - start, end + 1, SNIPPET_CONTEXT, text_id],
    ).fetchone()
    left, right = _SPACES.sub(" ", left), _SPACES.sub(" ", right)
    more = "…" if end + SNIPPET_CONTEXT < chars else ""
    snippet = ("…" if lo else "") + left + MARKS[0] + middle + MARKS[1] + right + more
    extra = {"snippet": snippet, "left": left, "match": middle, "right": right, "author": author, "date": date}
    return Hit(text_id, start, end, title=title, score=-float(score), extra=extra)


class _Titles:
    """The titles of the matching texts, read a batch at a time as hits reach them."""

    def __init__(self, db: Database, text_ids: list[int]) -> None:
        self.db, self.text_ids, self.known = db, text_ids, {}

    def __getitem__(self, text_id: int) -> str:
        if text_id not in self.known:
            at = bisect.bisect_left(self.text_ids, text_id)
            batch = "[" + ",".join(map(str, self.text_ids[at:at + _TITLES])) + "]"
            self.known.update(self.db.execute(
                "SELECT id, title FROM texts WHERE id IN (SELECT value FROM json_each(?))", [batch]).fetchall())
        return self.known.get(text_id, "")
