"""Passages for a question: BM25 (app/corpus/passage_index.py), nearest vectors (app/corpus/vectors.py), or both fused.

Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) merges the two rankings by rank alone, so a
BM25 score and a cosine never need a common scale. A passage ranked r_m (1 = best) by method m scores

    RRF(p) = Σ_m 1 / (k + r_m(p)),   k = RRF_K = 60,

summed over the methods whose first DEPTH candidates hold it; ties go to the better BM25 rank, then the lower id.
k = 60 is the paper's constant: a large k flattens the head of each list, so a passage both methods rank fairly
high beats one that a single method ranks first. `scriptorium bench retrieval` measured k = 10, 30, 60 and 100 on
its question set (the README gives the figures).

Hybrid needs the corpus's passages embedded by the query's embedder; when none are, it runs BM25 alone and says so
in `Retrieval.note`, as it does when only some are. It also runs BM25 alone for a question in Chinese or Japanese
when the embedder reads English only (the embedded all-MiniLM-L6-v2): its vectors of Chinese text are near one
another whatever they say, and fused with them the Chinese questions of the benchmark lost a fifth of their
recall@5. Asked for explicitly, vector mode still runs, with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
import re
from typing import Any

from sqlite_utils import Database

from app.corpus.passage_index import bm25_passages, ensure_indexed
from app.corpus.passages import ensure_passages, get_passages
from app.corpus.search import MANUSCRIPT, sync_manuscript
from app.corpus.store import TextFilter, filter_sql, resolve_corpus
from app.corpus.vectors import EmbedderUse, QueryVector, embedders_of, nearest
from app.errors import UserError
from app.scripts import UNSPACED
from inference.embedders import DEFAULT_EMBEDDER

MODES = ("bm25", "vector", "hybrid")
ENGLISH_ONLY = frozenset({DEFAULT_EMBEDDER})  # embedders whose vectors of CJK text rank nothing (see above)
RRF_K = 60
_CJK = re.compile(f"[{UNSPACED}]")
DEPTH = 50  # candidates each method hands to the fusion: far more than are shown, few enough to cost nothing


@dataclass(frozen=True)
class Found:
    """A retrieved passage: [start, end) of its text's body, its text, and what each method made of it."""

    passage_id: int
    text_id: int
    start: int
    end: int
    title: str
    text: str
    score: float  # what ranked it: the fused RRF score, or the one method's own (BM25, cosine)
    bm25: float | None = None  # BM25 score (higher is better) when BM25 found it among its first DEPTH
    bm25_rank: int | None = None
    cosine: float | None = None
    vector_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


@dataclass(frozen=True)
class Retrieval:
    """The passages found for a query, best first, by the mode that ran (hybrid may have fallen back to BM25)."""

    query: str
    asked: str  # the mode asked for
    mode: str  # the mode that ran
    passages: list[Found]
    note: str = ""  # why the mode that ran is not the one asked for, or what it could not cover

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of rankings (ids, best first) as (id, score), best first; ties to the earlier lists' ranks."""
    scores: dict[int, float] = {}
    places = [{item: rank for rank, item in enumerate(ranking, 1)} for ranking in rankings]
    for place in places:
        for item, rank in place.items():
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    tie = {item: tuple(place.get(item, len(place) + 1) for place in places) for item in scores}
    return sorted(scores.items(), key=lambda pair: (-pair[1], tie[pair[0]], pair[0]))


def retrieve(db: Database, query: str, corpus: str | int | None = None, mode: str = "hybrid", k: int = 5,
             filters: TextFilter | None = None, query_vector: QueryVector | None = None, rrf_k: int = RRF_K) -> Retrieval:
    """The best `k` passages of a corpus (None: all) for `query` by `mode`; UserError for a mode that cannot run.

    The vector side needs `query_vector`, the query embedded by the embedder of the corpus's vectors
    (`query_embedder` names it; vectors.embed_query or the worker's `embed` op makes it).
    """
    if mode not in MODES:
        raise UserError(f"Unknown search mode {mode!r}; choose {', '.join(MODES)}.")
    if not query.strip():
        raise UserError("Type a question or a passage to search for.")
    if corpus == MANUSCRIPT:
        sync_manuscript(db)  # the writer asks of the documents as they are now (unchanged ones cost a hash each)
    cid = resolve_corpus(db, corpus)
    ensure_passages(db, cid)
    ensure_indexed(db)
    vectors_ok, note = _vector_side(db, query, cid, filters, query_vector, mode)
    if mode == "vector" and not vectors_ok:
        raise UserError(note)
    ran = mode if vectors_ok else "bm25"
    bm25 = bm25_passages(db, query, cid, filters, DEPTH) if ran != "vector" else []
    vectors = nearest(db, query_vector.vector, cid, query_vector.sha256, DEPTH, filters) if ran != "bm25" else []  # type: ignore[union-attr]
    ranked = _rank(ran, bm25, vectors, rrf_k)[:k]
    return Retrieval(query, mode, ran, _found(db, ranked, bm25, vectors), note)


def query_embedder(db: Database, corpus: str | int | None = None) -> EmbedderUse | None:
    """The embedder whose vectors cover most of a corpus's passages (None: it has no vectors): the query's embedder."""
    if corpus == MANUSCRIPT:
        sync_manuscript(db)  # it may not exist yet, and should be as the documents are now
    uses = embedders_of(db, corpus)
    return uses[0] if uses else None


def _vector_side(db: Database, query: str, corpus: int | None, filters: TextFilter | None,
                 query_vector: QueryVector | None, mode: str) -> tuple[bool, str]:
    """Whether vectors are searched, and a note when they are not (or cover only part of the corpus, or read
    English only and the query is not)."""
    if mode == "bm25":
        return False, ""
    embedded, total = embedding_coverage(db, corpus, filters, query_vector.sha256) if query_vector else (0, 0)
    if not embedded or query_vector is None:
        return False, "No embeddings for this corpus yet: BM25 only (`scriptorium corpus embed` makes them)."
    if _CJK.search(query) and query_vector.model in ENGLISH_ONLY:
        if mode == "vector":
            return True, f"{query_vector.model} reads English only: its ranking of this question means little."
        return False, f"{query_vector.model} reads English only: BM25 alone for this question."
    if embedded < total:
        return True, f"Only {embedded:,} of {total:,} passages are embedded; vectors search those."
    return True, ""


def embedding_coverage(db: Database, corpus: int | None, filters: TextFilter | None, sha256: str) -> tuple[int, int]:
    """(passages with a vector of this embedder, passages) among the texts in scope."""
    where, params = filter_sql(corpus, filters)
    row = db.execute(
        f"""SELECT count(embeddings.passage_id), count(*) FROM passages JOIN texts ON texts.id = passages.text_id
            LEFT JOIN embeddings ON embeddings.passage_id = passages.id AND embeddings.model_sha256 = ?
            WHERE {where}""", [sha256, *params]).fetchone()
    return int(row[0]), int(row[1])


def _rank(mode: str, bm25: list[tuple[int, float]], vectors: list[tuple[int, float]], rrf_k: int) -> list[tuple[int, float]]:
    """(passage id, score) best first: one method's own list, or the two fused."""
    if mode == "bm25":
        return bm25
    if mode == "vector":
        return vectors
    return rrf([[pid for pid, _ in bm25], [pid for pid, _ in vectors]], rrf_k)


def _found(db: Database, ranked: list[tuple[int, float]], bm25: list[tuple[int, float]],
           vectors: list[tuple[int, float]]) -> list[Found]:
    """The ranked passages with their texts, titles and each method's rank and score."""
    by_bm25 = {pid: (rank, score) for rank, (pid, score) in enumerate(bm25, 1)}
    by_vector = {pid: (rank, score) for rank, (pid, score) in enumerate(vectors, 1)}
    ids = [pid for pid, _ in ranked]
    titles, passages = _titles(db, ids), {p.id: p for p in get_passages(db, ids)}
    out = []
    for pid, score in ranked:
        passage = passages[pid]  # the ids come from this transaction's reads: every one is there
        b, v = by_bm25.get(pid, (None, None)), by_vector.get(pid, (None, None))
        out.append(Found(pid, passage.text_id, passage.start, passage.end, titles.get(pid, ""), passage.text, score,
                         b[1], b[0], v[1], v[0]))
    return out


def _titles(db: Database, passage_ids: list[int]) -> dict[int, str]:
    ids = "[" + ",".join(str(int(i)) for i in passage_ids) + "]"
    return dict(db.execute("""SELECT passages.id, texts.title FROM passages JOIN texts ON texts.id = passages.text_id
                              WHERE passages.id IN (SELECT value FROM json_each(?))""", [ids]).fetchall())
