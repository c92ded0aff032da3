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

from app.formats.markdown_syntax import FENCE, HEADING, LIST_ITEM, NEST_INDENT, QUOTE, indent_width

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
    """A heading, paragraph, list item, quote or code block; text lines joined with newlines.

    `level` is a heading's level (1-6) or a list item's depth (0 at the margin, 1 nested once, ...);
    `number` an ordered item's number as written: as in CommonMark, a list starts at its first item's.
    """

    kind: BlockKind
    text: str
    level: int = 0
    runs: list[Run] = field(default_factory=list)
    number: int = 0


LIST_KINDS = ("bullet", "ordered")
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
    reader = _Reader()
    lines = source.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            end = next((j for j in range(i + 1, len(lines)) if FENCE.match(lines[j])), len(lines))
            reader.add(Block("code", "\n".join(lines[i + 1 : end])))
            i = end + 1
            continue
        reader.read(lines[i])
        i += 1
    reader.flush()
    for block in reader.blocks:
        if block.kind != "code":
            block.runs = parse_runs(block.text)
    return reader.blocks


class _Reader:
    """Gathers blocks line by line; its state is the paragraph being read and the indents of open list items."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.para: list[str] = []
        self.indents: list[int] = []

    def read(self, line: str) -> None:
        """Add one line outside code fences to the blocks, or to the paragraph being gathered."""
        if not line.strip():
            self.flush()  # a blank line ends a paragraph, not a list: the next item keeps its depth
        elif heading := HEADING.match(line):
            self.add(Block("heading", heading["text"], len(heading["marks"])))
        elif item := LIST_ITEM.match(line):
            self.flush()
            kind = "ordered" if item["number"] else "bullet"
            depth = self._depth(indent_width(item["indent"]))
            self.blocks.append(Block(kind, item["text"], depth, number=int(item["number"] or 0)))
        elif (quote := QUOTE.match(line)) and not self.para:
            if self.blocks and self.blocks[-1].kind == "quote" and self.blocks[-1].text:
                self.blocks[-1].text += "\n" + quote["text"]
            else:
                self.add(Block("quote", quote["text"]))
        elif not self.para and self.blocks and self.blocks[-1].kind in LIST_KINDS and line[:1] in (" ", "\t"):
            self.blocks[-1].text += " " + line.strip()  # a wrapped list item continues on an indented line
        else:
            self.indents.clear()
            self.para.append(line)

    def add(self, block: Block) -> None:
        """Add a block that is not a list item: the paragraph before it ends, and so do open lists."""
        self.flush()
        self.indents.clear()
        self.blocks.append(block)

    def flush(self) -> None:
        if self.para:
            self.blocks.append(Block("paragraph", "\n".join(self.para)))
            self.para.clear()

    def _depth(self, indent: int) -> int:
        """A list item's depth: an item indented past the open one nests in it; one indented less closes it."""
        while self.indents and self.indents[-1] > indent:
            self.indents.pop()
        if not self.indents or self.indents[-1] < indent:
            self.indents.append(indent)
        return len(self.indents) - 1


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
            m = HEADING.match(line)
            return runs_text(parse_runs(m["text"])) if m else None
    return None


def runs_text(runs: list[Run]) -> str:
    """The text of runs without formatting."""
    return "".join(r.text for r in runs)


def to_plain_text(blocks: list[Block]) -> str:
    """Blocks as plain text: markup dropped, list markers and nesting kept, blank lines between blocks."""
    out: list[str] = []
    numbers: list[int | None] = []  # per depth, the number of the ordered item last written there
    previous: Block | None = None
    for block in blocks:
        text = block.text if block.kind == "code" else runs_text(block.runs)
        if out and not _same_list(previous, block):
            out.append("")
        out.append(_list_marker(block, numbers) + text)
        previous = block
    return "\n".join(out) + ("\n" if out else "")


def _same_list(previous: Block | None, block: Block) -> bool:
    """Whether two neighbouring blocks are items of one list: same kind, or either of them nested."""
    if previous is None or previous.kind not in LIST_KINDS or block.kind not in LIST_KINDS:
        return False
    return previous.kind == block.kind or previous.level > 0 or block.level > 0


def _list_marker(block: Block, numbers: list[int | None]) -> str:
    """The indent and marker a list item is written with ('' for other blocks); `numbers` counts per depth."""
    if block.kind not in LIST_KINDS:
        numbers.clear()
        return ""
    del numbers[block.level + 1 :]
    numbers.extend([None] * (block.level + 1 - len(numbers)))
    if block.kind == "bullet":
        numbers[block.level] = None
        return NEST_INDENT * block.level + "- "
    previous = numbers[block.level]
    numbers[block.level] = block.number if previous is None else previous + 1
    return NEST_INDENT * block.level + f"{numbers[block.level]}. "


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
        tag = {"bullet": "ul", "ordered": "ol"}.get(block.kind, "")  # nested items are written flat
        if open_list and tag != open_list:
            out.append(f"</{open_list}>")
            open_list = ""
        if tag and not open_list:
            start = f' start="{block.number}"' if tag == "ol" and block.number != 1 else ""
            out.append(f"<{tag}{start}>")
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
    if block.kind in LIST_KINDS:
        return f"<li>{inner}</li>"
    if block.kind == "quote":
        return f"<blockquote><p>{inner}</p></blockquote>"
    return f"<p>{inner}</p>"
