"""Text files in any encoding: UTF-8 or UTF-16 when they are, else the legacy encoding charset-normalizer detects.

Documents and corpora are read through `decode_bytes` / `read_text_file`, which say which encoding they
used, and refuse with `NotTextError` only bytes that are no text: NUL bytes outside UTF-16, control
characters, or nothing that decodes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from app.errors import UserError
from app.formats.limits import MAX_DOCUMENT_FILE, too_large

# A file whose decoded text is more than this share of control characters is data, not prose.
_MAX_CONTROL_SHARE = 0.01
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")  # below a space, less \t \n \v \f \r: counted in C, 4× a Python loop
_SAMPLE = 8192
# charset-normalizer scores a decoding by its "mess" (0 clean .. 1 noise). Western European text decodes
# almost alike in Windows-1250/1252/1257 and ISO-8859-10, so their scores differ by chance (by 0.09 for a
# paragraph of French); within this margin of the best, Windows-1252, by far the commonest, is taken.
_TIE = 0.1
_PREFERRED_SINGLE_BYTE = "cp1252"
_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE", "utf-16-be": "UTF-16BE",
    "big5": "Big5", "big5hkscs": "Big5-HKSCS", "cp932": "Shift-JIS", "shift_jis": "Shift-JIS",
    "cp949": "EUC-KR", "euc_kr": "EUC-KR", "mac-roman": "Mac Roman",
}


class NotTextError(UserError):
    """A file's bytes are not text in any encoding: binary data, or text damaged past reading."""


@dataclass(frozen=True)
class Decoded:
    """A file's text, newlines as \\n, and the encoding it was read in (a Python codec name)."""

    text: str
    encoding: str

    @property
    def label(self) -> str:
        """The encoding as people name it: UTF-8, GB18030, Big5, Shift-JIS, Windows-1252 ..."""
        name = codecs.lookup(self.encoding).name
        if re.fullmatch(r"cp125\d", name):
            return "Windows-" + name[2:]
        if name.startswith("iso8859-"):
            return "ISO-" + name[3:]
        return _LABELS.get(name, name.upper().replace("_", "-"))


def decode_bytes(data: bytes, name: str) -> Decoded:
    """Decode a text file's bytes, detecting the encoding; NotTextError (naming the file as `name`) for non-text."""
    encoding = _unicode_encoding(data, name) or _detected_encoding(data, name)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:  # detection reads samples; a later byte may still not fit
        label = Decoded("", encoding).label
        raise _not_text(name, f"it reads as {label} only up to byte {exc.start}") from exc
    _refuse_binary(text, name)
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return Decoded(text, encoding)


def read_text_file(path: Path, limit: int = MAX_DOCUMENT_FILE) -> Decoded:
    """The text of a file, decoded as decode_bytes does; UserError if it cannot be read or is past `limit` bytes."""
    try:
        # The size is checked before a byte is read: a 1 GB file is refused, never loaded.
        if reason := too_large(Path(path).stat().st_size, limit):
            raise UserError(f"Cannot read {Path(path).name}: it is {reason}; split it into smaller files.")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror}; check the path and its permissions.") from exc
    return decode_bytes(data, Path(path).name)


def _unicode_encoding(data: bytes, name: str) -> str | None:
    """UTF-8 or UTF-16 when the bytes are that (by BOM, NUL pattern or a clean decode); None to detect further."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in data[:_SAMPLE]:
        return _bomless_utf16(data[:_SAMPLE], name)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _bomless_utf16(sample: bytes, name: str) -> str:
    """UTF-16 without a BOM shows as NUL bytes at every other position (for Latin text); else the file is binary."""
    even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    raise _not_text(name, "it holds NUL bytes")


def _detected_encoding(data: bytes, name: str) -> str:
    """The legacy encoding charset-normalizer finds the least messy, Windows-1252 winning a near tie."""
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        raise _not_text(name, "no text encoding fits its bytes")
    best = matches[0]
    preferred = next((m for m in matches if m.encoding == _PREFERRED_SINGLE_BYTE), None)
    return preferred.encoding if preferred and preferred.chaos <= best.chaos + _TIE else best.encoding


def _refuse_binary(text: str, name: str) -> None:
    controls = len(_CONTROL.findall(text, 0, 20000))
    if "\x00" in text or controls > _MAX_CONTROL_SHARE * max(1, len(text[:20000])):
        raise _not_text(name, "it is mostly control characters")


def _not_text(name: str, why: str) -> NotTextError:
    return NotTextError(
        f"{name} looks like a binary file, not text ({why}); if it holds text, "
        "save it as UTF-8 text or .docx in the program that made it and import that."
    )
