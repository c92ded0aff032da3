"""The story notes panel: the notes always given to the model, and the keyed entries given when a key is near the cursor."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

from app.desk.story_match import MATCH_CHARS
from app.store.story_notes import Story, StoryEntry


class EntryDialog(QDialog):
    """Edit one entry: its name, its keys, its text."""

    def __init__(self, entry: StoryEntry | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Story entry" if entry is None else f"Story entry: {entry.name}")
        self.entry_id = entry.id if entry is not None else None
        self.name = QLineEdit(entry.name if entry else "", placeholderText="Mara, the lighthouse, the Order…")
        self.keys = QLineEdit(entry.keys if entry else "", placeholderText="Mara, the keeper's daughter, 玛拉")
        self.keys.setToolTip("Words or phrases, separated by commas; any of them near the cursor gives this entry to the model.")
        self.text = QPlainTextEdit(entry.text if entry else "", placeholderText="What the model should know about it.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("Keys", self.keys)
        form.addRow("Text", self.text)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, str]:
        return self.name.text(), self.keys.text(), self.text.toPlainText()


class StoryNotesPanel(QWidget):
    """Asks through signals; shows the story it is given. The story controller stores the changes."""

    notesEdited = Signal(str)
    entryAdded = Signal(str, str, str)  # name, keys, text
    entryEdited = Signal(int, str, str, str)  # id, name, keys, text
    entryRemoved = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[int, StoryEntry] = {}
        self.notes = QPlainTextEdit(placeholderText="Premise, style, point of view, tense: given to the model with every request.")
        self.notes.setObjectName("story-notes")
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _: self.edit_selected())
        self.buttons = {n: QPushButton(t) for n, t in (("add", "Add…"), ("edit", "Edit…"), ("remove", "Remove"))}
        self.buttons["add"].clicked.connect(lambda: self.open_entry(None))
        self.buttons["edit"].clicked.connect(self.edit_selected)
        self.buttons["remove"].clicked.connect(self.remove_selected)
        self._showing = False
        self.notes.textChanged.connect(self._notes_changed)
        self._build()

    def _build(self) -> None:
        hint = QLabel(f"An entry is given to the model when one of its keys is in the last {MATCH_CHARS:,} characters "
                      "before the cursor; when the context is short, the entry mentioned longest ago is left out first.")
        hint.setWordWrap(True)
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Notes"))
        layout.addWidget(self.notes, 1)
        layout.addWidget(QLabel("Entries: characters, places, things"))
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(hint)

    def show_story(self, story: Story) -> None:
        """Show a document's story; showing it is not an edit."""
        self._showing = True
        if self.notes.toPlainText() != story.notes:
            self.notes.setPlainText(story.notes)
        self._showing = False
        self.entries = {e.id: e for e in story.entries}
        self.list.clear()
        for entry in story.entries:
            item = QListWidgetItem(f"{entry.name}  —  {entry.keys}" if entry.keys else entry.name)
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(entry.text)
            self.list.addItem(item)

    def _notes_changed(self) -> None:
        if not self._showing:
            self.notesEdited.emit(self.notes.toPlainText())

    def selected(self) -> StoryEntry | None:
        item = self.list.currentItem()
        return self.entries.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def open_entry(self, entry: StoryEntry | None) -> EntryDialog:
        """Open the entry editor (a new entry when `entry` is None); OK adds or changes it."""
        dialog = EntryDialog(entry, self)
        dialog.accepted.connect(lambda: self._entry_done(dialog))
        dialog.open()
        return dialog

    def _entry_done(self, dialog: EntryDialog) -> None:
        if dialog.entry_id is None:
            self.entryAdded.emit(*dialog.values())
        else:
            self.entryEdited.emit(dialog.entry_id, *dialog.values())

    def edit_selected(self) -> EntryDialog | None:
        entry = self.selected()
        return self.open_entry(entry) if entry is not None else None

    def remove_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.entryRemoved.emit(entry.id)
