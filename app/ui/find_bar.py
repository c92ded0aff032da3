"""Find and replace under the editor: Enter finds the next match, Shift+Enter the previous one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextDocument
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget


class FindBar(QWidget):
    """Search the editor's text; replace one match or all of them (all as one undo step)."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__()
        self.editor = editor
        self.find_edit = QLineEdit(placeholderText="Find")
        self.replace_edit = QLineEdit(placeholderText="Replace with")
        self.case = QCheckBox("Match case")
        self.info = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        for w in (self.find_edit, self.replace_edit, self.case):
            layout.addWidget(w)
        for label, slot in (("Next", self.find_next), ("Previous", self.find_previous), ("Replace", self.replace_one), ("Replace all", self.replace_all)):
            button = QPushButton(label)
            button.clicked.connect(slot)
            layout.addWidget(button)
        layout.addWidget(self.info, 1)
        close = QPushButton("✕")
        close.setFlat(True)
        close.clicked.connect(self.close_bar)
        layout.addWidget(close)
        self.find_edit.returnPressed.connect(self.find_next)
        QShortcut(QKeySequence("Shift+Return"), self.find_edit, self.find_previous, context=Qt.ShortcutContext.WidgetShortcut)

    def open_bar(self) -> None:
        self.show()
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_edit.setText(selected)
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.editor.setFocus()

    def _flags(self, backward: bool = False) -> QTextDocument.FindFlag:
        flags = QTextDocument.FindFlag(0)
        if self.case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        return flags

    def find_next(self, backward: bool = False) -> bool:
        """Select the next match, wrapping around at the end; False when there is none."""
        needle = self.find_edit.text()
        if not needle:
            return False
        doc = self.editor.document()
        found = doc.find(needle, self.editor.textCursor(), self._flags(backward))
        if found.isNull():
            start = doc.characterCount() - 1 if backward else 0
            cursor = self.editor.textCursor()
            cursor.setPosition(start)
            found = doc.find(needle, cursor, self._flags(backward))
        self.info.setText("" if not found.isNull() else "Not found")
        if not found.isNull():
            self.editor.setTextCursor(found)
        return not found.isNull()

    def find_previous(self) -> bool:
        return self.find_next(backward=True)

    def replace_one(self) -> None:
        cursor = self.editor.textCursor()
        sensitive = self.case.isChecked()
        selected = cursor.selectedText()
        if selected and (selected == self.find_edit.text() if sensitive else selected.lower() == self.find_edit.text().lower()):
            cursor.insertText(self.replace_edit.text())
        self.find_next()

    def replace_all(self) -> int:
        """Replace every match; one undo step; return how many were replaced."""
        needle, doc, n = self.find_edit.text(), self.editor.document(), 0
        if not needle:
            return 0
        edit = self.editor.textCursor()
        edit.beginEditBlock()
        cursor = doc.find(needle, 0, self._flags())
        while not cursor.isNull():
            cursor.insertText(self.replace_edit.text())
            n += 1
            cursor = doc.find(needle, cursor, self._flags())
        edit.endEditBlock()
        self.info.setText(f"Replaced {n:,}")
        return n
