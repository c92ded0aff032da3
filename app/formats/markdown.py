""".md files: imported as they are, exported as they are (plain-text documents are written unchanged)."""

from __future__ import annotations

from pathlib import Path

from app.formats.blocks import first_heading
from app.formats.text import read_text_file


def import_md(path: Path) -> tuple[str, str, str]:
    """(title, body, 'markdown'); the title is the leading heading if there is one, else the file name."""
    body = read_text_file(path)
    return first_heading(body) or Path(path).stem, body, "markdown"


def export_md(title: str, body: str, format: str, path: Path) -> None:
    """Write the body as UTF-8 Markdown, exactly as it is."""
    Path(path).write_text(body, encoding="utf-8", newline="\n")
