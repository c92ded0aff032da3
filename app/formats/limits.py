"""The limits that keep hostile files harmless, shared by document import and corpus import: sizes and zip bombs.

Each check returns the reason a file is refused (None when it passes), so each caller raises its own error:
the corpus a SkipFile listed in the import report, document import a UserError naming the file.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
# A corpus file is held in memory whole while it is read; past this it is refused rather than exhausting memory.
MAX_CORPUS_FILE = 256 * MIB
# A document is opened in the editor whole: War and Peace is 3 MiB of text, so 64 MiB is far past any manuscript
# and still small enough that the editor and its revisions stay responsive.
MAX_DOCUMENT_FILE = 64 * MIB
_CHUNK = MIB  # inflated at a time while an entry is measured
_LOCAL_HEADER = 30  # bytes of a zip entry's local header before its name and extra field
# What zipfile raises opening or reading a damaged or hostile zip: a bad header or CRC (BadZipFile), a cut
# stream (EOFError), a negative offset (OSError), a corrupt deflate stream (zlib.error), an unknown compression
# method or zip version (NotImplementedError), an encrypted entry (RuntimeError), a mangled field (ValueError).
ZIP_ERRORS = (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError, ValueError)


@dataclass(frozen=True)
class ZipLimits:
    """.docx/.epub are zip files: a zip bomb declares few bytes that inflate to gigabytes.

    A real book has a few hundred entries and XML compresses about 5-20 times; these bounds are far past any
    real file. The declared sizes are what zipfile enforces while reading (it stops at an entry's file_size and
    checks its CRC), so checking them before reading bounds what inflating can cost.
    """

    entries: int = 10_000
    inflated: int = 1024 * MIB
    ratio: int = 200


def size(n: int) -> str:
    """A byte count as people read it: 5,000 bytes, 256 MiB."""
    return f"{n / MIB:,.0f} MiB" if n >= MIB else f"{n:,} bytes"


def too_large(n: int, limit: int) -> str | None:
    """Why a file of `n` bytes is refused, or None when it is within `limit`."""
    return f"larger ({size(n)}) than the {size(limit)} allowed for one file" if n > limit else None


def zip_bomb(entries: list[zipfile.ZipInfo], limits: ZipLimits = ZipLimits()) -> str | None:
    """Why a zip is refused: too many entries, too much inflated in all, one entry inflating suspiciously; else None."""
    if len(entries) > limits.entries:
        return f"a zip of {len(entries)} entries, more than the {limits.entries} allowed (a zip bomb?)"
    total = sum(e.file_size for e in entries)
    if total > limits.inflated:
        return f"it inflates to {size(total)}, more than the {size(limits.inflated)} allowed (a zip bomb?)"
    for entry in entries:
        if entry.file_size > MIB and entry.file_size > limits.ratio * max(1, entry.compress_size):
            ratio = entry.file_size // max(1, entry.compress_size)
            return f"{entry.filename} inflates {ratio}:1, past the {limits.ratio}:1 allowed (a zip bomb?)"
    return None


def overinflated(path: Path, entries: list[zipfile.ZipInfo]) -> str | None:
    """Why a zip is refused when an entry inflates past the size its headers declare, or cannot be inflated; else None.

    zipfile's read() inflates an entry's whole deflate stream in one call and only then cuts it at the declared
    size, so a header that lies (1 KB declared, gigabytes deflated) costs what the stream inflates to; each
    stream is inflated here a megabyte at a time, counted and dropped, before any library reads the file.
    And zipfile asks the file for an entry's whole compressed size at once, which Python allocates before
    reading: an entry claiming more compressed bytes than the file holds is refused too.
    """
    name, end = path.name, path.stat().st_size
    try:
        with open(path, "rb") as f:
            for entry in entries:
                name = entry.filename
                if entry.header_offset + entry.compress_size > end:
                    return f"{name} claims {size(entry.compress_size)} of compressed data, more than the file holds (damaged)"
                if entry.compress_type == zipfile.ZIP_DEFLATED and _inflates_past(f, entry):
                    return f"{entry.filename} inflates past the {size(entry.file_size)} its header declares (a zip bomb?)"
                if entry.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
                    return f"{entry.filename} is compressed with method {entry.compress_type}, which these files never use"
    except (OSError, zlib.error, struct.error) as exc:
        return f"{name} inside it is damaged ({exc})"
    return None


def _inflates_past(f, entry: zipfile.ZipInfo) -> bool:
    """Whether an entry's deflate stream inflates to more than its declared file_size."""
    f.seek(entry.header_offset + 26)
    name_length, extra_length = struct.unpack("<HH", f.read(4))
    f.seek(entry.header_offset + _LOCAL_HEADER + name_length + extra_length)
    inflate, left, inflated, pending = zlib.decompressobj(-zlib.MAX_WBITS), entry.compress_size, 0, b""
    while not inflate.eof and inflated <= entry.file_size:
        if not pending:
            pending = f.read(min(_CHUNK, left))
            left -= len(pending)
            if not pending:
                break  # the stream is cut short: zipfile calls that damaged when it is read
        inflated += len(inflate.decompress(pending, _CHUNK))
        pending = inflate.unconsumed_tail
    return inflated > entry.file_size
