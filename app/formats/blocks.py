"""A document body as blocks (headings, paragraphs, lists, quotes, code) of bold/italic/code runs.

The small Markdown reader behind every exporter, with the blocks written back as plain text or XHTML.
It covers what a writer types, not CommonMark: enough for exporters to turn headings and emphasis into
real styles. Plain-text documents become paragraphs with no markup read into them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "bullet", "ordered", "quote", "code"]


@dataclass(frozen=True)
class Run:
    """A stretch of text with one formatting."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False


@dataclass
class Block:
    """A heading (level 1-6), paragraph, list item, quote or code block; text lines joined with newlines."""

    kind: BlockKind
    text: str
    level: int = 0
    runs: list[Run] = field(default_factory=list)


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_ORDERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_INLINE = re.compile(
    r"`([^`]+)`"
    r"|\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"
    r"|\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"
    r"|\*(?=\S)(.+?)(?<=\S)\*|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)",
    re.DOTALL,
)


def parse_runs(text: str, bold: bool = False, italic: bool = False) -> list[Run]:
    """Split inline Markdown into runs: `code`, ***both***, **bold**/__bold__, *italic*/_italic_."""
    runs: list[Run] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            runs.append(Run(text[pos : m.start()], bold, italic))
        code, both, b1, b2, i1, i2 = m.groups()
        if code is not None:
            runs.append(Run(code, bold, italic, code=True))
        elif both is not None:
            runs += parse_runs(both, True, True)
        elif (b1 or b2) is not None:
            runs += parse_runs(b1 if b1 is not None else b2, True, italic)
        else:
            runs += parse_runs(i1 if i1 is not None else i2, bold, True)
        pos = m.end()
    if pos < len(text):
        runs.append(Run(text[pos:], bold, italic))
    return runs


def parse_markdown(source: str) -> list[Block]:
    """Blocks of a Markdown text, in order."""
    blocks: list[Block] = []
    para: list[str] = []
    lines = source.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            _flush(blocks, para)
            end = next((j for j in range(i + 1, len(lines)) if _FENCE.match(lines[j])), len(lines))
            blocks.append(Block("code", "\n".join(lines[i + 1 : end])))
            i = end + 1
            continue
        _read_line(line, blocks, para)
        i += 1
    _flush(blocks, para)
    for block in blocks:
        if block.kind != "code":
            block.runs = parse_runs(block.text)
    return blocks


def _read_line(line: str, blocks: list[Block], para: list[str]) -> None:
    """Add one non-code line to the blocks, or to the paragraph being gathered."""
    if not line.strip():
        _flush(blocks, para)
        return
    for pattern, kind in ((_HEADING, "heading"), (_BULLET, "bullet"), (_ORDERED, "ordered")):
        m = pattern.match(line)
        if m:
            _flush(blocks, para)
            level = len(m.group(1)) if kind == "heading" else 0
            blocks.append(Block(kind, m.group(2) if kind == "heading" else m.group(1), level))
            return
    quote = _QUOTE.match(line)
    if quote and not para:
        if blocks and blocks[-1].kind == "quote" and blocks[-1].text:
            blocks[-1].text += "\n" + quote.group(1)
        else:
            blocks.append(Block("quote", quote.group(1)))
        return
    if not para and blocks and blocks[-1].kind in ("bullet", "ordered") and line.startswith(("  ", "\t")):
        blocks[-1].text += " " + line.strip()  # a wrapped list item continues on an indented line
        return
    para.append(line)


def _flush(blocks: list[Block], para: list[str]) -> None:
    if para:
        blocks.append(Block("paragraph", "\n".join(para)))
        para.clear()


def plain_blocks(text: str) -> list[Block]:
    """Paragraphs of a plain-text document (split at blank lines), with no markup read into them."""
    paragraphs = re.split(r"\n(?:[ \t]*\n)+", text.replace("\r\n", "\n").strip("\n"))
    return [Block("paragraph", p, runs=[Run(p)]) for p in paragraphs if p.strip()]


def document_blocks(body: str, format: str) -> list[Block]:
    """Blocks of a document's body according to its format."""
    return parse_markdown(body) if format == "markdown" else plain_blocks(body)


def first_heading(source: str) -> str | None:
    """The text of the first heading of a Markdown text, without markup, if it starts with one."""
    for line in source.splitlines():
        if line.strip():
            m = _HEADING.match(line)
            return runs_text(parse_runs(m.group(2))) if m else None
    return None


def runs_text(runs: list[Run]) -> str:
    """The text of runs without formatting."""
    return "".join(r.text for r in runs)


def to_plain_text(blocks: list[Block]) -> str:
    """Blocks as plain text: markup dropped, list markers kept, blank lines between blocks."""
    out: list[str] = []
    number, previous = 0, ""
    for block in blocks:
        number = number + 1 if block.kind == "ordered" else 0
        text = block.text if block.kind == "code" else runs_text(block.runs)
        prefix = {"bullet": "- ", "ordered": f"{number}. "}.get(block.kind, "")
        if out and not (block.kind in ("bullet", "ordered") and block.kind == previous):
            out.append("")
        out.append(prefix + text)
        previous = block.kind
    return "\n".join(out) + ("\n" if out else "")


def runs_html(runs: list[Run]) -> str:
    """Runs as XHTML inline markup, escaped, newlines as <br/>."""
    parts = []
    for run in runs:
        text = html.escape(run.text, quote=False).replace("\n", "<br/>")
        if run.code:
            text = f"<code>{text}</code>"
        if run.italic:
            text = f"<em>{text}</em>"
        if run.bold:
            text = f"<strong>{text}</strong>"
        parts.append(text)
    return "".join(parts)


def blocks_html(blocks: list[Block]) -> str:
    """Blocks as an XHTML fragment, consecutive list items grouped in <ul>/<ol>."""
    out: list[str] = []
    open_list = ""
    for block in blocks:
        tag = {"bullet": "ul", "ordered": "ol"}.get(block.kind, "")
        if open_list and tag != open_list:
            out.append(f"</{open_list}>")
            open_list = ""
        if tag and not open_list:
            out.append(f"<{tag}>")
            open_list = tag
        out.append(_block_html(block))
    if open_list:
        out.append(f"</{open_list}>")
    return "\n".join(out)


def _block_html(block: Block) -> str:
    if block.kind == "code":
        return f"<pre><code>{html.escape(block.text, quote=False)}</code></pre>"
    inner = runs_html(block.runs)
    if block.kind == "heading":
        return f"<h{block.level}>{inner}</h{block.level}>"
    if block.kind in ("bullet", "ordered"):
        return f"<li>{inner}</li>"
    if block.kind == "quote":
        return f"<blockquote><p>{inner}</p></blockquote>"
    return f"<p>{inner}</p>"
