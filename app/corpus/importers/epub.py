"""EPUB books with zipfile and lxml: container.xml to the OPF package, its metadata, then the chapters in spine order."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from app.corpus.importers.base import ReadOptions, SkipFile, open_zip, parse_xml, read_entry
from app.corpus.importers.html_page import decode_html, page_lines, parse_html
from app.corpus.records import TextRecord

_CONTAINER = "META-INF/container.xml"
_PAGE_TYPES = ("application/xhtml+xml", "text/html")


def read_epub(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """An EPUB as one text: its chapters in reading order, a blank line between them; dc:title and dc:creator kept."""
    with open_zip(path, options, ".epub") as book:
        package_path = _package_path(book)
        package = parse_xml(_entry(book, package_path), "package document")
        pages = [decode_html(_entry(book, name), name).text for name in _spine(package, package_path)]
    chapters = [page_lines(parse_html(page)) for page in pages]
    body = "\n\n".join("\n".join(lines) for lines in chapters if lines)
    if not body:
        raise SkipFile("no text in the book's chapters")
    yield TextRecord(
        _dc(package, "title") or path.stem, body, author=_dc(package, "creator"), date=_dc(package, "date"),
        source_path=str(path), format="epub",
    )


def _entry(book: zipfile.ZipFile, name: str) -> bytes:
    return read_entry(book, name, "book")


def _package_path(book: zipfile.ZipFile) -> str:
    """Where container.xml says the OPF package document is."""
    if _CONTAINER not in book.namelist():
        raise SkipFile(f"not an EPUB book (no {_CONTAINER})")
    container = parse_xml(_entry(book, _CONTAINER), "container.xml")
    paths = container.xpath("//*[local-name()='rootfile']/@full-path")
    if not paths:
        raise SkipFile(f"its {_CONTAINER} names no package document")
    return str(paths[0])


def _spine(package: etree._Element, package_path: str) -> list[str]:
    """The zip entry names of the book's pages in reading order (linear="no" extras left out), each once."""
    manifest = {
        item.get("id"): item for item in package.xpath("//*[local-name()='manifest']/*[local-name()='item']")
    }
    names: list[str] = []
    for ref in package.xpath("//*[local-name()='spine']/*[local-name()='itemref']"):
        item = manifest.get(ref.get("idref"))
        if item is None or ref.get("linear") == "no" or item.get("media-type") not in _PAGE_TYPES:
            continue
        # hrefs are URLs relative to the package document: percent-escaped, maybe with a fragment.
        href = unquote(item.get("href", "").partition("#")[0])
        name = posixpath.normpath(posixpath.join(posixpath.dirname(package_path), href))
        if name not in names:
            names.append(name)
    return names


def _dc(package: etree._Element, name: str) -> str:
    """The first Dublin Core element `name` of the package metadata, whitespace-trimmed ('' when absent)."""
    found = package.xpath(f"//*[local-name()='metadata']/*[local-name()='{name}']")
    return " ".join((found[0].text or "").split()) if found else ""
