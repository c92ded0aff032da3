"""PDF files: the text layer read with pypdf, page by page; a PDF without one (a scan) is refused, not imported empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdf
from pypdf.errors import LimitReachedError

from app.corpus.importers.base import ReadOptions, SkipFile, file_size
from app.corpus.records import TextRecord


def read_pdf(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A PDF as one text, pages separated by a blank line, titled by its Title property or else its file name."""
    file_size(path, options)
    try:
        reader = _open(path)
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata or {}
        title, author = str(info.get("/Title") or "").strip(), str(info.get("/Author") or "").strip()
    except SkipFile:
        raise
    except LimitReachedError as exc:  # pypdf stops inflating a stream at 75 MB
        raise SkipFile(f"a stream in it inflates past what is read (a decompression bomb?): {exc}") from exc
    # pypdf meets damage lazily, page by page, and raises its own errors and others alike (AttributeError,
    # IndexError, RecursionError ... were all seen fuzzing it): any of them means this file cannot be read.
    except Exception as exc:
        raise SkipFile(f"not a readable PDF (damaged: {type(exc).__name__}: {exc})") from exc
    body = "\n\n".join(page for page in pages if page)
    if not body:
        raise SkipFile("no text layer (scanned?): run it through OCR first and import the result")
    yield TextRecord(title or path.stem, body, author=author, source_path=str(path), format="pdf")


def _open(path: Path) -> pypdf.PdfReader:
    reader = pypdf.PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):  # many PDFs are encrypted with an empty user password
        raise SkipFile("encrypted with a password: open it, save an unprotected copy and import that")
    return reader
