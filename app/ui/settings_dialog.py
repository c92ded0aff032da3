"""Settings: the session cache's size budget and what it holds now, with a button to clear it; the library's encryption."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid

from app.desk import encryption
from app.desk.status import cache_summary
from app.desk.workspace import Workspace
from app.store import library_key
from app.ui.encryption_controller import EncryptionController
from app.ui.passphrase_dialog import NEW, PassphraseDialog, action_dialog
from app.worker_client import QtWorkerClient
from inference.cache import DEFAULT_BUDGET_MB
from inference.protocol import Done, Error


class SettingsDialog(QDialog):
    """The cache budget is stored with the data and sent to the worker, which evicts at once; the rest is asked of it."""

    def __init__(self, worker: QtWorkerClient, workspace: Workspace, parent: QWidget | None = None,
                 encryption_controller: EncryptionController | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.worker, self.workspace, self.encryption = worker, workspace, encryption_controller
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
        self.buttons = buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.asking: PassphraseDialog | None = None
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Saved sessions let a reopened document continue without re-reading it; they are disposable."))
        if encryption_controller is not None:
            layout.addWidget(self._encryption_box(encryption_controller))
        layout.addWidget(buttons)
        self.refresh()

    def _encryption_box(self, controller: EncryptionController) -> QGroupBox:
        box = QGroupBox("Encryption")
        self.encryption_state = QLabel()
        self.encryption_state.setWordWrap(True)
        self.encryption_buttons = {action: QPushButton(text) for action, text in (
            (encryption.ENCRYPT, "Encrypt the library…"), (encryption.CHANGE, "Change the passphrase…"),
            (encryption.DECRYPT, "Decrypt the library…"))}
        row = QHBoxLayout()
        for action, button in self.encryption_buttons.items():
            button.clicked.connect(lambda _=False, a=action: self.ask_encryption(a))
            row.addWidget(button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.encryption_state)
        layout.addLayout(row)
        controller.finished.connect(self._encryption_done)
        self._show_encryption(encryption.describe(self.workspace.home))
        return box

    def _show_encryption(self, sentence: str) -> None:
        encrypted = library_key.is_encrypted(self.workspace.home)
        busy = self.encryption is not None and self.encryption.busy
        self.encryption_state.setText(sentence)
        self.encryption_buttons[encryption.ENCRYPT].setVisible(not encrypted)
        for action in (encryption.CHANGE, encryption.DECRYPT):
            self.encryption_buttons[action].setVisible(encrypted)
        for button in [*self.encryption_buttons.values(), self.buttons]:
            button.setEnabled(not busy)  # while the library's connection is let go, nothing may write to it

    def ask_encryption(self, action: str) -> None:
        """Ask the passphrases `action` needs (checked before the dialog closes), then run it off the GUI thread."""
        self.asking = asking = action_dialog(self.workspace.home, action, self)
        asking.accepted.connect(lambda: self._run_encryption(action, asking.values().get(NEW, "")))
        asking.open()

    def _run_encryption(self, action: str, passphrase: str) -> None:
        assert self.encryption is not None
        self.encryption.start(action, passphrase)
        self._show_encryption("Working: the library is being rewritten under its new key…")

    def _encryption_done(self, ok: bool, sentence: str) -> None:
        self._show_encryption(sentence if not ok else f"{sentence} {encryption.describe(self.workspace.home)}")
        self.refresh()

    def refresh(self) -> None:
        self.worker.request("cache_stats", on_done=self._stats)

    def _stats(self, event: Done | Error) -> None:
        if not isValid(self.usage):  # the dialog closed before the worker (restarted after a re-key) answered
            return
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
