"""Skip sets kept in `<home>/cache.db`, one per model checksum and setting (device, precision), and the search behind them.

A skip set is a measurement of one model on one kind of device at one precision: acceptance depends on the
arithmetic, the cost of a draft on the device. Like the session caches it is disposable (a lost row costs
one search), so it lives in cache.db beside them, in a table of its own.

The search (inference.backends.torch_skip_search) runs on the prompts the user has sent, a step at a time:
while the worker is idle, or at once for a request forcing mode `skip`. Only a finished search is stored, in
one statement, so a search cut short by a shutdown or an unload leaves nothing behind and starts over.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from inference import sqlfile
from inference.backends.torch_skip_search import SkipChoice, SkipSearch
from inference.paths import private_file
from inference.protocol import Cancelled

if TYPE_CHECKING:
    from inference.backends.torch_model import Transformer

log = logging.getLogger(__name__)

SAMPLE_TOKENS = 256  # teacher-forced positions a search measures acceptance on
MIN_TEXT = 64  # a set is kept for good: it is searched on more of the user's text than a sentence
RECENT_PROMPTS = 8
# What `cache_stats` and a generation's stats say of the skip set (inference/protocol.py documents them).
NONE, PENDING, SEARCHING, STORED, FAILED = "none", "pending", "searching", "stored", "failed"

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




class PromptSample:
    """The user's recent prompts as one teacher-forcing sample: the newest prompt's tail, extended back by older ones.

    Every prompt the engine sends starts with BOS (it tokenizes with add_bos), so the sample is one BOS and then
    the prompts' other tokens, newest last; a prompt sent again (a document continued twice) counts once.
    """

    def __init__(self, size: int = SAMPLE_TOKENS) -> None:
        self.size = size
        self._prompts: deque[list[int]] = deque(maxlen=RECENT_PROMPTS)

    def add(self, prompt: Sequence[int]) -> None:
        prompt = list(prompt)
        if prompt and prompt not in self._prompts:
            self._prompts.append(prompt)

    def tokens(self) -> list[int]:
        """BOS and the last size - 1 tokens of the prompts seen; [] before the first."""
        if not self._prompts:
            return []
        body: list[int] = []
        for prompt in reversed(self._prompts):
            body = prompt[1:] + body
            if len(body) >= self.size - 1:
                break
        return [self._prompts[-1][0], *body[-(self.size - 1):]]


class SkipSets:
    """The skip set of one loaded model and setting: the stored one, or the search that finds it on the user's prompts."""

    def __init__(self, model: "Transformer", model_sha256: str, setting: str, db_path: Path | None,
                 sample_tokens: int = SAMPLE_TOKENS) -> None:
        self.model, self.model_sha256, self.setting, self.db_path = model, model_sha256, setting, db_path
        self.prompts = PromptSample(min(sample_tokens, model.max_seq))
        found = load(db_path, model_sha256, setting, model.args.n_layer) if db_path is not None else None
        self.stored: SkipChoice | None = found[0] if found else None
        self.search: SkipSearch | None = None
        self.wanted = False  # a request would have drafted by skipping and found no set: search when idle
        self.failed = False  # a search raised: not tried again until the model is loaded again

    def note_prompt(self, prompt: Sequence[int]) -> None:
        self.prompts.add(prompt)

    def choice(self) -> SkipChoice | None:
        """The stored set; without one, None, and the search is wanted (the worker runs it when idle)."""
        if self.stored is None:
            self.wanted = True
        return self.stored

    def search_now(self, cancel: threading.Event | None) -> SkipChoice | None:
        """The stored set, else the search finished here (a request forcing `skip`); None while the text is too short.

        A cancel stops it between two steps; what was done is kept, and the idle worker resumes from there.
        """
        self.wanted = True
        while self.stored is None and self._step():
            if cancel is not None and cancel.is_set():
                raise Cancelled("Generation was stopped while the skip set was searched.")
        return self.stored

    def idle_step(self) -> bool:
        """One search step if a search is wanted and the prompts seen are long enough; whether more remains."""
        return self.wanted and self.stored is None and self._step()

    def _step(self) -> bool:
        if self.failed:
            return False
        try:
            if self.search is None:
                sample = self.prompts.tokens()
                if len(sample) < MIN_TEXT:
                    return False  # more text comes with the next request
                self.search = SkipSearch(self.model, sample)
            if self.search.step():
                return True
        except Exception:  # a failed search must cost the user nothing but the speed-up
            log.exception("the skip-set search failed for %s (%s); drafting by skipping stays off", self.model_sha256[:12], self.setting)
            self.failed, self.search = True, None
            return False
        self._finish(self.search)
        return False

    def _finish(self, search: SkipSearch) -> None:
        choice = search.result
        assert choice is not None
        log.info("searched a skip set for %s (%s) in %d steps, %.1f s: %s", self.model_sha256[:12], self.setting,
                 len(search.step_seconds), sum(search.step_seconds), choice.to_dict())
        if self.db_path is not None:
            try:
                save(self.db_path, self.model_sha256, self.setting, choice, f"your prompts ({search.n_tokens} tokens)")
            except Exception:  # cache.db is disposable: a set that could not be kept is searched again next time
                log.exception("could not store the skip set in %s", self.db_path)
        self.stored, self.search = choice, None

    @property
    def state(self) -> str:
        if self.stored is not None:
            return STORED
        if self.failed:
            return FAILED
        if self.search is not None:
            return SEARCHING
        return PENDING if self.wanted else NONE

    def status(self) -> dict:
        """The state and what goes with it: the stored set, the search's progress, or the text gathered so far."""
        status: dict[str, Any] = {"state": self.state, "setting": self.setting}
        if self.stored is not None:
            status.update(skip=sorted(self.stored.skip), predicted_speedup=round(self.stored.predicted_speedup, 3))
        elif self.search is not None:
            status.update(steps=len(self.search.step_seconds), sets_tried=self.search.evaluated, sample_tokens=self.search.n_tokens)
        elif self.wanted:
            status.update(text_tokens=len(self.prompts.tokens()), text_needed=MIN_TEXT)
        return status
