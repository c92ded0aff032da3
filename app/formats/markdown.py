""".md files: imported as they are, exported as they are (plain-text documents are written unchanged)."""

from __future__ import annotations

from pathlib import Path

from app.formats.blocks import first_heading
from app.formats.encoding import read_text_file
from app.formats.imported import Imported


def import_md(path: Path) -> Imported:
    """A Markdown file as a document titled by its leading heading if there is one, else by the file name."""
    decoded = read_text_file(path)
    return Imported(first_heading(decoded.text) or Path(path).stem, decoded.text, "markdown", decoded.label)


def export_md(title: str, body: str, format: str, path: Path) -> None:
    """Write the body as UTF-8 Markdown, exactly as it is."""
    Path(path).write_text(body, encoding="utf-8", newline="\n")
