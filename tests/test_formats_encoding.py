"""Text files in the encodings people have: detected, named in the import, refused only when they are not text."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.formats import import_file
from app.formats.encoding import NotTextError, decode_bytes

GB_POEM = "吉祥的𠮷字在GB18030里占四个字节。\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n"
BIG5_POEM = "「靜夜思」李白\n床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n"
SJIS_NOVEL = "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。\n"
WESTERN = "“Café crème,” she said — naïve, déjà vu.\r\nIt’s the façade’s fault, señor.\r\n"


@pytest.mark.parametrize(
    "text, encoding, label",
    [
        (GB_POEM, "gb18030", "GB18030"),
        (BIG5_POEM, "big5", "Big5"),
        (SJIS_NOVEL, "shift_jis", "Shift-JIS"),
        (WESTERN, "cp1252", "Windows-1252"),
    ],
    ids=["gb18030", "big5", "shift-jis", "windows-1252"],
)
def test_legacy_encodings_are_detected_and_named(tmp_path: Path, text: str, encoding: str, label: str) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes(text.encode(encoding))
    imported = import_file(path)
    assert imported.body == text.replace("\r\n", "\n")
    assert imported.encoding == label


def test_markdown_in_a_legacy_encoding_keeps_its_heading(tmp_path: Path) -> None:
    path = tmp_path / "poem.md"
    path.write_bytes(("# 春晓\n\n" + GB_POEM).encode("gb18030"))
    imported = import_file(path)
    assert (imported.title, imported.format, imported.encoding) == ("春晓", "markdown", "GB18030")


def test_utf8_is_read_as_utf8() -> None:
    decoded = decode_bytes("Grüße, 世界".encode("utf-8"), "greeting.txt")
    assert (decoded.text, decoded.encoding, decoded.label) == ("Grüße, 世界", "utf-8", "UTF-8")


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "NUL bytes"),
        (bytes(range(1, 256)) * 4, "no text encoding fits"),
        ("".join(chr(c) for c in range(1, 9)).encode() * 50, "control characters"),
    ],
    ids=["nul-bytes", "no-encoding", "control-characters"],
)
def test_what_is_not_text_is_refused_with_a_reason(tmp_path: Path, data: bytes, why: str) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(data)
    with pytest.raises(NotTextError, match=f"picture.txt looks like a binary file.*{why}.*save it as UTF-8"):
        import_file(path)
