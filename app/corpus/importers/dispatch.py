"""Which reader reads a file: by its extension, or by its content where the extension lies."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from app.corpus.importers.base import ReadOptions, SkipFile
from app.formats.limits import ZIP_ERRORS
from app.corpus.importers.epub import read_epub
from app.corpus.importers.html_page import read_html
from app.corpus.importers.pdf import read_pdf
from app.corpus.importers.tabular import read_csv, read_json, read_jsonl, sample_objects
from app.corpus.importers.text import read_md, read_txt
from app.corpus.importers.word import read_docx
from app.corpus.records import TextRecord

Reader = Callable[[Path, ReadOptions], Iterator[TextRecord]]

READERS: dict[str, Reader] = {
    "txt": read_txt, "md": read_md, "html": read_html, "docx": read_docx, "epub": read_epub, "pdf": read_pdf,
    "csv": read_csv, "json": read_json, "jsonl": read_jsonl,
}
EXTENSIONS = {
    "txt": "txt", "text": "txt", "md": "md", "markdown": "md", "html": "html", "htm": "html", "xhtml": "html",
    "docx": "docx", "epub": "epub", "pdf": "pdf", "csv": "csv", "tsv": "csv", "json": "json", "jsonl": "jsonl",
    "ndjson": "jsonl",
}
RECORD_FORMATS = ("csv", "json", "jsonl")  # the formats read through a field mapping
_HEAD = 4096


def file_format(path: Path) -> str:
    """The format a file is read as: what its bytes show it is (PDF, Word, EPUB, HTML), else its extension's."""
    by_extension = EXTENSIONS.get(path.suffix.lower().lstrip("."))
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD)
    except OSError as exc:
        raise SkipFile(f"cannot be read ({exc.strerror})") from exc
    sniffed = _sniffed(path, head)
    if sniffed and (by_extension is None or by_extension in ("txt", "md") or sniffed in ("pdf", "docx", "epub")):
        return sniffed
    if by_extension is None and b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkipFile("a binary file, not a format Scriptorium imports")
    return by_extension or "txt"


def _sniffed(path: Path, head: bytes) -> str | None:
    """The format the first bytes of a file show, if they show one."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_format(path)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:256].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def _zip_format(path: Path) -> str | None:
    """docx or epub by the entries a zip holds (its directory only is read); None for another zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except ZIP_ERRORS:
        return None  # a damaged zip: the reader its extension names says what is wrong
    if "word/document.xml" in names:
        return "docx"
    if "META-INF/container.xml" in names:
        return "epub"
    return None


def read_file(path: Path, options: ReadOptions | None = None) -> Iterator[TextRecord]:
    """The texts of one file, read by the reader its format needs; SkipFile (a UserError) when it cannot be."""
    path = Path(path)
    return READERS[file_format(path)](path, options or ReadOptions())


def preview(path: Path, fields: dict[str, str] | None = None, n: int = 5) -> list[TextRecord]:
    """The first `n` texts a file gives with a field mapping (None: guessed), for the app's mapping dialog."""
    return list(islice(read_file(path, ReadOptions(fields=fields)), n))


def sample(path: Path, n: int = 5) -> list[dict]:
    """The first `n` records of a CSV/JSON/JSONL file as they are, to show their keys and pass to guess_fields."""
    fmt = file_format(Path(path))
    if fmt not in RECORD_FORMATS:
        raise SkipFile(f"a {fmt} file holds one text, not records to map")
    return sample_objects(Path(path), fmt, ReadOptions(), n)
