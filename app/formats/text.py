""".txt files: read in whatever encoding they are in (see encoding.py), written as UTF-8 plain text."""

from __future__ import annotations

from pathlib import Path

from app.formats.blocks import document_blocks, to_plain_text
from app.formats.encoding import read_text_file
from app.formats.imported import Imported


def import_txt(path: Path) -> Imported:
    """A plain-text file as a document titled by the file name without its extension."""
    decoded = read_text_file(path)
    return Imported(Path(path).stem, decoded.text, "text", decoded.label)


def export_txt(title: str, body: str, format: str, path: Path) -> None:
    """Write the document as UTF-8 plain text; Markdown markup is dropped."""
    text = to_plain_text(document_blocks(body, format)) if format == "markdown" else body
    Path(path).write_text(text, encoding="utf-8", newline="\n")
