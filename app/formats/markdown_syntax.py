"""Markdown's line syntax, defined once: the block reader and the editor's highlighter both read lines with it."""

from __future__ import annotations

import re

# Up to three spaces may stand before a heading, quote or fence, as in CommonMark; a heading's hashes need a
# space after them ("#hashtag" is text) and closing hashes a space before them ("# C#" keeps its "#").
HEADING = re.compile(r"^ {0,3}(?P<marks>#{1,6})[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
# A list item may stand at any indent: a deeper one is nested in the item above it.
LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|(?P<number>\d{1,9})[.)])[ \t]+(?P<text>.*)$")
QUOTE = re.compile(r"^ {0,3}>[ \t]?(?P<text>.*)$")
FENCE = re.compile(r"^ {0,3}(?:```|~~~)")
# What one level of list nesting is written with: four spaces nest under any marker up to "99. ", and
# fall short of the four columns past the parent's text that would make an indented code block.
NEST_INDENT = " " * 4
# A tab advances to the next multiple of four columns, as CommonMark counts indentation.
TAB_WIDTH = 4


def indent_width(indent: str) -> int:
    """The columns a run of spaces and tabs indents by."""
    width = 0
    for ch in indent:
        width = width + TAB_WIDTH - width % TAB_WIDTH if ch == "\t" else width + 1
    return width
