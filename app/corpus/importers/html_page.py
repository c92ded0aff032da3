"""HTML pages (.html, .htm) with lxml.html: scripts, styles and navigation dropped, one paragraph per line."""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html
from lxml import etree

from app.corpus.importers.base import ReadOptions, SkipFile, read_capped
from app.corpus.records import TextRecord
from app.formats.encoding import Decoded, decode_bytes
from app.scripts import CJK_PUNCT, UNSPACED

# Never text a reader sees as the page's prose.
_DROPPED = ("script", "style", "nav", "noscript", "template", "head")
# Elements that start and end a line of their own; everything else flows inside a line.
_BLOCKS = frozenset(
    "p div h1 h2 h3 h4 h5 h6 li dt dd blockquote pre tr table ul ol dl section article header footer aside "
    "main figure figcaption address hr br caption details summary".split()
)
_DECLARED = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?([A-Za-z0-9_.:-]+)|<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES = re.compile(r"\s+")
# A line break inside a paragraph of Chinese or Japanese is no space (CSS Text 3 drops it there too).
_CJK = f"[{UNSPACED}{CJK_PUNCT}]"
_CJK_BREAK = re.compile(f"(?<={_CJK})[ \\t]*\\n\\s*(?={_CJK})")


def read_html(path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """An HTML page as one text titled by its <title> or first <h1>, else its file name."""
    decoded = decode_html(read_capped(path, options), path.name)
    root = parse_html(decoded.text)
    title = page_title(root) or path.stem
    author = (root.xpath("string(//meta[@name='author']/@content)") or "").strip()
    body = "\n".join(page_lines(root))
    if not body:
        raise SkipFile("no text in the page")
    yield TextRecord(title, body, author=author, source_path=str(path), encoding=decoded.label, format="html")


def decode_html(data: bytes, name: str) -> Decoded:
    """A page's text: UTF-8 when it is, else the charset the page declares, else the encoding detected."""
    declared = _declared_charset(data)
    if declared:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return Decoded(data.decode(declared).replace("\r\n", "\n"), declared)
            except (UnicodeError, LookupError):
                # The declaration is wrong, or names a codec that is no text encoding (rot13, zlib) or refuses
                # every byte (undefined): detect as for any text file.
                pass
    return decode_bytes(data, name)


def _declared_charset(data: bytes) -> str | None:
    """The charset a <meta> or XML declaration names in the first 4 KB, when Python knows it."""
    m = _DECLARED.search(data[:4096])
    name = (m.group(1) or m.group(2)).decode("ascii") if m else ""
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def parse_html(text: str) -> lxml.html.HtmlElement:
    """A page's element tree (lxml.html repairs broken markup as browsers do)."""
    # lxml refuses a str that still carries an encoding declaration; the text is decoded already.
    text = _XML_DECLARATION.sub("", text, count=1)
    parser = lxml.html.HTMLParser()  # one per call: lxml parsers must not be shared between threads
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise SkipFile(f"not a readable HTML page ({exc})") from exc
    # libxml2 stops parsing at 256 nested elements and drops the rest of the page: refused, not imported cut short.
    if any(error.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for error in parser.error_log):
        raise SkipFile("its markup nests elements more than 256 deep, past what is read; the text beyond would be lost")
    return root


def page_title(root: lxml.html.HtmlElement) -> str:
    """The page's <title>, else its first <h1>, whitespace collapsed ('' when it has neither)."""
    for found in (root.find(".//title"), root.find(".//h1")):
        if found is not None and (text := _SPACES.sub(" ", found.text_content()).strip()):
            return text
    return ""


def page_lines(root: lxml.html.HtmlElement) -> list[str]:
    """The page's visible text, one non-empty line per paragraph, heading or list item."""
    root = _copy_without_hidden(root)
    parts: list[str] = []
    in_pre = 0
    # iterwalk, not recursion: a hostile page may nest elements thousands deep.
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            in_pre += tag == "pre"
            parts.append("\n" if tag in _BLOCKS else "")
            parts.append(_flow(element.text, in_pre))
        else:
            in_pre -= tag == "pre"
            parts.append("\n" if tag in _BLOCKS else "")
            parts.append(_flow(element.tail, in_pre))
    text = "".join(parts)
    return [line.strip() for line in text.split("\n") if line.strip()]


def _copy_without_hidden(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """A copy of the <body> (or the whole page) without scripts, styles, navigation and comments."""
    body = root.find("body")
    shown = copy.deepcopy(body if body is not None else root)
    etree.strip_elements(shown, *_DROPPED, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    return shown


def _flow(text: str | None, in_pre: int) -> str:
    """Text as it flows in a line: whitespace runs become one space, except inside <pre>."""
    if not text:
        return ""
    return text if in_pre else _SPACES.sub(" ", _CJK_BREAK.sub("", text))
