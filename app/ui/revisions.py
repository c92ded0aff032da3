"""The revisions browser: every saved state of a document, its differences from the current text, restore."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from app.desk.review import Review
from app.ui.document_controller import DocumentController


class RevisionsDialog(QDialog):
    """Lists revisions newest first; the selected one is shown as a word diff against the current text."""

    def __init__(self, documents: DocumentController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revisions")
        self.resize(900, 600)
        self.documents, self.workspace, self.editor = documents, documents.workspace, documents.editor
        self.list = QListWidget()
        self.view = QTextBrowser()
        self.restore_button = QPushButton("Restore this revision")
        self.restore_button.clicked.connect(self.restore_selected)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.view)
        split.setSizes([260, 640])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.restore_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        self.list.currentItemChanged.connect(lambda item, _: self.show_revision(item))
        self.fill()

    def fill(self) -> None:
        self.list.clear()
        for rev in self.workspace.revisions():
            item = QListWidgetItem(f"{rev.created[:19].replace('T', ' ')}  ·  {rev.reason}  ·  {rev.chars:,} chars")
            item.setData(Qt.ItemDataRole.UserRole, rev.id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def show_revision(self, item: QListWidgetItem | None) -> None:
        """Show the revision's text with what differs from the current text marked (struck: only in the revision)."""
        if item is None:
            self.view.clear()
            return
        rev = self.workspace.revision(int(item.data(Qt.ItemDataRole.UserRole)))
        review = Review(self.editor.text(), rev.body)
        note = "" if review.changes else "<p><i>Same as the current text.</i></p>"
        self.view.setHtml(note + review.to_html(links=False))

    def restore_selected(self) -> None:
        """Make the selected revision (text and story notes) current; the restore is itself a revision, one undo step."""
        item = self.list.currentItem()
        if item is not None:
            self.documents.restore_revision(int(item.data(Qt.ItemDataRole.UserRole)))
            self.fill()
