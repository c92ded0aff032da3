"""Word .docx files with python-docx: headings, lists, quotes, bold and italic to and from Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.errors import UserError
from app.formats.blocks import Block, Run, document_blocks, first_heading

_LIST_STYLES = {"bullet": "List Bullet", "ordered": "List Number"}
_CODE_FONT = "Courier New"


def import_docx(path: Path) -> tuple[str, str, str]:
    """(title, Markdown body, 'markdown') of a .docx file; UserError if it is not a readable .docx."""
    document = _open(path)
    lines: list[str] = []
    for item in document.iter_inner_content():
        chunk = _table_md(item) if isinstance(item, Table) else _paragraph_md(item, lines)
        if chunk is None:
            continue
        # Consecutive list items stay together; everything else is separated by a blank line.
        if lines and not (_item_kind(chunk) and _item_kind(chunk) == _item_kind(lines[-1])):
            lines.append("")
        lines.append(chunk)
    body = "\n".join(lines)
    title = (document.core_properties.title or "").strip() or first_heading(body) or Path(path).stem
    return title, body, "markdown"


def _open(path: Path) -> docx.document.Document:
    try:
        return docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile, KeyError and lxml errors alike for a damaged file
        raise UserError(
            f"{Path(path).name} is not a readable .docx file ({type(exc).__name__}); "
            "open it in a word processor, save it as .docx again and import that."
        ) from exc


def _item_kind(line: str) -> str:
    """'bullet' or 'ordered' for a Markdown list item line, '' otherwise."""
    return "bullet" if line.startswith("- ") else "ordered" if re.match(r"^\d+\. ", line) else ""


def _paragraph_md(paragraph: Paragraph, lines: list[str]) -> str | None:
    """One paragraph as a Markdown line (None when empty); `lines` so far tells a numbered item its number."""
    text = _runs_md(paragraph)
    if not text.strip():
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title":
        return "# " + text
    heading = re.match(r"Heading (\d)", style)
    if heading:
        return "#" * min(6, int(heading.group(1))) + " " + text
    if style.startswith("List Bullet"):
        return "- " + text
    if style.startswith("List Number"):
        previous = re.match(r"^(\d+)\. ", lines[-1]) if lines else None
        return f"{int(previous.group(1)) + 1 if previous else 1}. " + text
    if "Quote" in style:
        return "> " + text.replace("\n", "\n> ")
    return text


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
        paragraph = document.add_paragraph(style=_LIST_STYLES[block.kind])
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
