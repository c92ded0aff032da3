"""Files of every format the corpus imports, and broken ones, written by the tests themselves (nothing downloaded)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import pypdf

POEM = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
GB18030_TEXT = "𠮷字在GB18030中占四个字节。\n白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。\n"
BIG5_TEXT = "「登鸛雀樓」王之渙\n白日依山盡，黃河入海流。\n欲窮千里目，更上一層樓。\n"


def write_docx(path: Path, title: str = "A Word Title", author: str = "Ann Writer") -> Path:
    """A .docx with a heading, a paragraph and a numbered list, and title and author properties."""
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = author
    document.add_heading("Chapter One", level=1)
    document.add_paragraph("It was a bright cold day in April.")
    document.add_paragraph("first step", style="List Number")
    document.add_paragraph("second step", style="List Number")
    document.save(str(path))
    return path


def write_truncated_docx(path: Path, tmp: Path) -> Path:
    """The first half of a real .docx: its zip directory, at the end, is gone."""
    data = write_docx(tmp / "whole.docx").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_zip_bomb_docx(path: Path, inflated: int = 20 * 1024 * 1024) -> Path:
    """A .docx-shaped zip whose document.xml is `inflated` bytes of zeros, deflated about 1000:1."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", bytes(inflated))
    return path


def write_epub(path: Path, chapters: list[tuple[str, str]], title: str = "A Book", creator: str = "Bo Author") -> Path:
    """An EPUB 3 whose spine lists the chapters (file name, XHTML body) in the given order, the manifest reversed."""
    items = "\n".join(
        f'<item id="c{n}" href="text/{name.replace(" ", "%20")}" media-type="application/xhtml+xml"/>'
        for n, (name, _) in reversed(list(enumerate(chapters)))
    )
    spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
    package = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:uuid:1</dc:identifier><dc:title>{title}</dc:title>
    <dc:creator>{creator}</dc:creator><dc:date>1925-04-10</dc:date><dc:language>en</dc:language>
  </metadata>
  <manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{items}</manifest>
  <spine><itemref idref="nav" linear="no"/>{spine}</spine>
</package>"""
    container = """<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"""
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        book.writestr("META-INF/container.xml", container)
        book.writestr("OEBPS/content.opf", package)
        book.writestr("OEBPS/nav.xhtml", _xhtml("Contents", "<nav><ol><li>Table of contents</li></ol></nav>"))
        for name, body in chapters:
            book.writestr(f"OEBPS/text/{name}", _xhtml(name, body), compress_type=zipfile.ZIP_DEFLATED)
    return path


def _xhtml(title: str, body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}'
            f"</title></head><body>{body}</body></html>")


def write_text_pdf(path: Path, lines: list[str], title: str = "") -> Path:
    """A one-page PDF, written by hand, whose text layer holds `lines` in Helvetica."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    content = ("BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({line}) '" for line in escaped) + " ET").encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Title (%s) >>" % title.encode("latin-1"),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF with a page and no text layer, as a scanner makes (here without even the image)."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    with path.open("wb") as f:
        writer.write(f)
    return path


def write_html(path: Path) -> Path:
    path.write_text(
        """<!DOCTYPE html><html><head><title>The  Page</title><meta name="author" content="Web Author">
<style>p { color: red }</style><script>var hidden = "no";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Heading</h1><p>First <b>bold</b>
paragraph.</p><!-- a comment --><p>床前明月光，
疑是地上霜。</p><ul><li>one</li><li>two</li></ul><script>document.write("nope")</script></body></html>""",
        encoding="utf-8",
    )
    return path


def poetry_records(count: int, start: int = 0) -> list[dict]:
    """chinese-poetry-shaped records: title, author and a list of lines as paragraphs, each poem distinct."""
    return [
        {"title": f"诗{n}", "author": "李白", "paragraphs": [f"第{n}首，床前明月光。", "举头望明月，低头思故乡。"]}
        for n in range(start, start + count)
    ]


def write_json(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
