"""The document sidebar: filter by title or text, newest edit first, new / rename / trash, and the trash itself."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.store import DocumentInfo


class DocumentSidebar(QWidget):
    """Lists documents it is given and asks for changes through signals; it never touches the store."""

    documentChosen = Signal(int)
    newRequested = Signal()
    renameRequested = Signal(int)
    trashRequested = Signal(int)
    restoreRequested = Signal(int)
    emptyTrashRequested = Signal()
    filterChanged = Signal(str)
    trashToggled = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.filter = QLineEdit(placeholderText="Filter by title or text")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("documents")
        self.new_button = QPushButton("New")
        self.rename_button = QPushButton("Rename")
        self.trash_button = QPushButton("Delete")
        self.restore_button = QPushButton("Restore")
        self.empty_button = QPushButton("Empty trash")
        self.show_trash = QToolButton(text="Trash", checkable=True)
        self._build()
        self._connect()
        self.set_trash_mode(False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.show_trash)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.rename_button, self.trash_button, self.restore_button, self.empty_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.filter.textChanged.connect(self.filterChanged)
        self.list.currentItemChanged.connect(self._chosen)
        self.new_button.clicked.connect(self.newRequested)
        self.rename_button.clicked.connect(lambda: self._emit_current(self.renameRequested))
        self.trash_button.clicked.connect(lambda: self._emit_current(self.trashRequested))
        self.restore_button.clicked.connect(lambda: self._emit_current(self.restoreRequested))
        self.empty_button.clicked.connect(self.emptyTrashRequested)
        self.show_trash.toggled.connect(self._toggle_trash)

    def _toggle_trash(self, on: bool) -> None:
        self.set_trash_mode(on)
        self.trashToggled.emit(on)

    def set_trash_mode(self, on: bool) -> None:
        """Show the trash (restore, empty) or the documents (new, rename, delete)."""
        for b in (self.new_button, self.rename_button, self.trash_button):
            b.setVisible(not on)
        for b in (self.restore_button, self.empty_button):
            b.setVisible(on)

    @property
    def trash_mode(self) -> bool:
        return self.show_trash.isChecked()

    def set_documents(self, docs: list[DocumentInfo], current: int | None) -> None:
        """Show these documents (already sorted), selecting `current` without emitting documentChosen."""
        self.list.blockSignals(True)
        self.list.clear()
        for doc in docs:
            item = QListWidgetItem(doc.title or "Untitled")
            item.setData(Qt.ItemDataRole.UserRole, doc.id)
            item.setToolTip(f"{doc.chars:,} characters · edited {doc.updated[:16].replace('T', ' ')} UTC")
            self.list.addItem(item)
            if doc.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def ids(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def _chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None and not self.trash_mode:
            self.documentChosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _emit_current(self, signal: Signal) -> None:
        doc_id = self.current_id()
        if doc_id is not None:
            signal.emit(doc_id)
