"""What every reader shares: its options, the error that skips a file, and the limits that keep hostile files harmless."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from app.errors import UserError
from app.formats.limits import MAX_CORPUS_FILE, ZIP_ERRORS, ZipLimits, overinflated, too_large, zip_bomb

_ZIP = ZipLimits()


@dataclass(frozen=True)
class ReadOptions:
    """How readers read: the field mapping of CSV/JSON records, and the limits past which a file is skipped."""

    fields: dict[str, str] | None = None  # {"title": KEY, "author": KEY, "body": KEY, ...}; None: guessed per file
    max_bytes: int = MAX_CORPUS_FILE  # app.formats.limits says why each limit is what it is
    max_zip_entries: int = _ZIP.entries
    max_zip_bytes: int = _ZIP.inflated
    max_zip_ratio: int = _ZIP.ratio
    # Parsed records cost far more than their text: `{}` is 3 bytes of JSON and ~110 as a Python dict, a
    # one-cell CSV row ~200, so a 256 MiB file of them would take gigabytes. Values (JSON values, CSV cells)
    # are bounded by a count of the marks beside them before parsing; past this many (~800 MB parsed at worst;
    # a chinese-poetry file of 300,000 poems holds ~2.5 million) the file is refused.
    max_values: int = 4_000_000
    max_folder_depth: int = 32  # folders are walked this deep at most (a hostile tree)


class SkipFile(UserError):
    """A file cannot be imported; the message is the reason shown in the import report."""


def file_size(path: Path, options: ReadOptions) -> int:
    """The size of a file, SkipFile when it is past the size cap or cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"cannot be read ({exc.strerror})") from exc
    if reason := too_large(size, options.max_bytes):
        raise SkipFile(reason)
    return size


def read_capped(path: Path, options: ReadOptions) -> bytes:
    """A file's bytes, SkipFile when it is past the size cap or cannot be read."""
    file_size(path, options)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot be read ({exc.strerror})") from exc


def open_zip(path: Path, options: ReadOptions, kind: str) -> zipfile.ZipFile:
    """Open a .docx/.epub as a zip after checking its entries against the zip-bomb limits."""
    file_size(path, options)
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise SkipFile(f"not a readable {kind} file (damaged or truncated: {exc})") from exc
    try:
        check_zip(archive.infolist(), options)
        if reason := overinflated(path, archive.infolist()):  # after the declared sizes passed: it inflates each
            raise SkipFile(reason)
    except SkipFile:
        archive.close()
        raise
    return archive


def read_entry(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """An entry's bytes, SkipFile when the `kind` file does not hold it or it is damaged."""
    try:
        return archive.read(name)
    except KeyError as exc:
        raise SkipFile(f"the {kind} names {name}, which it does not hold") from exc
    except ZIP_ERRORS as exc:
        raise SkipFile(f"{name} inside it is damaged ({type(exc).__name__}: {exc})") from exc


def check_zip(entries: list[zipfile.ZipInfo], options: ReadOptions) -> None:
    """SkipFile when a zip has too many entries, inflates too far in all, or one entry inflates suspiciously."""
    limits = ZipLimits(options.max_zip_entries, options.max_zip_bytes, options.max_zip_ratio)
    if reason := zip_bomb(entries, limits):
        raise SkipFile(reason)


def parse_xml(data: bytes, what: str) -> etree._Element:
    """An XML document's root, SkipFile naming `what` when it is not well-formed."""
    # External entities and DTDs are never loaded: a book's XML must not read other files or the network.
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"its {what} is not well-formed XML ({exc})") from exc
