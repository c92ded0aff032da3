"""A read-only window on one corpus text, scrolled to a hit and with the hit selected."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.ui.theme import ui_font


def utf16_offset(text: str, index: int) -> int:
    """Qt counts positions in UTF-16 units: a character beyond the BMP (CJK Extension B …) takes two."""
    return index + sum(1 for c in text[:index] if ord(c) > 0xFFFF)


class TextViewer(QDialog):
    """Shows a text (title, author, where it came from) with [start, end) of its body selected and in view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resize(760, 620)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.view = QPlainTextEdit(readOnly=True)
        self.view.setFont(ui_font())
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)

    def show_text(self, text: Any, start: int, end: int) -> None:
        """Show `text` (a corpus Text) with characters [start, end) selected and centred."""
        self.setWindowTitle(text.title or f"Text {text.id}")
        about = " · ".join(str(v) for v in (getattr(text, "author", ""), getattr(text, "collection", ""), getattr(text, "date", "")) if v)
        self.heading.setText(f"<b>{text.title}</b>" + (f" — {about}" if about else ""))
        body = text.body
        self.view.setPlainText(body)
        cursor = self.view.textCursor()
        cursor.setPosition(utf16_offset(body, start))
        cursor.setPosition(utf16_offset(body, end), QTextCursor.MoveMode.KeepAnchor)
        self.view.setTextCursor(cursor)
        self.view.centerCursor()

    def selected(self) -> str:
        """The selected text, as Python counts it (Qt writes U+2029 for a line break inside a selection)."""
        return self.view.textCursor().selectedText().replace("\u2029", "\n")
