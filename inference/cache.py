"""Session caches: KV states of several documents in memory within a byte budget, and persisted in `<home>/cache.db`.

A state is a plain value (token ids, the bytes of llama.cpp's sequence state, the lowest cached position).
It is found by the longest common token prefix with the new prompt, evicted least-recently-used within a
byte budget, and keyed on everything that makes a blob valid: the blob carries no model identity, so a
state saved by another model, library version or context setting must never be offered.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from inference import sqlfile
from inference.paths import private_file

log = logging.getLogger(__name__)

DEFAULT_BUDGET_MB = 2048  # cache.db: the default; SCRIPTORIUM_CACHE_BUDGET_MB or LoadOptions override it
DEFAULT_MEMORY_MB = 512  # states held in RAM: ~15 documents of 8k tokens of the embedded model
PER_DOCUMENT = 3  # states kept per document and model: continue, rewrite … prompts have different prefixes
SCHEMA = """
CREATE TABLE IF NOT EXISTS states (
    model_sha256 TEXT NOT NULL, library TEXT NOT NULL, settings TEXT NOT NULL, doc_key TEXT NOT NULL,
    prefix_hash TEXT NOT NULL, n_tokens INTEGER NOT NULL, pos_min INTEGER NOT NULL, tokens BLOB NOT NULL,
    state BLOB NOT NULL, bytes INTEGER NOT NULL, checksum INTEGER NOT NULL, created REAL NOT NULL, last_used REAL NOT NULL,
    PRIMARY KEY (model_sha256, library, settings, doc_key, prefix_hash)
);
CREATE INDEX IF NOT EXISTS states_lru ON states (last_used);
"""


def budget_bytes(setting_mb: int | None = None, env: str = "SCRIPTORIUM_CACHE_BUDGET_MB", default_mb: int = DEFAULT_BUDGET_MB) -> int:
    """A byte budget from an explicit setting, else the environment, else the default."""
    mb = setting_mb if setting_mb is not None else int(os.environ.get(env, default_mb))
    return max(0, int(mb)) * 2**20


@dataclass(frozen=True)
class Identity:
    """What a state blob depends on besides the tokens: model file, library version, context settings."""

    model_sha256: str
    library: str
    settings: str


@dataclass(frozen=True)
class SavedState:
    """One sequence's KV state: the token ids it holds, its bytes, and the lowest position still cached."""

    doc_key: str
    tokens: np.ndarray  # int32, the tokens whose keys and values the blob holds
    blob: np.ndarray  # uint8
    pos_min: int  # sliding-window caches forget positions below this

    @property
    def nbytes(self) -> int:
        return int(self.blob.nbytes + self.tokens.nbytes)

    @property
    def prefix_hash(self) -> str:
        return hashlib.sha256(self.tokens.astype("<i4").tobytes()).hexdigest()[:32]


def common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n], dtype=np.int64) != np.asarray(b[:n], dtype=np.int64))
    return int(diff[0]) if diff.size else n


def usable_prefix(cached: Sequence[int] | np.ndarray, pos_min: int, prompt: Sequence[int], n_swa: int,
                  align: int = 1, exact_upto: int | None = None) -> int:
    """How many prompt tokens a cache holding `cached` can keep so that the rest reads exactly as a fresh run.

    - At least the last prompt token is always evaluated again: its logits start the answer.
    - On CPU llama.cpp's kernels depend on the batch they run in, so a kept prefix ends on a multiple of
      `align` (the batch size) and within `exact_upto`, the part evaluated in batches that started on such
      a multiple; the tail is then evaluated in exactly the batches a fresh run would use.
    - A sliding-window cache (swa_full=False) has forgotten positions below pos_min; cutting it back is
      only sound if the window before the cut is still there, else nothing is usable.
    """
    limit = len(cached) if exact_upto is None else min(exact_upto, len(cached))
    n = min(common_prefix(cached, prompt), limit, len(prompt) - 1)
    n -= n % align
    if n > 0 and n_swa and n < len(cached) and pos_min > max(0, n - n_swa):
        return 0
    return max(n, 0)


class MemoryStates:
    """States in RAM, least-recently-used first out once their bytes pass the budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.items: OrderedDict[tuple[str, str], SavedState] = OrderedDict()
        self.hits = 0

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.items.values())

    def put(self, state: SavedState) -> None:
        key = (state.doc_key, state.prefix_hash)
        self.items.pop(key, None)
        self.items[key] = state
        same_doc = [k for k in self.items if k[0] == state.doc_key]
        for old in same_doc[:-PER_DOCUMENT]:
            del self.items[old]
        while self.items and self.nbytes > self.budget:
            self.items.popitem(last=False)

    def for_doc(self, doc_key: str) -> list[SavedState]:
        return [s for (d, _), s in self.items.items() if d == doc_key]

    def touch(self, state: SavedState) -> None:
        self.items.move_to_end((state.doc_key, state.prefix_hash))
        self.hits += 1

    def discard(self, state: SavedState) -> None:
        self.items.pop((state.doc_key, state.prefix_hash), None)


class StateStore:
    """cache.db: state blobs keyed by identity, document and token prefix; written by a background thread."""

    def __init__(self, path: Path, identity: Identity, budget: int) -> None:
        self.path = Path(path)
        self.identity = identity
        self.budget = budget
        self.hits = 0
        self.lock = threading.Lock()
        self.db = _connect(self.path)
        self.pending: queue.Queue[SavedState | None] = queue.Queue()
        self.writer = threading.Thread(target=self._write_loop, name="cache-writer", daemon=True)
        self.writer.start()

    def _key(self) -> tuple[str, str, str]:
        return (self.identity.model_sha256, self.identity.library, self.identity.settings)

    def save(self, state: SavedState) -> None:
        """Queue a state for writing; the `done` event does not wait for the disk."""
        self.pending.put(state)

    def flush(self) -> None:
        """Wait until every queued state is written (before a shutdown or a model change)."""
        self.pending.join()

    def _write_loop(self) -> None:
        while (state := self.pending.get()) is not None:
            try:
                self._write(state)
            except sqlfile.ERRORS as exc:
                log.warning("could not save a session cache to %s: %s", self.path, exc)
            finally:
                self.pending.task_done()
        self.pending.task_done()

    def _write(self, state: SavedState) -> None:
        now = time.time()
        blob = memoryview(state.blob).cast("B")
        row = (*self._key(), state.doc_key, state.prefix_hash, len(state.tokens), state.pos_min,
               state.tokens.astype("<i4").tobytes(), blob, state.blob.nbytes, zlib.crc32(blob), now, now)
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO states VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
            self._trim_document(state.doc_key)
            self._evict()

    def _trim_document(self, doc_key: str) -> None:
        rows = self.db.execute(
            "SELECT rowid FROM states WHERE model_sha256=? AND library=? AND settings=? AND doc_key=? ORDER BY last_used DESC",
            (*self._key(), doc_key)).fetchall()
        self.db.executemany("DELETE FROM states WHERE rowid=?", rows[PER_DOCUMENT:])

    def _evict(self) -> None:
        total = self.db.execute("SELECT COALESCE(SUM(bytes), 0) FROM states").fetchone()[0]
        for rowid, size in self.db.execute("SELECT rowid, bytes FROM states ORDER BY last_used").fetchall():
            if total <= self.budget:
                break
            self.db.execute("DELETE FROM states WHERE rowid=?", (rowid,))
            total -= size

    def set_budget(self, budget: int) -> None:
        """A new byte budget, applied at once: least-recently-used states go until the rest fits."""
        self.flush()
        with self.lock, self.db:
            self.budget = budget
            self._evict()

    def candidates(self, doc_key: str) -> list[tuple[str, np.ndarray, int]]:
        """(prefix hash, tokens, pos_min) of the document's saved states, most recent first."""
        with self.lock:
            rows = self.db.execute(
                "SELECT prefix_hash, tokens, pos_min FROM states WHERE model_sha256=? AND library=? AND settings=? AND doc_key=? "
                "ORDER BY last_used DESC", (*self._key(), doc_key)).fetchall()
        return [(h, np.frombuffer(t, dtype="<i4"), p) for h, t, p in rows]

    def load(self, doc_key: str, prefix_hash: str) -> SavedState | None:
        """Read one state; a blob whose checksum or size does not match is deleted, never returned."""
        with self.lock:
            row = self.db.execute(
                "SELECT tokens, pos_min, state, bytes, checksum FROM states WHERE model_sha256=? AND library=? AND settings=? "
                "AND doc_key=? AND prefix_hash=?", (*self._key(), doc_key, prefix_hash)).fetchone()
        if row is None:
            return None
        tokens, pos_min, blob, size, checksum = row
        if len(blob) != size or zlib.crc32(blob) != checksum:
            log.warning("discarding a corrupt session cache for %s (checksum mismatch)", doc_key)
            self.delete(doc_key, prefix_hash)
            return None
        with self.lock, self.db:
            self.db.execute("UPDATE states SET last_used=? WHERE model_sha256=? AND library=? AND settings=? AND doc_key=? AND prefix_hash=?",
                            (time.time(), *self._key(), doc_key, prefix_hash))
        self.hits += 1
        return SavedState(doc_key, np.frombuffer(tokens, dtype="<i4").astype(np.int32), np.frombuffer(blob, dtype=np.uint8), pos_min)

    def delete(self, doc_key: str, prefix_hash: str) -> None:
        with self.lock, self.db:
            self.db.execute("DELETE FROM states WHERE model_sha256=? AND library=? AND settings=? AND doc_key=? AND prefix_hash=?",
                            (*self._key(), doc_key, prefix_hash))

    def stats(self) -> dict:
        with self.lock:
            entries, size = self.db.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM states").fetchone()
        return {"entries": entries, "bytes": size, "budget": self.budget, "hits": self.hits, "path": str(self.path)}

    def close(self) -> None:
        self.flush()
        self.pending.put(None)
        self.writer.join(timeout=5)
        self.db.close()


class SessionCache:
    """Per loaded model: states in memory, backed by cache.db when there is one."""

    def __init__(self, identity: Identity, db_path: Path | None, budget: int, memory_budget: int) -> None:
        self.identity = identity
        self.memory = MemoryStates(memory_budget)
        self.store = _open_store(db_path, identity, budget) if db_path is not None and budget > 0 else None

    def remember(self, state: SavedState) -> None:
        """Keep a document's state in memory and queue it for cache.db."""
        self.memory.put(state)
        if self.store is not None:
            self.store.save(state)

    def best(self, doc_key: str, prompt: Sequence[int], n_swa: int, better_than: int = 0, align: int = 1) -> tuple[SavedState, int, str] | None:
        """The saved state of this document that keeps the most prompt tokens (more than `better_than`), and where it was."""
        best: tuple[int, SavedState | str, str] | None = None
        for state in self.memory.for_doc(doc_key):
            n = usable_prefix(state.tokens, state.pos_min, prompt, n_swa, align)
            if n > better_than and (best is None or n > best[0]):
                best = (n, state, "memory")
        if self.store is not None:
            for prefix_hash, tokens, pos_min in self.store.candidates(doc_key):
                n = usable_prefix(tokens, pos_min, prompt, n_swa, align)
                if n > better_than and (best is None or n > best[0]):
                    best = (n, prefix_hash, "disk")
        if best is None:
            return None
        n, found, where = best
        if isinstance(found, SavedState):
            self.memory.touch(found)
            return found, n, where
        state = self.store.load(doc_key, found) if self.store is not None else None
        return (state, n, where) if state is not None else None

    def set_budget(self, budget: int) -> None:
        """Change cache.db's byte budget now (Settings); its oldest states are evicted to fit."""
        if self.store is not None:
            self.store.set_budget(budget)

    def discard(self, state: SavedState) -> None:
        """Forget a state that failed to restore (a mismatched or damaged blob)."""
        self.memory.discard(state)
        if self.store is not None:
            self.store.delete(state.doc_key, state.prefix_hash)

    def stats(self) -> dict:
        if self.store is not None:
            self.store.flush()  # report what is on disk, not what is still queued for it
        disk = self.store.stats() if self.store is not None else {"entries": 0, "bytes": 0, "budget": 0, "hits": 0}
        memory = {"entries": len(self.memory.items), "bytes": self.memory.nbytes, "budget": self.memory.budget, "hits": self.memory.hits}
        return {**disk, "memory": memory}

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _open_store(path: Path, identity: Identity, budget: int) -> StateStore | None:
    """cache.db for this model; None (states in memory only) when it cannot be opened, e.g. an encrypted library's
    cache.db in a worker that was given no key: a session cache is worth a cold prefill, never a failed load."""
    try:
        return StateStore(path, identity, budget)
    except sqlfile.DATABASE_ERRORS as exc:
        log.warning("session caches stay in memory: %s cannot be opened (%s)", path, exc)
        return None


def _connect(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLCipher under the library's key when the library is encrypted: the worker is given the key at start.
    db = sqlfile.connect(private_file(path), check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    # The cache is disposable: losing the last write in a power cut costs one cold prefill, never text.
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def drop_models_except(db_path: Path, keep_sha256: Iterable[str]) -> int:
    """Delete the states of every model not in `keep_sha256` (call it after a model is removed); return rows deleted."""
    keep = sorted(set(keep_sha256))
    return _delete(db_path, f"model_sha256 NOT IN ({','.join('?' * len(keep))})" if keep else "1", keep)


def clear(db_path: Path, model_sha256: str | None = None) -> int:
    """Delete every saved state (or one model's); return rows deleted."""
    return _delete(db_path, "model_sha256=?" if model_sha256 else "1", [model_sha256] if model_sha256 else [])


def forget_document(db_path: Path, doc_key: str) -> int:
    """Delete every state of one document, of any model (a purge), and compact cache.db so its blobs leave the file.

    A worker running meanwhile still holds the document's states in memory until it exits; it writes one to
    disk again only after a new generation on the same key. Returns rows deleted.
    """
    return _delete(db_path, "doc_key=?", [doc_key], compact=True)


def _delete(db_path: Path, where: str, params: Sequence[str], compact: bool = False) -> int:
    # `where` is always a literal of this module; values travel as parameters.
    if not Path(db_path).is_file():
        return 0
    db = _connect(Path(db_path))
    try:
        with db:
            deleted = db.execute(f"DELETE FROM states WHERE {where}", list(params)).rowcount
        if compact:  # rewrite the file without the freed pages, then empty the -wal that held the old ones
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
    finally:
        db.close()
