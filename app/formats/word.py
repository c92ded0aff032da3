"""Word .docx files with python-docx: headings, nested lists, quotes, bold and italic to and from Markdown."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.errors import UserError
from app.formats.blocks import Block, Run, document_blocks, first_heading
from app.formats.imported import Imported
from app.formats.limits import ZIP_ERRORS, overinflated, zip_bomb
from app.formats.markdown_syntax import LIST_ITEM, NEST_INDENT, indent_width
from app.formats.word_numbering import ListLabel, Numbering

_LIST_STYLES = {"bullet": "List Bullet", "ordered": "List Number"}
# python-docx's template has "List Bullet 2", "List Bullet 3" (and the same for numbers), nothing deeper.
_DEEPEST_LIST_STYLE = 3
_CODE_FONT = "Courier New"


def import_docx(path: Path) -> Imported:
    """A .docx file as a Markdown document; UserError if it is not a readable .docx or a zip bomb."""
    _check_zip(path)
    try:
        return _read(docx.Document(str(path)), path)
    except UserError:
        raise
    # python-docx parses lazily: a damaged part fails (zipfile, KeyError, lxml, AttributeError ...) wherever it
    # is first touched, at open or at a paragraph's style.
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def _read(document: docx.document.Document, path: Path) -> Imported:
    """The document's blocks as Markdown, titled by its title property, else its first heading, else the file name."""
    numbering = Numbering(document)
    lines: list[str] = []
    for item in document.iter_inner_content():
        chunk = _table_md(item) if isinstance(item, Table) else _paragraph_md(item, numbering, lines)
        if chunk is None:
            continue
        if lines and not _same_list(lines[-1], chunk):
            lines.append("")  # blocks are separated by a blank line; the items of one list stay together
        lines.append(chunk)
    body = "\n".join(lines)
    title = (document.core_properties.title or "").strip() or first_heading(body) or Path(path).stem
    return Imported(title, body, "markdown")


def _check_zip(path: Path) -> None:
    """UserError for a zip bomb, before python-docx inflates a byte (a refusal reads only the zip's directory)."""
    try:
        with zipfile.ZipFile(path) as archive:
            reason = zip_bomb(archive.infolist()) or overinflated(path, archive.infolist())
    except ZIP_ERRORS as exc:
        raise _unreadable(path, exc) from exc
    if reason:
        raise UserError(f"Cannot import {Path(path).name}: {reason}.")


def _unreadable(path: Path, exc: Exception) -> UserError:
    return UserError(
        f"{Path(path).name} is not a readable .docx file ({type(exc).__name__}); "
        "open it in a word processor, save it as .docx again and import that."
    )


def _same_list(previous: str, line: str) -> bool:
    """Whether two Markdown lines are items of one list: same kind, or either of them nested."""
    a, b = _first_item(previous), _first_item(line)
    if a is None or b is None:
        return False
    return bool(a["number"]) == bool(b["number"]) or bool(a["indent"]) or bool(b["indent"])


def _first_item(chunk: str) -> re.Match[str] | None:
    """The list item a chunk of Markdown starts with (a wrapped item goes on over more lines), if any."""
    return LIST_ITEM.match(chunk.partition("\n")[0])


def _paragraph_md(paragraph: Paragraph, numbering: Numbering, lines: list[str]) -> str | None:
    """One paragraph as Markdown (None when empty); `lines` so far place a list item in its list."""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    heading = 1 if style == "Title" else int(m.group(1)) if (m := re.match(r"Heading (\d)", style)) else 0
    # Counted before the emptiness test: Word numbers an empty list item too, and the next one after it.
    label = None if heading else numbering.label(paragraph)
    text = _runs_md(paragraph)
    if not text.strip():
        return None
    if heading:
        return "#" * min(6, heading) + " " + text
    if label is not None:
        return _list_item_md(label, text, lines)
    if "Quote" in style:
        return "> " + text.replace("\n", "\n> ")
    return text


def _list_item_md(label: ListLabel, text: str, lines: list[str]) -> str:
    """A Markdown list item, at most one level deeper than the item before (Markdown cannot skip a level)."""
    previous = _first_item(lines[-1]) if lines else None
    deepest = indent_width(previous["indent"]) // len(NEST_INDENT) + 1 if previous else 0
    indent = NEST_INDENT * min(label.depth, deepest)
    marker = f"{label.number}. " if label.kind == "ordered" else "- "
    return indent + marker + text.replace("\n", "\n" + indent + " " * len(marker))


def _runs_md(paragraph: Paragraph) -> str:
    """A paragraph's runs as inline Markdown, merging neighbours of the same formatting first."""
    merged: list[list] = []
    for run in paragraph.runs:
        key = (bool(run.bold), bool(run.italic))
        if merged and merged[-1][0] == key:
            merged[-1][1] += run.text
        else:
            merged.append([key, run.text])
    return "".join(_mark(text, bold, italic) for (bold, italic), text in merged)


def _mark(text: str, bold: bool, italic: bool) -> str:
    """Wrap text in emphasis markers, keeping surrounding spaces outside them (Markdown needs that)."""
    core = text.strip()
    if not core or not (bold or italic):
        return text
    marker = "***" if bold and italic else "**" if bold else "*"
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _table_md(table: Table) -> str | None:
    rows = ["| " + " | ".join(cell.text.replace("\n", " ") for cell in row.cells) + " |" for row in table.rows]
    if not rows:
        return None
    width = len(table.rows[0].cells)
    return "\n".join([rows[0], "|" + " --- |" * width, *rows[1:]])


def export_docx(title: str, body: str, format: str, path: Path) -> None:
    """Write the document as .docx, Markdown headings, lists, quotes and emphasis as Word styles."""
    document = docx.Document()
    document.core_properties.title = title
    for block in document_blocks(body, format):
        _add_block(document, block)
    document.save(str(path))


def _add_block(document: docx.document.Document, block: Block) -> None:
    if block.kind == "heading":
        paragraph = document.add_heading(level=min(block.level, 9))
    elif block.kind in _LIST_STYLES:
        depth = min(block.level + 1, _DEEPEST_LIST_STYLE)
        paragraph = document.add_paragraph(style=_LIST_STYLES[block.kind] + (f" {depth}" if depth > 1 else ""))
    elif block.kind == "quote":
        paragraph = document.add_paragraph(style="Quote")
    else:
        paragraph = document.add_paragraph()
    runs = [Run(block.text, code=True)] if block.kind == "code" else block.runs
    for run in runs:
        _add_run(paragraph, run)


def _add_run(paragraph: Paragraph, run: Run) -> None:
    added = paragraph.add_run(run.text)  # python-docx turns "\n" into a line break
    added.bold = run.bold or None
    added.italic = run.italic or None
    if run.code:
        added.font.name = _CODE_FONT
