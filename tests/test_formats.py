"""Import and export of documents: every format round-trips, and bad files get clear errors."""

from __future__ import annotations

import codecs
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import docx
import pytest
from odf import teletype, text as odftext
from odf.opendocument import load as load_odt

from app.errors import UserError
from app.formats import Imported, export_document, import_file
from app.store import Document

SAMPLE = """# The Harbour

It was **very** early and *quiet*; the boats were ***still***.
A second line.

## At sea

- nets
- ropes **tight**

1. leave
2. return

> The sea does not forgive.

# 月光

床前明月光，疑是地上霜。"""


def _doc(body: str = SAMPLE, format: str = "markdown", title: str = "The Harbour") -> Document:
    return Document(id=1, title=title, body=body, format=format, created="", updated="", trashed_at=None)


def test_markdown_round_trip(tmp_path: Path) -> None:
    path = export_document(_doc(), tmp_path / "book.md")
    assert import_file(path) == Imported("The Harbour", SAMPLE, "markdown", "UTF-8")


def test_text_round_trip(tmp_path: Path) -> None:
    body = "Line one.\n\n  indented 中文\ttab\n"
    path = export_document(_doc(body, "text"), tmp_path / "notes.txt")
    assert import_file(path) == Imported("notes", body, "text", "UTF-8")


def test_markdown_to_text_drops_markup(tmp_path: Path) -> None:
    text = import_file(export_document(_doc(), tmp_path / "plain.txt")).body
    assert "It was very early and quiet; the boats were still." in text
    assert "- ropes tight" in text and "2. return" in text
    assert "#" not in text and "*" not in text


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + "Grüße, 世界\r\nzwei".encode("utf-8"),
        codecs.BOM_UTF16_LE + "Grüße, 世界\r\nzwei".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "Grüße, 世界\r\nzwei".encode("utf-16-be"),
        "Grüße, 世界\r\nzwei".encode("utf-16-le"),
        "Grüße, 世界\rzwei".encode("utf-8"),
    ],
    ids=["utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le-no-bom", "utf8-cr"],
)
def test_text_encodings_are_detected(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "greeting.txt"
    path.write_bytes(data)
    assert import_file(path).body == "Grüße, 世界\nzwei"


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(UserError, match="binary file"):
        import_file(path)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"imports \.md, \.txt and \.docx"):
        import_file(tmp_path / "a.pdf")
    with pytest.raises(UserError, match="No file"):
        import_file(tmp_path / "missing.md")
    with pytest.raises(UserError, match="choose a format"):
        export_document(_doc(), tmp_path / "out.pdf")


def test_docx_export_has_styles_and_round_trips(tmp_path: Path) -> None:
    path = export_document(_doc(), tmp_path / "book.docx")
    word = docx.Document(str(path))
    assert word.core_properties.title == "The Harbour"
    styled = [(p.style.name, p.text) for p in word.paragraphs]
    assert ("Heading 1", "The Harbour") in styled and ("Heading 2", "At sea") in styled
    assert ("List Bullet", "nets") in styled and ("List Number", "return") in styled
    assert ("Quote", "The sea does not forgive.") in styled
    para = next(p for p in word.paragraphs if p.text.startswith("It was"))
    assert [r.text for r in para.runs if r.bold] == ["very", "still"]
    assert [r.text for r in para.runs if r.italic] == ["quiet", "still"]
    assert import_file(path) == Imported("The Harbour", SAMPLE, "markdown")


def test_plain_document_to_docx(tmp_path: Path) -> None:
    path = export_document(_doc("*not markup*\n\nsecond", "text", "Plain"), tmp_path / "plain.docx")
    assert [p.text for p in docx.Document(str(path)).paragraphs] == ["*not markup*", "second"]


def test_corrupt_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this zip is cut short")
    with pytest.raises(UserError, match="not a readable .docx"):
        import_file(path)


def test_odt_export_opens_with_headings_and_text(tmp_path: Path) -> None:
    path = export_document(_doc(), tmp_path / "book.odt")
    with zipfile.ZipFile(path) as z:
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.text"
    odt = load_odt(str(path))
    headings = [(h.getAttribute("outlinelevel"), teletype.extractText(h)) for h in odt.getElementsByType(odftext.H)]
    assert headings == [("1", "The Harbour"), ("2", "At sea"), ("1", "月光")]
    paragraphs = [teletype.extractText(p) for p in odt.getElementsByType(odftext.P)]
    assert "It was very early and quiet; the boats were still.\nA second line." in paragraphs
    assert "床前明月光，疑是地上霜。" in paragraphs
    assert len(odt.getElementsByType(odftext.ListItem)) == 4


def test_epub_structure(tmp_path: Path) -> None:
    path = export_document(_doc(), tmp_path / "book.epub")
    with zipfile.ZipFile(path) as book:
        first = book.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert book.read("mimetype") == b"application/epub+zip"
        assert book.testzip() is None
        container = ET.fromstring(book.read("META-INF/container.xml"))
        rootfile = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile")
        opf_path = rootfile.get("full-path")
        ns = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
        opf = ET.fromstring(book.read(opf_path))
        assert opf.find(".//dc:title", ns).text == "The Harbour"
        assert opf.find(".//opf:item[@properties='nav']", ns) is not None
        spine = [ref.get("idref") for ref in opf.findall(".//opf:spine/opf:itemref", ns)]
        assert spine == ["chapter-1", "chapter-2"], "one chapter per top-level heading"
        chapters = [ET.fromstring(book.read(f"OEBPS/{ref}.xhtml")) for ref in spine]
        nav = book.read("OEBPS/nav.xhtml").decode()
    assert "At sea" in ET.tostring(chapters[0], encoding="unicode")
    assert "床前明月光" in ET.tostring(chapters[1], encoding="unicode")
    assert ">The Harbour</a>" in nav and ">月光</a>" in nav


def test_export_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "book.md"
    target.write_text("old")
    with pytest.raises(UserError):
        export_document(_doc(), tmp_path / "missing-folder" / "book.md")
    export_document(_doc("new"), target)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.md"]
