"""Squiggles: the lints one editor shows — wavy underlines by kind, the lint under the mouse, its menu and tooltip."""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QColor, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QMenu

from app.grammar import Lint

# Python indexes a str by code point, Qt by UTF-16 unit: a character past U+FFFF (an emoji, a rare Han
# ideograph) is one of the first and two of the second, so offsets before it differ by one each.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# (light theme, dark theme): red, blue and green that keep their contrast on either background.
COLOURS = {"spelling": ("#d0312d", "#ff6b6b"), "grammar": ("#1f5fd1", "#78a9ff"), "style": ("#2e7d32", "#6fcf73")}
KIND_LABELS = {"spelling": "Spelling", "grammar": "Grammar", "style": "Style"}
MAX_SUGGESTIONS = 6


def to_utf16(text: str, index: int) -> int:
    """Qt's offset of Python offset `index` in `text`."""
    return index + len(_ASTRAL.findall(text, 0, index))


def from_utf16(text: str, position: int) -> int:
    """Python's offset of Qt offset `position` in `text`."""
    if not _ASTRAL.search(text):
        return position
    units = 0
    for index, ch in enumerate(text):
        if units >= position:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


class GrammarMarks(QObject):
    """The lints shown, by paragraph (block) text: the highlighter paints them; menus and tooltips read them."""

    ignoreRequested = Signal(str, object)  # paragraph text, Lint
    wordAdded = Signal(str)
    applyRequested = Signal(int, int, str)  # document positions (Qt's) of the span, and its replacement

    def __init__(self, dark: bool = False) -> None:
        super().__init__()
        self.lints: dict[str, tuple[Lint, ...]] = {}
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        self.formats = {kind: QColor(pair[dark]) for kind, pair in COLOURS.items()}

    def paint(self, highlighter: QSyntaxHighlighter, text: str) -> None:
        """Underline this block's lints on top of the formats the highlighter already set (one character at a time)."""
        for lint in self.lints.get(text, ()):
            colour = self.formats[lint.kind]
            for pos in range(to_utf16(text, lint.start), to_utf16(text, lint.end)):
                fmt = QTextCharFormat(highlighter.format(pos))
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                fmt.setUnderlineColor(colour)
                highlighter.setFormat(pos, 1, fmt)

    def at(self, text: str, position: int) -> Lint | None:
        """The lint at Qt offset `position` of a block whose text is `text` (touching either end counts)."""
        index = from_utf16(text, position)
        return next((x for x in self.lints.get(text, ()) if x.start <= index <= x.end), None)

    def tooltip(self, lint: Lint) -> str:
        return f"{KIND_LABELS[lint.kind]}: {lint.message}"

    def extend_menu(self, menu: QMenu, text: str, block_position: int, lint: Lint) -> None:
        """Put the lint's suggestions, Ignore and Add to dictionary at the top of an editor's context menu."""
        first = menu.actions()[0] if menu.actions() else None
        start, end = block_position + to_utf16(text, lint.start), block_position + to_utf16(text, lint.end)
        problem = text[lint.start : lint.end]
        actions = []
        for s in lint.suggestions[:MAX_SUGGESTIONS]:
            act = QAction(s if s else f"Remove “{problem}”", menu)
            act.triggered.connect(lambda _=False, s=s: self.applyRequested.emit(start, end, s))
            actions.append(act)
        ignore = QAction("Ignore", menu)
        ignore.triggered.connect(lambda: self.ignoreRequested.emit(text, lint))
        actions.append(ignore)
        if lint.kind == "spelling" and problem.strip():
            add = QAction(f"Add “{problem}” to dictionary", menu)
            add.triggered.connect(lambda: self.wordAdded.emit(problem))
            actions.append(add)
        if first is None:
            menu.addActions(actions)
            return
        menu.insertActions(first, actions)
        menu.insertSeparator(first)
