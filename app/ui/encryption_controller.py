"""Encrypting, decrypting or re-keying the library from the window: its connection and its worker let go, the
re-key run in a pool job, then both back under the new key."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.desk import encryption
from app.desk.workspace import Workspace
from app.ui.document_controller import DocumentController
from app.ui.jobs import run_job
from app.worker_client import QtWorkerClient


class EncryptionController(QObject):
    """One action at a time; `finished(ok, sentence)` fires once for each, after the library and worker are back."""

    finished = Signal(bool, str)

    def __init__(self, home: Path, workspace: Workspace, documents: DocumentController, worker: QtWorkerClient,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home, self.workspace, self.documents, self.worker = Path(home), workspace, documents, worker
        self.busy = False
        self._action: tuple[str, str] | None = None

    def start(self, action: str, passphrase: str = "") -> None:
        """Save the open text, let the library and the worker go, then re-key (the files must be held by nobody)."""
        if self.busy:
            return
        self.busy, self._action = True, (action, passphrase)
        self.documents.save("autosave")
        self.workspace.close()
        # cache.db is the worker's: the re-key waits until the process has gone, or it would find the file in use.
        self.worker.stopped.connect(self._rekey)
        self.worker.shutdown()

    def _rekey(self) -> None:
        self.worker.stopped.disconnect(self._rekey)
        assert self._action is not None
        action, passphrase = self._action
        self._action = None
        run_job(encryption.rekey_library, self.home, action, passphrase,
                on_done=lambda sentence: self._back(True, sentence), on_failed=lambda message: self._back(False, message))

    def _back(self, ok: bool, sentence: str) -> None:
        """Reopen under whatever key the library now has (the old one when the re-key failed: nothing was changed)."""
        self.workspace.reopen()
        self.worker.start()
        self.busy = False
        self.finished.emit(ok, sentence)
