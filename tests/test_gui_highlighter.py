"""The editor's highlighter reads Markdown lines as the exporters do: one line syntax for both."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from app.formats.blocks import parse_markdown
from app.ui.editor import MarkdownHighlighter

LINES = ["   # Indented heading", "    - nested item", "#hashtag", "  > quoted", "2) second"]


def _marked(document: QTextDocument, line: int) -> list[tuple[int, int]]:
    return [(r.start, r.length) for r in document.findBlockByNumber(line).layout().formats()]


def test_highlighter_and_reader_agree_on_each_line(qtbot) -> None:
    document = QTextDocument()
    highlighter = MarkdownHighlighter(document)
    document.setPlainText("\n\n".join(LINES))
    highlighter.rehighlight()
    kinds = [b.kind for b in parse_markdown("\n\n".join(LINES))]
    assert kinds == ["heading", "bullet", "paragraph", "quote", "ordered"]
    assert _marked(document, 0) == [(0, len(LINES[0]))]
    assert _marked(document, 2) == [(0, len("    -"))]
    assert _marked(document, 4) == []
    assert _marked(document, 6) == [(0, len(LINES[3]))]
    assert _marked(document, 8) == [(0, 2)]
