"""Word's list numbering (`numbering.xml`): which paragraphs are list items, bullet or numbered, how deep, which number.

Word, LibreOffice and pandoc mark a list item with `w:numPr` (a numbering instance `numId` and a level
`ilvl`), in the paragraph or in its style; the instance names an abstract definition whose level gives the
format (`bullet`, `decimal`, `lowerRoman` ...) and the start. This is the one module that reads python-docx's
XML elements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import nsmap
from docx.text.paragraph import Paragraph
from lxml import etree

_W = {"w": nsmap["w"]}
_LIST_STYLE = re.compile(r"List (Bullet|Number)(?: (\d))?$")


def _query(path: str) -> etree.XPath:
    """A compiled XPath with Word's `w:` prefix bound; `$num`, `$lvl`, `$id`, `$style` are passed per call."""
    return etree.XPath(path, namespaces=_W, smart_strings=False)


_NUM_ID = _query("string(w:pPr/w:numPr/w:numId/@w:val)")
_ILVL = _query("string(w:pPr/w:numPr/w:ilvl/@w:val)")
_NUM_FMT = _query("string(w:numFmt/@w:val)")
_START = _query("string(w:start/@w:val)")
_OVERRIDE = "w:num[@w:numId=$num]/w:lvlOverride[@w:ilvl=$lvl]"
_START_OVERRIDE = _query(f"string({_OVERRIDE}/w:startOverride/@w:val)")
_LEVEL_OVERRIDE = _query(f"{_OVERRIDE}/w:lvl")
_ABSTRACT_ID = _query("string(w:num[@w:numId=$num]/w:abstractNumId/@w:val)")
_STYLE_LINK = _query("string(w:abstractNum[@w:abstractNumId=$id]/w:numStyleLink/@w:val)")
_LEVEL = _query("w:abstractNum[@w:abstractNumId=$id]/w:lvl[@w:ilvl=$lvl]")
# A list style's abstract definition holds only a link; the levels are in the one whose styleLink names it.
_LINKED_LEVEL = _query("w:abstractNum[w:styleLink/@w:val=$style]/w:lvl[@w:ilvl=$lvl]")


@dataclass(frozen=True)
class ListLabel:
    """What Word shows before a list item: a bullet or a number, at a depth (0 at the margin)."""

    kind: Literal["bullet", "ordered"]
    depth: int
    number: int = 0


class Numbering:
    """A document's numbering definitions, and Word's counters as its paragraphs are read in order."""

    def __init__(self, document: docx.document.Document) -> None:
        try:
            self._root: etree._Element | None = document.part.part_related_by(RT.NUMBERING).element
        except KeyError:  # a document without lists may have no numbering part at all
            self._root = None
        self._counts: dict[str, list[int | None]] = {}

    def label(self, paragraph: Paragraph) -> ListLabel | None:
        """The label of a paragraph read next in document order, counted; None when it is not a list item."""
        num_id, ilvl = _num_pr(paragraph)
        named = _named_list(paragraph)
        if not num_id and named is not None:  # a list style with no numbering behind it: count per kind
            kind, depth = named
            return ListLabel(kind, depth, self._count(f"style {kind}", depth, 1) if kind == "ordered" else 0)
        level = self._level(num_id, ilvl) if num_id not in ("", "0") else None  # numId 0: numbering removed
        fmt = _NUM_FMT(level) if level is not None else "none"
        if fmt == "none":
            return None
        depth = max(ilvl, named[1] if named else 0)  # "List Bullet 2" is a one-level list nested by its name
        if fmt == "bullet":
            return ListLabel("bullet", depth)
        return ListLabel("ordered", depth, self._count(num_id, ilvl, self._start(num_id, ilvl, level)))

    def _count(self, key: str, ilvl: int, start: int) -> int:
        """The next number at a level of one list; an item at a higher level restarts the deeper ones."""
        counts = self._counts.setdefault(key, [])
        del counts[ilvl + 1 :]
        counts.extend([None] * (ilvl + 1 - len(counts)))
        previous = counts[ilvl]
        counts[ilvl] = start if previous is None else previous + 1
        return counts[ilvl]

    def _start(self, num_id: str, ilvl: int, level: etree._Element) -> int:
        """The first number of a level: the instance's `startOverride`, else the level's `w:start`."""
        start = _START_OVERRIDE(self._root, num=num_id, lvl=str(ilvl)) or _START(level)
        return int(start) if start.isdigit() else 0  # ECMA-376: a level without w:start starts at 0

    def _level(self, num_id: str, ilvl: int) -> etree._Element | None:
        """The `w:lvl` defining a level of a numbering instance: its own override, else its abstract definition's."""
        if self._root is None:
            return None
        lvl = str(ilvl)
        abstract_id = _ABSTRACT_ID(self._root, num=num_id)
        style = _STYLE_LINK(self._root, id=abstract_id)
        found = (
            _LEVEL_OVERRIDE(self._root, num=num_id, lvl=lvl)
            or (_LINKED_LEVEL(self._root, style=style, lvl=lvl) if style else _LEVEL(self._root, id=abstract_id, lvl=lvl))
        )
        return found[0] if found else None


def _named_list(paragraph: Paragraph) -> tuple[Literal["bullet", "ordered"], int] | None:
    """Kind and depth of a paragraph in one of Word's named list styles ("List Bullet", "List Number 2" ...)."""
    named = _LIST_STYLE.match(paragraph.style.name or "") if paragraph.style is not None else None
    if named is None:
        return None
    return "bullet" if named[1] == "Bullet" else "ordered", int(named[2] or 1) - 1


def _num_pr(paragraph: Paragraph) -> tuple[str, int]:
    """The paragraph's numbering instance and level, from its own properties or else from its styles'."""
    num_id, ilvl = _NUM_ID(paragraph._p), _ILVL(paragraph._p)
    style = paragraph.style
    while not num_id and style is not None:
        num_id, ilvl = _NUM_ID(style.element), ilvl or _ILVL(style.element)
        style = style.base_style
    return num_id, int(ilvl) if ilvl.isdigit() else 0
