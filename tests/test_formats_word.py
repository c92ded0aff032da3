"""Word import of files Scriptorium did not write: lists defined by Word numbering, as pandoc and Word save them."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from app.formats import export_document, import_file
from app.store import Document


def _level(ilvl: int, fmt: str, text: str) -> str:
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="{text}"/>'
        f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{720 * (ilvl + 1)}" w:hanging="360"/></w:pPr></w:lvl>'
    )


def _add_numbering(document: docx.document.Document) -> None:
    """Pandoc's way: one abstract definition per list kind, one numbering instance per list."""
    numbering = document.part.numbering_part.element
    definitions = {
        990: _level(0, "bullet", "•") + _level(1, "bullet", "–"),
        991: _level(0, "decimal", "%1.") + _level(1, "lowerLetter", "%2."),
    }
    first_num = numbering.find(parse_xml(f"<w:num {nsdecls('w')}/>").tag)
    for abstract_id, levels in definitions.items():
        element = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{levels}</w:abstractNum>')
        first_num.addprevious(element)  # the schema puts every abstractNum before the first num
    for num_id, abstract_id, extra in (
        (1000, 990, ""),
        (1001, 991, ""),
        (1002, 991, '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="7"/></w:lvlOverride>'),
    ):
        numbering.append(parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>{extra}</w:num>'
        ))


def _item(document: docx.document.Document, text: str, num_id: int, ilvl: int = 0, style: str = "Compact") -> None:
    paragraph = document.add_paragraph(text, style=style)
    num_pr = parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'
    )
    paragraph._p.get_or_add_pPr().append(num_pr)


def _pandoc_style_docx(path: Path) -> Path:
    document = docx.Document()
    document.styles.add_style("Compact", WD_STYLE_TYPE.PARAGRAPH)
    _add_numbering(document)
    document.add_heading("Shopping", level=1)
    document.add_paragraph("Before the lists.")
    for text, num_id, ilvl in (
        ("apples", 1000, 0), ("green", 1000, 1), ("red", 1000, 1), ("pears", 1000, 0),
        ("wash", 1001, 0), ("rinse", 1001, 1), ("dry", 1001, 1), ("cut", 1001, 0), ("again", 1001, 1),
    ):
        _item(document, text, num_id, ilvl)
    document.add_paragraph("Between the lists.")
    _item(document, "serve", 1001)  # the same instance continues after the paragraph, as in Word
    document.add_paragraph("Then:")
    _item(document, "seventh", 1002)  # another instance of the same definition starts afresh, at its override
    _item(document, "eighth", 1002)
    _item(document, "not a list item", 0, style="List Bullet")  # numId 0 takes the style's bullet away
    document.save(str(path))
    return path


def test_word_numbered_lists_become_markdown_lists(tmp_path: Path) -> None:
    imported = import_file(_pandoc_style_docx(tmp_path / "pandoc.docx"))
    assert (imported.title, imported.format, imported.encoding) == ("Shopping", "markdown", None)
    assert imported.body == (
        "# Shopping\n\nBefore the lists.\n\n"
        "- apples\n    - green\n    - red\n- pears\n\n"
        "1. wash\n    1. rinse\n    2. dry\n2. cut\n    1. again\n\n"
        "Between the lists.\n\n"
        "3. serve\n\nThen:\n\n7. seventh\n8. eighth\n\n"
        "not a list item"
    )


def test_a_level_deeper_than_the_item_before_is_brought_up(tmp_path: Path) -> None:
    document = docx.Document()
    document.styles.add_style("Compact", WD_STYLE_TYPE.PARAGRAPH)
    _add_numbering(document)
    _item(document, "starts nested", 1000, ilvl=1)
    path = tmp_path / "deep.docx"
    document.save(str(path))
    assert import_file(path).body == "- starts nested"


def test_nested_lists_round_trip_through_word_styles(tmp_path: Path) -> None:
    body = "- fruit\n    - apple\n        - green\n- bread\n\n1. wash\n    1. rinse\n2. dry"
    doc = Document(id=1, title="Lists", body=body, format="markdown", created="", updated="", trashed_at=None)
    path = export_document(doc, tmp_path / "lists.docx")
    styles = [p.style.name for p in docx.Document(str(path)).paragraphs]
    assert styles == ["List Bullet", "List Bullet 2", "List Bullet 3", "List Bullet", "List Number", "List Number 2", "List Number"]
    assert import_file(path).body == body
