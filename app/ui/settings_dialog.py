"""Settings: the session cache's size budget and what it holds now, with a button to clear it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from app.desk.status import cache_summary
from app.desk.workspace import Workspace
from app.worker_client import QtWorkerClient
from inference.cache import DEFAULT_BUDGET_MB
from inference.protocol import Done, Error


class SettingsDialog(QDialog):
    """The cache budget is stored with the data and sent to the worker, which evicts at once; the rest is asked of it."""

    def __init__(self, worker: QtWorkerClient, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.worker, self.workspace = worker, workspace
        self.budget = QSpinBox(suffix=" MiB", minimum=64, maximum=1 << 20, singleStep=256)
        self.budget.setValue(workspace.cache_budget_mb() or DEFAULT_BUDGET_MB)
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
            self.usage.setText(event.message)
            return
        self.refresh()

    def accept(self) -> None:
        """Keep the budget for the next start and apply it to the running worker now."""
        mb = self.budget.value()
        self.workspace.set_cache_budget_mb(mb)
        self.worker.request("cache_budget", mb=mb)
        super().accept()
