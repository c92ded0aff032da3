"""BM25 over passages: a passage-level FTS5 index kept in step with the passages, and a question turned into its query.

The texts' own index (texts_fts) ranks whole texts; a citation needs the passage, so passages get an index of their
own, `passages_fts` (migration m009): each row is a passage's shadow (app/corpus/shadow.py: folded, each CJK
character a token), its rowid the passage's id. A trigger deletes a passage's row with the passage, so a text cut
again (a new body, a manuscript edited) never leaves stale rows; new passages are indexed on the next query that
needs them (`ensure_indexed`), since indexing them in the import would about double its time (2.7 s of CPU for
the passages of 20 MB against 2.6 s for the whole import) for a feature not every corpus uses. A new fold (a
variants.tsv edited) makes every row stale: the fold's signature is kept in the settings, and another one rebuilds
the index. The first query after an import indexes the new passages of every corpus, their shadows cut from each text's (2.7 s of CPU for
20 MB, where folding each passage on its own took 4.3 s); later queries find nothing to do in about a millisecond,
and BM25 then took 16-53 ms at 42,000 passages.

A question is not a search: "Who signed the letter?" as a search means all four words. `question_query` keeps its
content words, each as a prefix of its crudely stemmed form (leaving -> leav*, which finds leave and leaves), and
for CJK each character and each pair of neighbouring characters, all joined by OR; BM25 then weighs rare terms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from app.corpus.fold import Fold
from app.corpus.query import Operation, Phrase
from app.corpus.shadow import build_shadow, piece_shadows
from app.corpus.store import TextFilter, filter_sql, fold_of
from app.scripts import UNSPACED
from app.store.settings import get_setting, set_setting

FOLD_KEY = "passages_fts.fold"  # the fold the passage index was built with
_BATCH = 200  # texts indexed per transaction: a stop loses little
# Function words and question words: they are in every passage, or in none, and rank nothing.
STOPWORDS = frozenset("""a about after all also an and any are as at be been before being but by can could did do does
doing done for from had has have having he her here hers him his how i if in into is it its itself me my no nor not
of on once only or other our out over own said same say says she should so some such than that the their theirs them
then there these they this those through to too under until up upon us very was we were what when where which while
who whom whose why will with would you your""".split())
# Chinese question words and particles (folded, simplified): a question's scaffolding, not its subject.
CJK_STOP = frozenset("什么哪谁吗呢怎样的了首")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
MIN_STEM = 4  # a stem shorter than this would match too much as a prefix ("us*")
_CJK = re.compile(f"[{UNSPACED}]")


def question_terms(question: str, fold: Fold, pairs: bool = False) -> list[Phrase]:
    """A question's content terms: stemmed words as prefixes, CJK characters, and with `pairs` each two neighbouring
    CJK characters as a phrase too; each term once."""
    tokens = build_shadow(question, fold).text.split()
    terms: dict[str, Phrase] = {}
    for i, token in enumerate(tokens):
        if _CJK.fullmatch(token):
            if token in CJK_STOP:
                continue
            terms.setdefault(token, Phrase((token,)))
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            if pairs and _CJK.fullmatch(following) and following not in CJK_STOP:
                terms.setdefault(token + following, Phrase((token, following)))
        elif token not in STOPWORDS and (len(token) > 1 or token.isdigit()):
            stem = _stem(token)
            terms.setdefault(stem, Phrase((stem,), prefix=len(stem) >= MIN_STEM))
    return list(terms.values())


def question_query(question: str, fold: Fold) -> str | None:
    """The FTS5 MATCH expression that ranks passages for a question; None when it has no content word."""
    phrases = tuple(question_terms(question, fold, pairs=True))
    if not phrases:
        return None
    return phrases[0].to_match() if len(phrases) == 1 else Operation("OR", phrases).to_match()


@dataclass(frozen=True)
class Coverage:
    """How much of a question the best of some passages holds: its share of the question's IDF weight, and
    whether it holds a pair of the question's neighbouring CJK characters (a word of two, as 黄鹂 or 江陵)."""

    share: float
    pair: bool


def coverage(db: Database, question: str, passage_ids: list[int]) -> Coverage:
    """The most any one of the passages holds of a question's content terms, each weighted by its IDF.

    IDF is BM25's, ln(1 + (N - n + 0.5) / (n + 0.5)) for a term in n of all N passages, so a word the corpus has
    never seen weighs most: "How many moons has Jupiter?" finds "many" but holds little of the question.
    """
    fold = fold_of(db)
    words = question_terms(question, fold)
    pairs = [t for t in question_terms(question, fold, pairs=True) if len(t.tokens) == 2]
    total = db.execute("SELECT count(*) FROM passages_fts").fetchone()[0]
    weights = [_idf(db, term, total) for term in words]
    best, pair = 0.0, False
    for pid in passage_ids:
        held = sum(w for term, w in zip(words, weights) if _holds(db, pid, term))
        best = max(best, held / sum(weights) if weights else 0.0)
        pair = pair or any(_holds(db, pid, term) for term in pairs)
    return Coverage(best, pair)


def _idf(db: Database, term: Phrase, total: int) -> float:
    n = db.execute("SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?", [term.to_match()]).fetchone()[0]
    return math.log(1 + (total - n + 0.5) / (n + 0.5))


def _holds(db: Database, passage_id: int, term: Phrase) -> bool:
    sql = "SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? AND rowid = ?"
    return db.execute(sql, [term.to_match(), passage_id]).fetchone() is not None


def _stem(word: str) -> str:
    """A word without one common English ending, when what is left is long enough to stand as a prefix."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def ensure_indexed(db: Database) -> int:
    """Index every passage not in passages_fts yet (all corpora: the next query of any is then quick); rebuild all
    under a new fold. How many texts had passages indexed.

    The trigger keeps the index's rows a subset of the passages, so equal counts mean nothing is missing: that
    check is quick, where looking for missing rows cost 200-350 ms at 42,000 passages (20 MB).
    """
    fold = fold_of(db)
    if get_setting(db, FOLD_KEY) != fold.signature:
        with db.atomic():
            db.execute("DELETE FROM passages_fts")
            set_setting(db, FOLD_KEY, fold.signature)
    # FTS5's own shadow table of document sizes has a row per indexed passage and is small to count; count(*) on
    # passages_fts itself reads every stored shadow (150-220 ms at 20 MB).
    counts = db.execute("SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM passages_fts_docsize)").fetchone()
    if counts[0] == counts[1]:
        return 0
    sql = """SELECT DISTINCT passages.text_id FROM passages
             WHERE NOT EXISTS (SELECT 1 FROM passages_fts WHERE passages_fts.rowid = passages.id)"""
    text_ids = [row[0] for row in db.execute(sql)]
    for at in range(0, len(text_ids), _BATCH):
        with db.atomic():
            for text_id in text_ids[at : at + _BATCH]:
                _index_text(db, text_id, fold)
    return len(text_ids)


def _index_text(db: Database, text_id: int, fold: Fold) -> None:
    """Index every passage of one text that is not indexed yet, their shadows cut from the text's (piece_shadows)."""
    body = db.execute("SELECT body FROM texts WHERE id = ?", [text_id]).fetchone()[0]
    missing = db.execute(
        """SELECT id, start, "end" FROM passages WHERE text_id = ?
           AND NOT EXISTS (SELECT 1 FROM passages_fts WHERE passages_fts.rowid = passages.id)""", [text_id]).fetchall()
    shadows = piece_shadows(body, [(start, end) for _, start, end in missing], fold)
    db.conn.executemany("INSERT INTO passages_fts (rowid, shadow) VALUES (?, ?)", zip((m[0] for m in missing), shadows))


def bm25_passages(db: Database, question: str, corpus: int | None, filters: TextFilter | None,
                  limit: int) -> list[tuple[int, float]]:
    """The best `limit` passages for a question as (passage id, BM25 score: higher is better), best first."""
    match = question_query(question, fold_of(db))
    if match is None:
        return []
    where, params = filter_sql(corpus, filters)
    sql = f"""SELECT passages.id, bm25(passages_fts) AS score
              FROM passages_fts CROSS JOIN passages ON passages.id = passages_fts.rowid
              JOIN texts ON texts.id = passages.text_id
              WHERE passages_fts MATCH ? AND {where} ORDER BY score, passages.id LIMIT ?"""
    rows: list[Any] = db.execute(sql, [match, *params, limit]).fetchall()
    return [(int(pid), -float(score)) for pid, score in rows]  # FTS5's bm25() is negated: lower is better there
