"""EPUB 3 export written with zipfile: one XHTML chapter per top-level heading, a nav document and the package."""

from __future__ import annotations

import html
import re
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from app.formats.blocks import Block, blocks_html, document_blocks, runs_text
from app.scripts import UNSPACED

_CJK = re.compile(f"[{UNSPACED}]")

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/package.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def split_chapters(title: str, blocks: list[Block]) -> list[tuple[str, list[Block]]]:
    """(chapter title, blocks) at each heading of the highest level used; text before the first is its own chapter."""
    top = min((b.level for b in blocks if b.kind == "heading"), default=0)
    chapters: list[tuple[str, list[Block]]] = []
    for block in blocks:
        if block.kind == "heading" and block.level == top:
            chapters.append((runs_text(block.runs), [block]))
        elif chapters:
            chapters[-1][1].append(block)
        else:
            chapters.append((title, [block]))
    return chapters or [(title, [])]


def guess_language(text: str) -> str:
    """'zh' when Chinese characters are a good share of the letters, else 'en' (EPUB needs some language)."""
    letters = sum(ch.isalpha() for ch in text[:20000])
    return "zh" if letters and len(_CJK.findall(text[:20000])) / letters > 0.3 else "en"


def export_epub(title: str, body: str, format: str, path: Path) -> None:
    """Write the document as a minimal valid EPUB 3 book."""
    chapters = split_chapters(title, document_blocks(body, format))
    lang = guess_language(body)
    with zipfile.ZipFile(path, "w") as book:
        # The OCF spec requires `mimetype` first and stored uncompressed, so readers can sniff the type.
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        for number, (chapter_title, blocks) in enumerate(chapters, 1):
            page = _xhtml(chapter_title, blocks_html(blocks), lang)
            book.writestr(f"OEBPS/chapter-{number}.xhtml", page, compress_type=zipfile.ZIP_DEFLATED)
        book.writestr("OEBPS/nav.xhtml", _nav(title, chapters, lang), compress_type=zipfile.ZIP_DEFLATED)
        book.writestr("OEBPS/package.opf", _package(title, len(chapters), lang), compress_type=zipfile.ZIP_DEFLATED)


def _xhtml(title: str, content: str, lang: str, extra_ns: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"{extra_ns} xml:lang="{lang}" lang="{lang}">\n'
        f"<head><meta charset=\"UTF-8\"/><title>{html.escape(title)}</title></head>\n"
        f"<body>\n{content}\n</body>\n</html>\n"
    )


def _nav(title: str, chapters: list[tuple[str, list[Block]]], lang: str) -> str:
    items = "\n".join(
        f'<li><a href="chapter-{n}.xhtml">{html.escape(name or f"Chapter {n}")}</a></li>'
        for n, (name, _) in enumerate(chapters, 1)
    )
    content = f'<nav epub:type="toc" id="toc"><h1>{html.escape(title)}</h1>\n<ol>\n{items}\n</ol>\n</nav>'
    return _xhtml(title, content, lang, extra_ns=' xmlns:epub="http://www.idpf.org/2007/ops"')


def _package(title: str, count: int, lang: str) -> str:
    modified = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = "\n    ".join(
        f'<item id="chapter-{n}" href="chapter-{n}.xhtml" media-type="application/xhtml+xml"/>' for n in range(1, count + 1)
    )
    spine = "\n    ".join(f'<itemref idref="chapter-{n}"/>' for n in range(1, count + 1))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="book-id" xml:lang="{lang}">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="book-id">urn:uuid:{uuid.uuid4()}</dc:identifier>
    <dc:title>{html.escape(title)}</dc:title>
    <dc:language>{lang}</dc:language>
    <meta property="dcterms:modified">{modified}</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    {manifest}
  </manifest>
  <spine>
    {spine}
  </spine>
</package>
"""
