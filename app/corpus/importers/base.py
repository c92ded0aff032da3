"""What every reader shares: its options, the error that skips a file, and the limits that keep hostile files harmless."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from app.errors import UserError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ReadOptions:
    """How readers read: the field mapping of CSV/JSON records, and the limits past which a file is skipped."""

    fields: dict[str, str] | None = None  # {"title": KEY, "author": KEY, "body": KEY, ...}; None: guessed per file
    # A whole file is held in memory while it is read; past this it is refused rather than exhausting memory.
    max_bytes: int = 256 * MIB
    # .docx/.epub are zip files: a zip bomb declares few bytes that inflate to gigabytes. A real book has a few
    # hundred entries and XML compresses about 5-20 times; these bounds are far past any real file.
    max_zip_entries: int = 10_000
    max_zip_bytes: int = 1024 * MIB
    max_zip_ratio: int = 200
    max_folder_depth: int = 32  # folders are walked this deep at most (a hostile tree)


class SkipFile(UserError):
    """A file cannot be imported; the message is the reason shown in the import report."""


def file_size(path: Path, options: ReadOptions) -> int:
    """The size of a file, SkipFile when it is past the size cap or cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"cannot be read ({exc.strerror})") from exc
    if size > options.max_bytes:
        raise SkipFile(f"larger ({_size(size)}) than the {_size(options.max_bytes)} allowed for one file")
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
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SkipFile(f"not a readable {kind} file (damaged or truncated: {exc})") from exc
    try:
        check_zip(archive.infolist(), options)
    except SkipFile:
        archive.close()
        raise
    return archive


def check_zip(entries: list[zipfile.ZipInfo], options: ReadOptions) -> None:
    """SkipFile when a zip has too many entries, inflates too far in all, or one entry inflates suspiciously."""
    if len(entries) > options.max_zip_entries:
        raise SkipFile(f"a zip of {len(entries)} entries, more than the {options.max_zip_entries} allowed (a zip bomb?)")
    # The declared sizes are what zipfile enforces while reading (it stops at file_size and checks the CRC),
    # so checking them before reading bounds what inflating can cost.
    total = sum(e.file_size for e in entries)
    if total > options.max_zip_bytes:
        raise SkipFile(f"inflates to {_size(total)}, more than the {_size(options.max_zip_bytes)} allowed (a zip bomb?)")
    for entry in entries:
        if entry.file_size > MIB and entry.file_size > options.max_zip_ratio * max(1, entry.compress_size):
            ratio = entry.file_size // max(1, entry.compress_size)
            raise SkipFile(f"{entry.filename} inflates {ratio}:1, past the {options.max_zip_ratio}:1 allowed (a zip bomb?)")


def _size(n: int) -> str:
    return f"{n / MIB:,.0f} MiB" if n >= MIB else f"{n:,} bytes"


def parse_xml(data: bytes, what: str) -> etree._Element:
    """An XML document's root, SkipFile naming `what` when it is not well-formed."""
    # External entities and DTDs are never loaded: a book's XML must not read other files or the network.
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SkipFile(f"its {what} is not well-formed XML ({exc})") from exc
