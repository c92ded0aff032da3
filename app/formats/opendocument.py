"""OpenDocument .odt export with odfpy: Markdown headings, lists, quotes and emphasis as ODF styles."""

from __future__ import annotations

from pathlib import Path

from odf import teletype
from odf.opendocument import OpenDocument, OpenDocumentText
from odf.style import ListLevelProperties, ParagraphProperties, Style, TextProperties
from odf.text import H, List, ListItem, ListLevelStyleBullet, ListLevelStyleNumber, ListStyle, P, Span
from odf.dc import Title

from app.formats.blocks import Block, Run, document_blocks

_HEADING_SIZES = {1: "20pt", 2: "16pt", 3: "14pt", 4: "12pt", 5: "12pt", 6: "12pt"}


def export_odt(title: str, body: str, format: str, path: Path) -> None:
    """Write the document as .odt."""
    document = OpenDocumentText()
    document.meta.addElement(Title(text=title))
    styles = _add_styles(document)
    current_list: List | None = None
    current_kind = ""
    for block in document_blocks(body, format):
        if block.kind in ("bullet", "ordered"):
            if current_list is None or current_kind != block.kind:
                current_list = List(stylename=styles[block.kind])
                current_kind = block.kind
                document.text.addElement(current_list)
            item = ListItem()
            item.addElement(_paragraph(block, styles))
            current_list.addElement(item)
            continue
        current_list = None
        document.text.addElement(_paragraph(block, styles))
    document.save(str(path))


def _add_styles(document: OpenDocument) -> dict[str, Style | ListStyle]:
    """Register the paragraph, span and list styles the exporter uses; return them by role."""
    styles: dict[str, Style | ListStyle] = {}
    for level, size in _HEADING_SIZES.items():
        style = Style(name=f"Heading_20_{level}", displayname=f"Heading {level}", family="paragraph")
        style.addElement(TextProperties(fontsize=size, fontweight="bold"))
        style.addElement(ParagraphProperties(margintop="0.2in", marginbottom="0.08in"))
        document.styles.addElement(style)
        styles[f"h{level}"] = style
    quote = Style(name="Quotations", family="paragraph")
    quote.addElement(ParagraphProperties(marginleft="0.4in", marginright="0.4in"))
    quote.addElement(TextProperties(fontstyle="italic"))
    code = Style(name="Preformatted_20_Text", displayname="Preformatted Text", family="paragraph")
    code.addElement(TextProperties(fontfamily="monospace", fontname="Courier New"))
    for style, role in ((quote, "quote"), (code, "code")):
        document.styles.addElement(style)
        styles[role] = style
    for role, props in (("bold", {"fontweight": "bold"}), ("italic", {"fontstyle": "italic"}),
                        ("bolditalic", {"fontweight": "bold", "fontstyle": "italic"}),
                        ("mono", {"fontfamily": "monospace", "fontname": "Courier New"})):
        span = Style(name=f"T_{role}", family="text")
        span.addElement(TextProperties(**props))
        document.automaticstyles.addElement(span)
        styles[role] = span
    styles["bullet"], styles["ordered"] = _list_style("L_bullet", True), _list_style("L_ordered", False)
    document.automaticstyles.addElement(styles["bullet"])
    document.automaticstyles.addElement(styles["ordered"])
    return styles


def _list_style(name: str, bullet: bool) -> ListStyle:
    style = ListStyle(name=name)
    level = ListLevelStyleBullet(level=1, bulletchar="•") if bullet else ListLevelStyleNumber(level=1, numformat="1", numsuffix=".")
    level.addElement(ListLevelProperties(spacebefore="0.25in", minlabelwidth="0.25in"))
    style.addElement(level)
    return style


def _paragraph(block: Block, styles: dict) -> H | P:
    if block.kind == "heading":
        element = H(outlinelevel=block.level, stylename=styles[f"h{min(block.level, 6)}"])
    elif block.kind in ("quote", "code"):
        element = P(stylename=styles[block.kind])
    else:
        element = P()
    runs = [Run(block.text)] if block.kind == "code" else block.runs
    for run in runs:
        _add_run(element, run, styles)
    return element


def _add_run(element: H | P, run: Run, styles: dict) -> None:
    role = "mono" if run.code else "bolditalic" if run.bold and run.italic else "bold" if run.bold else "italic" if run.italic else ""
    if not role:
        teletype.addTextToElement(element, run.text)  # turns newlines, tabs and runs of spaces into ODF elements
        return
    span = Span(stylename=styles[role])
    teletype.addTextToElement(span, run.text)
    element.addElement(span)
