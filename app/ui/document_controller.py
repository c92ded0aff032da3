"""The window's document controller: the sidebar's list, opening, autosave, import and export, wired to the Workspace."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from app.desk import transfer
from app.desk.workspace import Workspace
from app.errors import ScriptoriumError
from app.ui.editor import Editor
from app.ui.jobs import run_job
from app.ui.sidebar import DocumentSidebar

log = logging.getLogger(__name__)


class DocumentController(QObject):
    """Wires the editor and the sidebar to the desk's Workspace (which owns the store); asks the writer through dialogs."""

    loaded = Signal(int)  # document id now in the editor
    saved = Signal(int)
    restored = Signal(int)  # a revision (its text and story notes) was made current
    message = Signal(str)  # a sentence for the status bar

    def __init__(self, workspace: Workspace, editor: Editor, sidebar: DocumentSidebar, parent: QWidget) -> None:
        super().__init__(parent)
        self.workspace, self.editor, self.sidebar, self.window = workspace, editor, sidebar, parent
        self.home = workspace.home
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self.autosave)
        self._loading = False
        editor.textChanged.connect(self._edited)
        editor.focusLost.connect(self.autosave)
        sidebar.documentChosen.connect(self.open)
        sidebar.newRequested.connect(self.new)
        sidebar.renameRequested.connect(self.rename)
        sidebar.trashRequested.connect(self.trash)
        sidebar.restoreRequested.connect(self.restore)
        sidebar.emptyTrashRequested.connect(self.empty_trash)
        sidebar.filterChanged.connect(lambda _: self.refresh())
        sidebar.trashToggled.connect(lambda _: self.refresh())

    @property
    def doc_id(self) -> int | None:
        return self.workspace.doc_id

    # -- listing and opening -------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the sidebar's list: the trash or the documents, filtered as the store filters (title or text)."""
        docs = self.workspace.documents(self.sidebar.filter.text(), trash=self.sidebar.trash_mode)
        self.sidebar.set_documents(docs, self.doc_id)

    def open(self, doc_id: int) -> bool:
        """Save the current document, then show `doc_id` in the editor."""
        if doc_id == self.doc_id:
            return True
        self.autosave()
        try:
            doc = self.workspace.open(doc_id)
        except ScriptoriumError as exc:
            self.message.emit(str(exc))
            return False
        self._loading = True
        self.editor.set_text(doc.body)
        self._loading = False
        self.window.setWindowTitle(f"{doc.title} — Scriptorium")
        self.refresh()
        self.loaded.emit(doc.id)
        return True

    def open_initial(self, last: int | None) -> None:
        """Open the last document, else the most recent, else a new one."""
        doc_id = self.workspace.initial(last)
        if doc_id is None:
            self.new()
        else:
            self.open(doc_id)

    def new(self) -> int:
        doc_id = self.workspace.create()
        self.open(doc_id)
        self.editor.setFocus()
        return doc_id

    # -- saving ---------------------------------------------------------------------------
    def _edited(self) -> None:
        if not self._loading:
            self.changed()

    def changed(self) -> None:
        """The open document changed (its text, or its story notes): autosave it soon."""
        if self.doc_id is not None:
            self.timer.start(self.workspace.policy.edited(time.monotonic() * 1000))

    def autosave(self) -> None:
        """Store unsaved edits now (after the idle delay, on focus loss, switch and close)."""
        self.save("autosave")

    def save(self, reason: str = "save") -> None:
        """Store the editor's text as a revision; an explicit save always labels the latest revision."""
        self.timer.stop()
        doc_id = self.doc_id
        try:
            stored = self.workspace.save(self.editor.text(), reason)
        except ScriptoriumError as exc:
            self.message.emit(f"Could not save: {exc}")
            return
        if stored and doc_id is not None:
            self.saved.emit(doc_id)

    def restore_revision(self, revision_id: int) -> None:
        """Make a revision current: its text (one undo step in the editor) and its story notes; itself a revision."""
        self.save("autosave")
        body = self.workspace.revision(revision_id).body
        self.editor.replace(self.editor.anchor_cursor(0, len(self.editor.text())), body)
        self.workspace.restore_revision(revision_id)
        self.restored.emit(revision_id)

    # -- sidebar actions ------------------------------------------------------------------
    def rename(self, doc_id: int) -> None:
        title, ok = QInputDialog.getText(self.window, "Rename document", "Title:", text=self.workspace.title(doc_id))
        if ok and title.strip():
            self.rename_to(doc_id, title)

    def rename_to(self, doc_id: int, title: str) -> None:
        title = self.workspace.rename(doc_id, title)
        if doc_id == self.doc_id:
            self.window.setWindowTitle(f"{title} — Scriptorium")
        self.refresh()

    def trash(self, doc_id: int) -> None:
        """Move a document to the trash; if it was open, open the next one."""
        was_open = doc_id == self.doc_id
        if was_open:
            self.autosave()
        self.workspace.trash(doc_id)
        self.message.emit("Moved to the trash; open Trash to restore it.")
        if was_open:
            self.open_initial(None)
        self.refresh()

    def restore(self, doc_id: int) -> None:
        self.workspace.restore(doc_id)
        self.refresh()

    def empty_trash(self) -> None:
        answer = QMessageBox.question(self.window, "Empty the trash", "Delete the documents in the trash for good?")
        if answer == QMessageBox.StandardButton.Yes:
            self.message.emit(f"Deleted {self.workspace.empty_trash()} document(s) for good.")
            self.refresh()

    # -- import and export (pool threads, each with its own connection) -------------------
    def import_files(self, paths: list[str] | None = None) -> None:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self.window, "Import documents", "", transfer.IMPORT_FILTER)
        for path in paths:
            run_job(transfer.import_job, self.home, Path(path), on_done=self._imported, on_failed=self.message.emit)

    def _imported(self, done: transfer.ImportDone) -> None:
        self.message.emit(done.message())
        self.open(done.doc_id)

    def export(self, path: str | None = None, fmt: str | None = None) -> None:
        """Save, then export the open document to a file chosen in a dialog (or `path`)."""
        if self.doc_id is None:
            return
        self.save("export")
        if path is None:
            title = self.workspace.title(self.doc_id)
            path, chosen = QFileDialog.getSaveFileName(self.window, "Export", transfer.suggested_name(title), transfer.export_filter())
            if not path:
                return
            target, fmt = transfer.export_target(path, chosen)
        else:
            target, fmt = transfer.export_target(path, "")
        run_job(transfer.export_job, self.home, self.doc_id, target, fmt, on_done=lambda p: self.message.emit(f"Exported to {p}."), on_failed=self.message.emit)

    def close(self) -> None:
        """Save what is unsaved and let the connection go (idempotent: Qt may close a window twice)."""
        if not self.workspace.closed:
            self.autosave()
            self.workspace.close()
