"""The import's writer: batches of prepared texts, each with its files' journal entries, committed in order on a
thread and a connection of its own.

SQLite works without holding the GIL, so its half of an import (FTS5's inverted index above all) runs on one core
while the job reads, decodes, folds and cuts the next files on the other. Each batch is one transaction, texts and
journal together, so a kill keeps both or neither, as when the job wrote them itself.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from sqlite_utils import Database

from app.corpus.importers import journal
from app.corpus.importers.journal import Entry
from app.corpus.store import Prepared, add_prepared
from app.store import open_db

log = logging.getLogger(__name__)

AHEAD = 2  # batches read ahead of the one being written: the reading never waits, memory stays bounded
_STOP = None


class Writer:
    """Commits submitted batches in order; the first failure is raised to the submitter at its next call."""

    def __init__(self, home: Path, corpus_id: int) -> None:
        self.home, self.corpus_id = home, corpus_id
        self.imported = self.duplicates = 0
        self._queue: queue.Queue[tuple[list[Entry], list[Prepared]] | None] = queue.Queue(maxsize=AHEAD)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="corpus-import-writer", daemon=True)
        self._thread.start()

    def submit(self, entries: list[Entry], texts: list[Prepared]) -> None:
        """Queue a batch: the texts and the journal entries that record them."""
        self._raise()
        self._queue.put((entries, texts))

    def wait(self) -> None:
        """Return once every batch submitted is committed."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        """Commit what was submitted, then stop the thread and close its connection."""
        self._queue.put(_STOP)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        db: Database | None = None
        try:
            db = open_db(self.home)
            # In WAL mode NORMAL still survives a crash of the process (the journal is intact); only a power cut
            # can roll back the last batches, which the journal then imports again. Measured 1.4-1.7x faster
            # than FULL, whose fsync at every file's commit was two thirds of an import's time.
            db.execute("PRAGMA synchronous = NORMAL")
        except BaseException as exc:  # raised in the job's thread; the queue is still drained below
            self._error = exc
        while True:
            batch = self._queue.get()
            try:
                if batch is _STOP:
                    break
                if self._error is None:
                    self._commit(db, *batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the job's thread, which raises it
                log.exception("writing an import batch failed")
                self._error = exc
            finally:
                self._queue.task_done()
        if db is not None:
            db.close()

    def _commit(self, db: Database, entries: list[Entry], texts: list[Prepared]) -> None:
        with db.atomic():
            for entry in entries:
                journal.save(db, self.corpus_id, entry)
            added = add_prepared(db, self.corpus_id, texts)
        self.imported += sum(1 for text_id in added if text_id is not None)
        self.duplicates += sum(1 for text_id in added if text_id is None)
