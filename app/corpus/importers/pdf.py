"""PDF files: the text layer read with pypdf, page by page; a PDF without one (a scan) is refused, not imported empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdf
from pypdf.errors import PyPdfError

from app.corpus.importers.base import ReadOptions, SkipFile, file_size
from app.corpus.records import TextRecord


def read_pdf(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A PDF as one text, pages separated by a blank line, titled by its Title property or else its file name."""
    file_size(path, options)
    reader = _open(path)
    try:
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:  # pypdf meets damage lazily, page by page
        raise SkipFile(f"not a readable PDF (damaged: {type(exc).__name__}: {exc})") from exc
    body = "\n\n".join(page for page in pages if page)
    if not body:
        raise SkipFile("no text layer (scanned?): run it through OCR first and import the result")
    info = reader.metadata or {}
    title = str(info.get("/Title") or "").strip() or path.stem
    yield TextRecord(title, body, author=str(info.get("/Author") or "").strip(), source_path=str(path), format="pdf")


def _open(path: Path) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):  # many PDFs are encrypted with an empty user password
            raise SkipFile("encrypted with a password: open it, save an unprotected copy and import that")
    except (PyPdfError, ValueError, OSError) as exc:
        raise SkipFile(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return reader
