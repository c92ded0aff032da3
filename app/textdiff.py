"""Word-level differences between two texts, for the revisions browser and tracked changes.

Texts are split into words, single Chinese and Japanese characters (no spaces between words), punctuation marks
and runs of whitespace, so that joining a side's pieces gives that text back exactly.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Literal

from app.scripts import UNSPACED

Op = Literal["equal", "insert", "delete", "replace"]

# Each character of a script written without spaces is a token; CJK punctuation falls to the last branch.
_TOKEN = re.compile(rf"\s+|[{UNSPACED}]|[^\s{UNSPACED}\W]+|[^\s{UNSPACED}]", re.UNICODE)


@dataclass(frozen=True)
class Hunk:
    """One run of the diff: `old` is the text it had, `new` the text it has (equal for 'equal')."""

    op: Op
    old: str
    new: str


def tokenize(text: str) -> list[str]:
    """Split text into diff tokens; ''.join(tokenize(t)) == t."""
    return _TOKEN.findall(text)


def diff_words(old: str, new: str) -> list[Hunk]:
    """Hunks turning `old` into `new`, word by word (character by character for CJK)."""
    a, b = tokenize(old), tokenize(new)
    # autojunk off: it would treat frequent tokens such as spaces as junk and give coarse, surprising hunks.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [
        Hunk(op, "".join(a[i1:i2]), "".join(b[j1:j2]))  # type: ignore[arg-type]
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
    ]


def changed_spans(old: str, new: str) -> list[tuple[int, int, str]]:
    """The changes turning `old` into `new` as (start, end, replacement): old[start:end] becomes replacement."""
    spans, pos = [], 0
    for hunk in diff_words(old, new):
        if hunk.op != "equal":
            spans.append((pos, pos + len(hunk.old), hunk.new))
        pos += len(hunk.old)
    return spans


def apply_hunks(hunks: Iterable[Hunk], accepted: Iterable[int] | None = None) -> str:
    """The text with the changes at indexes `accepted` taken (all of them when None) and the others left out."""
    hunks = list(hunks)
    chosen = set(range(len(hunks))) if accepted is None else set(accepted)
    return "".join(h.new if i in chosen else h.old for i, h in enumerate(hunks))
