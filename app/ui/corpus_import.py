"""An import into a corpus on a pool thread, with its progress on the GUI thread, a Cancel, and its report at the end."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.ui.jobs import run_job

PROGRESS_EVERY_S = 0.05  # at most 20 progress updates a second reach the GUI thread, however small the files


class _Feed(QObject):
    """Created on the GUI thread; emitted from the pool thread, so each update arrives queued."""

    progress = Signal(object)


class ImportRun(QObject):
    """One import: `progress(ImportProgress)` while it runs, then exactly one of `finished(report)` or `failed(message)`."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        self.running = False
        self._feed = _Feed()
        self._feed.progress.connect(self._on_progress)

    def start(self, home: Path, paths: list[Path], corpus: str, fields: dict[str, str] | None = None) -> None:
        from app.corpus.importers.job import run_import

        self.running = True
        self.cancel_event.clear()
        last = [0.0]

        def report(p: Any) -> None:  # on the pool thread
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or p.files_done == p.files_total:
                last[0] = now
                self._feed.progress.emit(p)

        run_job(run_import, home, paths, corpus, fields, report, self.cancel_event,
                on_done=self._done, on_failed=self._failed)

    def cancel(self) -> None:
        """Ask the import to stop after the text it is reading; what is imported stays, and a new import resumes."""
        self.cancel_event.set()

    @Slot(object)
    def _on_progress(self, p: Any) -> None:
        if self.running:
            self.progress.emit(p)

    def _done(self, report: Any) -> None:
        self.running = False
        self.finished.emit(report)

    def _failed(self, message: str) -> None:
        self.running = False
        self.failed.emit(message)
