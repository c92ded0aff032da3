"""Plain-text files: read UTF-8, UTF-8 with BOM or UTF-16 (with or without BOM), refuse binary files."""

from __future__ import annotations

import codecs
from pathlib import Path

from app.errors import UserError
from app.formats.blocks import document_blocks, to_plain_text

# A file whose decoded text is more than this share of control characters is data, not prose.
_MAX_CONTROL_SHARE = 0.01
_ALLOWED_CONTROLS = set("\t\n\r\f\v")


def decode_text(data: bytes, name: str) -> str:
    """Decode a text file's bytes, newlines normalised to \\n; UserError for binary or unknown encodings."""
    if data.startswith(codecs.BOM_UTF8):
        text = _decode(data[len(codecs.BOM_UTF8) :], "utf-8", name)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16", name)
    elif b"\x00" in data[:8192]:
        text = _decode(data, _bomless_utf16(data[:8192], name), name)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"{name} is not UTF-8 or UTF-16 text (byte {exc.start} cannot be read); "
                "if it is text, save it as UTF-8 in a text editor and import it again."
            ) from exc
    _refuse_binary(text, name)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _bomless_utf16(sample: bytes, name: str) -> str:
    """UTF-16 without a BOM shows as NUL bytes at every other position (for Latin text); else the file is binary."""
    even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    raise _binary(name)


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _binary(name) from exc


def _refuse_binary(text: str, name: str) -> None:
    controls = sum(1 for ch in text[:20000] if ch < " " and ch not in _ALLOWED_CONTROLS)
    if "\x00" in text or controls > _MAX_CONTROL_SHARE * max(1, len(text[:20000])):
        raise _binary(name)


def _binary(name: str) -> UserError:
    return UserError(
        f"{name} looks like a binary file, not text; import .txt, .md or .docx files, "
        "or save the document as one of these first."
    )


def read_text_file(path: Path) -> str:
    """The text of a file, decoded as decode_text does; UserError if it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror}; check the path and its permissions.") from exc
    return decode_text(data, Path(path).name)


def import_txt(path: Path) -> tuple[str, str, str]:
    """(title, body, format) of a plain-text file; the title is the file name without its extension."""
    return Path(path).stem, read_text_file(path), "text"


def export_txt(title: str, body: str, format: str, path: Path) -> None:
    """Write the document as UTF-8 plain text; Markdown markup is dropped."""
    text = to_plain_text(document_blocks(body, format)) if format == "markdown" else body
    Path(path).write_text(text, encoding="utf-8", newline="\n")
