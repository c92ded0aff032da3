"""Passage vectors: embed a corpus through the worker (resumable, a committed batch at a time), embed a query, and
find the passages nearest to a vector.

Embedding is keyed by the embedder's checksum: a run embeds only the passages that have no vector from that
embedder, BATCH at a time, each batch committed with its vectors, so a run that is stopped or killed continues
where it left off and a new embedder adds its own rows beside the old ones. Requests go to the worker as
background work, so a desktop request sharing the worker runs between two batches.

`nearest` is brute force: the vectors of the corpus (and filters) are read in chunks of CHUNK rows and scored by
one matrix product each, keeping the best k. Measured on 2 cores shared with other work (load 9-11): 10,000
MiniLM vectors in 160-225 ms, 100,000 (150 MB of blobs) in 1.5-1.7 s, of which SQLite's reading is 0.67 s and
numpy 0.2-0.4 s; a corpus of novels (a few thousand passages) answers in tens of milliseconds. MiniLM embedded
the bundled English sample at 7-9 passages/s (112 tokens a passage), as fast as sentence-transformers on the
same passages and thread (7-10/s, the spread being the load).
"""

from __future__ import annotations

import queue
import threading
import time
from contextlib import closing, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from sqlite_utils import Database

from app.corpus.passages import ensure_passages
from app.corpus.store import TextFilter, filter_sql, resolve_corpus
from app.errors import UserError
from app.store import open_db
from app.store.db import now_iso
from inference.client import WorkerClient
from inference.embedders import DEFAULT_EMBEDDER, decode_vectors
from inference.protocol import BACKGROUND, INTERACTIVE, Done, Error, ErrorCode, WorkerError

BATCH = 64  # passages per embed request and per transaction: a kill loses at most this many
CHUNK = 8192  # vectors scored at a time by nearest: 12 MB of MiniLM vectors, bounded memory at any corpus size
EMBED_CLIENT = "corpus-embed"  # the worker takes turns between background clients by this name
ProgressFn = Callable[[int, int], None]  # (passages with vectors, passages in all)


@dataclass(frozen=True)
class EmbedReport:
    """What an embed run did: the embedder, how many passages there are, how many it embedded, how fast."""

    model: str
    sha256: str
    dim: int
    passages: int  # in the corpus (or all corpora)
    embedded: int  # by this run
    already: int  # had a vector from this embedder before the run
    seconds: float
    cancelled: bool

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self) | {"per_second": round(self.per_second, 1)}


@dataclass(frozen=True)
class EmbedderUse:
    """An embedder that has vectors in a corpus: its identity, its size and how many passages it covers."""

    sha256: str
    name: str
    dim: int
    passages: int


@dataclass(frozen=True)
class QueryVector:
    """A query's vector and the embedder that made it (nearest() needs the same embedder's checksum)."""

    vector: np.ndarray
    model: str
    sha256: str


def embed_corpus(home: Path, corpus: str | int | None = None, model: str | None = None, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None, client: WorkerClient | None = None, batch: int = BATCH) -> EmbedReport:
    """Give every passage of a corpus (None: of all) a vector from `model` (None: all-MiniLM-L6-v2), resumably.

    A worker is started for the run unless `client` is given; a set `cancel` stops it within a batch.
    """
    cancel = cancel or threading.Event()
    with closing(open_db(home)) as db, _worker(client, home) as worker:
        cid = resolve_corpus(db, corpus)
        ensure_passages(db, cid)
        described = _embed(worker, {"texts": [], **_model(model)}, cancel)  # loads the embedder: its checksum
        if described is None:
            return EmbedReport(model or DEFAULT_EMBEDDER, "", 0, 0, 0, 0, 0.0, cancelled=True)
        info = described["model"]
        register_embedder(db, info)
        total, already = _counts(db, cid, info["sha256"])
        t0, done, last = time.perf_counter(), 0, 0
        if progress:
            progress(already, total)
        while not cancel.is_set() and (rows := _missing(db, cid, info["sha256"], last, batch)):
            result = _embed(worker, {"texts": [text for _, text in rows], **_model(model)}, cancel)
            if result is None:
                break
            store_vectors(db, info["sha256"], [pid for pid, _ in rows], decode_vectors(result))
            done, last = done + len(rows), rows[-1][0]
            if progress:
                progress(already + done, total)
        seconds = time.perf_counter() - t0
    return EmbedReport(info["name"], info["sha256"], info["dim"], total, done, already, round(seconds, 3), cancel.is_set())


def embed_query(text: str, model: str | None = None, client: WorkerClient | None = None, home: Path | None = None) -> QueryVector:
    """A query's vector through the worker (`client`, or one started for it in `home`), as an interactive request."""
    with _worker(client, home) as worker:
        result = _embed(worker, {"texts": [text], **_model(model)}, threading.Event(), priority=INTERACTIVE)
    return QueryVector(decode_vectors(result)[0], result["model"]["name"], result["model"]["sha256"])


def nearest(db: Database, query_vector: np.ndarray, corpus: str | int | None, model_checksum: str, k: int = 10,
            filters: TextFilter | None = None) -> list[tuple[int, float]]:
    """The k passages whose vectors from this embedder are nearest the query: (passage id, cosine), best first."""
    where, params = filter_sql(resolve_corpus(db, corpus), filters)
    q = np.asarray(query_vector, dtype=np.float32).ravel()
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    cursor = db.execute(
        f"""SELECT embeddings.passage_id, embeddings.vector FROM texts
            JOIN passages ON passages.text_id = texts.id
            JOIN embeddings ON embeddings.passage_id = passages.id AND embeddings.model_sha256 = ?
            WHERE {where}""", [model_checksum, *params])
    ids, scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    while rows := cursor.fetchmany(CHUNK):
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        if matrix.shape[1] != len(q):
            raise UserError(f"The query has {len(q)} dimensions but these vectors have {matrix.shape[1]}; embed it with the same model.")
        ids = np.concatenate((ids, np.fromiter((r[0] for r in rows), np.int64, len(rows))))
        scores = np.concatenate((scores, matrix @ q))
        if len(ids) > k:  # keep the best k of what has been seen
            keep = np.argpartition(-scores, k)[:k]
            ids, scores = ids[keep], scores[keep]
    # Best first; scores equal to 6 digits are ties, in passage id order: the same vector scored in two chunks may
    # differ in the last bit, as BLAS blocks each shape its own way.
    order = np.lexsort((ids, -np.round(scores, 6)))
    return [(int(ids[i]), float(scores[i])) for i in order[:k]]


def embedders_of(db: Database, corpus: str | int | None = None) -> list[EmbedderUse]:
    """The embedders with vectors in a corpus (None: in any), the one covering most passages first."""
    cid = resolve_corpus(db, corpus)
    scope, params = _scope(cid)
    sql = f"""SELECT embedders.sha256, embedders.name, embedders.dim, count(*) AS n FROM embeddings
              JOIN embedders ON embedders.sha256 = embeddings.model_sha256
              JOIN passages ON passages.id = embeddings.passage_id AND {scope}
              GROUP BY embedders.sha256 ORDER BY n DESC, embedders.created DESC"""
    return [EmbedderUse(*row) for row in db.execute(sql, params)]


def register_embedder(db: Database, info: dict) -> None:
    """Remember an embedder's name and size by its checksum (the name shown is the latest one used)."""
    with db.atomic():
        db.execute("""INSERT INTO embedders (sha256, name, dim, created) VALUES (?, ?, ?, ?)
                      ON CONFLICT (sha256) DO UPDATE SET name = excluded.name""",
                   [info["sha256"], info["name"], info["dim"], now_iso()])


def store_vectors(db: Database, sha256: str, passage_ids: list[int], vectors: np.ndarray) -> None:
    """Write one batch of vectors in one transaction; a passage deleted meanwhile (its text replaced) is skipped."""
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    dim = vectors.shape[1]
    rows = [(pid, sha256, dim, vectors[i].tobytes(), pid) for i, pid in enumerate(passage_ids)]
    with db.atomic():
        db.conn.executemany(
            """INSERT OR REPLACE INTO embeddings (passage_id, model_sha256, dim, vector)
               SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM passages WHERE id = ?)""", rows)


def _counts(db: Database, cid: int | None, sha256: str) -> tuple[int, int]:
    """(passages in scope, those with a vector from this embedder)."""
    scope, params = _scope(cid)
    sql = f"""SELECT count(*), count(embeddings.passage_id) FROM passages
              LEFT JOIN embeddings ON embeddings.passage_id = passages.id AND embeddings.model_sha256 = ? WHERE {scope}"""
    total, have = db.execute(sql, [sha256, *params]).fetchone()
    return int(total), int(have)


def _missing(db: Database, cid: int | None, sha256: str, after: int, limit: int) -> list[tuple[int, str]]:
    """The next passages (id above `after`, in id order) with no vector from this embedder, with their text."""
    scope, params = _scope(cid)
    sql = f"""SELECT passages.id, substr(texts.body, passages.start + 1, passages."end" - passages.start)
              FROM passages JOIN texts ON texts.id = passages.text_id
              WHERE passages.id > ? AND {scope} AND NOT EXISTS (
                  SELECT 1 FROM embeddings WHERE embeddings.passage_id = passages.id AND embeddings.model_sha256 = ?)
              ORDER BY passages.id LIMIT ?"""
    return [(int(r[0]), r[1]) for r in db.execute(sql, [after, *params, sha256, limit])]


def _scope(cid: int | None) -> tuple[str, list[int]]:
    """A condition on `passages` for one corpus's passages (every passage when cid is None), with its parameters."""
    if cid is None:
        return "1 = 1", []
    return "passages.text_id IN (SELECT id FROM texts WHERE corpus_id = ?)", [cid]


def _model(model: str | None) -> dict[str, str]:
    return {"model": model} if model else {}


def _worker(client: WorkerClient | None, home: Path | None):
    """The given client (left running), or a worker started for the block and shut down after it."""
    return nullcontext(client) if client is not None else WorkerClient(home=home)


def _embed(client: WorkerClient, params: dict, cancel: threading.Event, priority: str = BACKGROUND) -> dict | None:
    """One embed request's result; None when `cancel` was set and the worker stopped it. A worker error raises."""
    events: queue.Queue = queue.Queue()
    rid = client.request("embed", params, priority=priority, client=EMBED_CLIENT, on_event=events.put)
    asked = False
    while True:
        if cancel.is_set() and not asked:
            client.cancel(rid)
            asked = True
        try:
            event = events.get(timeout=0.1)  # wakes to pass a cancel on while a batch runs
        except queue.Empty:
            continue
        if isinstance(event, Done):
            return event.result
        if isinstance(event, Error):
            if event.code == ErrorCode.CANCELLED and cancel.is_set():
                return None
            raise WorkerError(event.message, code=event.code)
