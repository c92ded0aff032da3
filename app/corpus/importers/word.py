"""Word documents (.docx) as plain text: checked for zip bombs, then read by app.formats.word (lists, headings, tables)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from app.corpus.importers.base import ReadOptions, SkipFile, open_zip, parse_xml, read_entry
from app.corpus.records import TextRecord
from app.formats.blocks import parse_markdown, to_plain_text
from app.formats.word import import_docx

_CORE = "docProps/core.xml"
_DC = "{http://purl.org/dc/elements/1.1/}"


def read_docx(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A .docx as one text titled by its title property or first heading, else its file name."""
    with open_zip(path, options, ".docx") as archive:
        author = _author(archive) if _CORE in archive.namelist() else ""
    document = import_docx(path)  # its Markdown keeps Word's list numbering; the corpus keeps the words
    body = to_plain_text(parse_markdown(document.body))
    if not body.strip():
        raise SkipFile("no text in the document")
    yield TextRecord(document.title, body, author=author, source_path=str(path), format="docx")


def _author(archive: zipfile.ZipFile) -> str:
    """dc:creator from the document's core properties ('' when absent or unreadable)."""
    try:
        root = parse_xml(read_entry(archive, _CORE, ".docx"), "core properties")
    except SkipFile:
        return ""  # the properties are optional; the text is what is imported
    return (root.findtext(f"{_DC}creator") or "").strip()
