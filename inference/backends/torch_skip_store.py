"""Searched skip sets kept in `<home>/cache.db`, one per model checksum and setting (device, precision).

A skip set is a measurement of one model on one kind of device at one precision: acceptance depends on the
arithmetic, the cost of a draft on the device. Like the session caches it is disposable (a lost row costs
one search), so it lives in cache.db beside them, in a table of its own.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from inference.backends.torch_skip import SkipChoice, search_skip_set
from inference import sqlfile
from inference.paths import private_file

if TYPE_CHECKING:
    from inference.backends.torch_model import Transformer

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS skip_sets (
    model_sha256 TEXT NOT NULL, setting TEXT NOT NULL, skip TEXT NOT NULL, alpha REAL NOT NULL,
    draft_cost REAL NOT NULL, predicted_speedup REAL NOT NULL, best_k INTEGER NOT NULL,
    sample_tokens INTEGER NOT NULL, evaluated INTEGER NOT NULL, source TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (model_sha256, setting)
);
"""


def _connect(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    # SQLCipher under the library's key when the library is encrypted, as cache.db's session caches are.
    db = sqlfile.connect(private_file(path), timeout=10)
    db.execute("PRAGMA journal_mode=WAL")  # the session-cache writer thread shares this file
    db.executescript(SCHEMA)
    return db


def save(db_path: Path, model_sha256: str, setting: str, choice: SkipChoice, source: str) -> None:
    """Keep (or replace) the skip set searched for this model and setting; `source` names the text it was searched on."""
    with _connect(db_path) as db:
        db.execute("INSERT OR REPLACE INTO skip_sets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (model_sha256, setting, json.dumps(sorted(choice.skip)), choice.alpha, choice.draft_cost,
                    choice.predicted_speedup, choice.best_k, choice.sample_tokens, choice.evaluated, source, time.time()))
    db.close()


def load(db_path: Path, model_sha256: str, setting: str, n_layer: int) -> tuple[SkipChoice, str] | None:
    """The stored skip set and its source text, or None (also for a row naming layers this model lacks: it is dropped)."""
    if not db_path.is_file():
        return None
    db = _connect(db_path)
    try:
        row = db.execute("SELECT skip, alpha, draft_cost, predicted_speedup, best_k, sample_tokens, evaluated, source "
                         "FROM skip_sets WHERE model_sha256=? AND setting=?", (model_sha256, setting)).fetchone()
        if row is None:
            return None
        skip = frozenset(int(i) for i in json.loads(row[0]))
        if any(not 0 <= i < n_layer for i in skip):
            log.warning("dropping a stored skip set for %s naming layers outside 0..%d", model_sha256[:12], n_layer - 1)
            with db:
                db.execute("DELETE FROM skip_sets WHERE model_sha256=? AND setting=?", (model_sha256, setting))
            return None
        return SkipChoice(skip, row[1], row[2], row[3], row[4], row[5], row[6]), row[7]
    finally:
        db.close()


def skip_set_for(model: "Transformer", model_sha256: str, db_path: Path | None, setting: str,
                 tokenize: Callable[[str], list[int]], text_file: Path | None = None, sample_tokens: int = 256) -> SkipChoice:
    """The stored skip set of this model and setting, else one searched now on the user's text and stored.

    The text is `text_file` (the user's own) or the project's held-out sample (inference.compress.pipeline's
    read_held_out). The search runs batch forwards from position 0: it overwrites the KV cache, so call
    it before a prefill, never between a prefill and its decode.
    """
    n_layer = model.args.n_layer
    if db_path is not None and (found := load(db_path, model_sha256, setting, n_layer)) is not None:
        return found[0]
    from inference.compress.pipeline import read_held_out

    text, source = read_held_out(text_file)
    tokens = tokenize(text)[: min(sample_tokens, model.max_seq)]
    choice = search_skip_set(model, tokens)
    log.info("searched a skip set for %s (%s) on %s: %s", model_sha256[:12], setting, source, choice.to_dict())
    if db_path is not None:
        save(db_path, model_sha256, setting, choice, source)
    return choice
