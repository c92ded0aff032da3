"""The editor: plain text with light Markdown highlighting, grammar squiggles, zoom, and edits applied as one undo step."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QPoint, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QHelpEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QToolTip

from app.formats.markdown_syntax import HEADING, LIST_ITEM, QUOTE
from app.ui.grammar_marks import GrammarMarks
from app.ui.theme import text_font

_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPH = re.compile(r"(?<![*_\w])([*_])(?=\S)(.+?)(?<=\S)\1(?![*_\w])")
_CODE = re.compile(r"`[^`]+`")
# A pathological single line (a pasted megabyte with no newline) is left plain rather than scanned per keystroke.
MAX_HIGHLIGHT_LINE = 20_000


class MarkdownHighlighter(QSyntaxHighlighter):
    """Headings, emphasis, lists, quotes and code spans, then grammar marks; per block, so typing re-highlights one line."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self.marks: GrammarMarks | None = None
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        accent = QColor("#8fb4e8" if dark else "#2a5db0")
        muted = QColor("#9aa0a6" if dark else "#6b6b6b")
        self.heading = _format(accent, bold=True)
        self.marker = _format(muted)
        self.strong = _format(None, bold=True)
        self.emph = _format(None, italic=True)
        self.code = _format(QColor("#c98e4b" if dark else "#9c4f0f"))
        self.quote = _format(muted, italic=True)

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        if not text or len(text) > MAX_HIGHLIGHT_LINE:
            return
        self._markdown(text)
        if self.marks is not None:
            self.marks.paint(self, text)

    def _markdown(self, text: str) -> None:
        if HEADING.match(text):
            self.setFormat(0, len(text), self.heading)
            return
        if QUOTE.match(text):
            self.setFormat(0, len(text), self.quote)
        if m := LIST_ITEM.match(text):
            self.setFormat(0, m.end("marker"), self.marker)
        for rx, fmt in ((_STRONG, self.strong), (_EMPH, self.emph), (_CODE, self.code)):
            for m in rx.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)


def _format(color: QColor | None, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    if color is not None:
        fmt.setForeground(color)
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class Editor(QPlainTextEdit):
    """The writing surface. `focusLost` lets the window autosave when the writer looks elsewhere."""

    focusLost = Signal()
    BASE_SIZE = 12.5

    def __init__(self, dark: bool = False) -> None:
        super().__init__()
        self.setFont(text_font(self.BASE_SIZE))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().setDocumentMargin(24)
        self.highlighter = MarkdownHighlighter(self.document(), dark)
        self.zoom_steps = 0
        self.setPlaceholderText("Start writing…")

    def text(self) -> str:
        return self.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the whole text; the undo history starts afresh (a different document)."""
        self.setPlainText(text)
        self.document().clearUndoRedoStacks()
        self.document().setModified(False)

    def selection(self) -> tuple[int, int]:
        """The selection as (start, end) character offsets; equal when nothing is selected."""
        c = self.textCursor()
        return c.selectionStart(), c.selectionEnd()

    def anchor_cursor(self, start: int, end: int) -> QTextCursor:
        """A cursor over [start, end) that Qt keeps in place while the text around it changes."""
        c = QTextCursor(self.document())
        c.setPosition(start)
        c.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return c

    def replace(self, cursor: QTextCursor, text: str) -> None:
        """Replace the cursor's selection (or insert at it) as ONE step of the editor's own undo history."""
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        self.setTextCursor(cursor)

    def zoom(self, steps: int) -> None:
        """Zoom by point-size steps (0: back to the default)."""
        self.zoom_steps = 0 if steps == 0 else max(-6, min(20, self.zoom_steps + steps))
        font = self.font()
        font.setPointSizeF(self.BASE_SIZE + self.zoom_steps)
        self.setFont(font)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.focusLost.emit()

    # -- grammar marks -------------------------------------------------------------------------
    def set_marks(self, marks: GrammarMarks | None) -> None:
        """Paint `marks` from now on (None: no squiggles); the caller re-highlights what changed."""
        self.highlighter.marks = marks

    def context_menu(self, pos: QPoint) -> QMenu:
        """The right-click menu at viewport point `pos`: a lint's suggestions first when there is one under it."""
        menu = self.createStandardContextMenu()
        marks, cursor = self.highlighter.marks, self.cursorForPosition(pos)
        block = cursor.block()
        if marks is not None and (lint := marks.at(block.text(), cursor.positionInBlock())):
            marks.extend_menu(menu, block.text(), block.position(), lint)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = self.context_menu(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        """Hovering a squiggle shows its message."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent) and (marks := self.highlighter.marks):
            cursor = self.cursorForPosition(event.pos())
            lint = marks.at(cursor.block().text(), cursor.positionInBlock())
            if lint is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), marks.tooltip(lint), self.viewport())
            return True
        return super().viewportEvent(event)


def selected_text(cursor: QTextCursor) -> str:
    """A cursor's selection as plain text (Qt marks paragraph breaks with U+2029)."""
    return cursor.selectedText().replace("\u2029", "\n").replace("\u2028", "\n")
