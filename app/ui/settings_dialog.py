"""Settings: the session cache's size budget and what it holds now, with a button to clear it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from app import store
from app.desk import prefs
from app.worker_client import QtWorkerClient
from inference.protocol import Done, Error, ErrorCode


def cache_summary(stats: dict) -> str:
    """'12 sessions, 48.2 MiB' from the worker's cache_stats (whatever of it is known)."""
    if not stats:
        return "Empty (or this worker keeps no session cache)."
    count = stats.get("entries", stats.get("count"))
    size = stats.get("bytes", stats.get("size_bytes"))
    parts = []
    if count is not None:
        parts.append(f"{int(count):,} saved session(s)")
    if size is not None:
        parts.append(f"{int(size) / 2**20:,.1f} MiB")
    return ", ".join(parts) or ", ".join(f"{k}: {v}" for k, v in stats.items())


class SettingsDialog(QDialog):
    """The cache budget is stored in the data directory's settings; the worker is asked for the rest."""

    def __init__(self, worker: QtWorkerClient, db, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.worker, self.db = worker, db
        self.budget = QSpinBox(suffix=" MiB", minimum=64, maximum=1 << 20, singleStep=256)
        self.budget.setValue(int(store.get_setting(db, prefs.CACHE_BUDGET_MB, prefs.DEFAULT_CACHE_BUDGET_MB)))
        self.usage = QLabel("Asking the worker…")
        self.usage.setWordWrap(True)
        self.clear_button = QPushButton("Clear the cache")
        self.clear_button.clicked.connect(self.clear_cache)
        form = QFormLayout()
        form.addRow("Session cache budget", self.budget)
        form.addRow("In the cache now", self.usage)
        form.addRow("", self.clear_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Saved sessions let a reopened document continue without re-reading it; they are disposable."))
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        self.worker.request("cache_stats", on_done=self._stats)

    def _stats(self, event: Done | Error) -> None:
        self.usage.setText(cache_summary(event.result) if isinstance(event, Done) else event.message)

    def clear_cache(self) -> None:
        self.worker.request("cache_clear", on_done=self._cleared)

    def _cleared(self, event: Done | Error) -> None:
        if isinstance(event, Error):
            unknown = event.code in (ErrorCode.UNKNOWN_OP, ErrorCode.BAD_REQUEST)
            self.usage.setText("This worker cannot clear its cache yet." if unknown else event.message)
            return
        self.refresh()

    def accept(self) -> None:
        store.set_setting(self.db, prefs.CACHE_BUDGET_MB, self.budget.value())
        super().accept()
