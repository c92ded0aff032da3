"""Tracked changes: a suggested rewrite or proofread against the selected text, accepted or rejected hunk by hunk.

Corrections are marked in the text and taken unless rejected; rewordings (app/desk/proofread.py) are listed
apart and left out unless accepted. Every change keeps its source and reason, shown as a label and a tooltip.
"""

from __future__ import annotations

import html
from typing import Sequence

from app.desk.proofread import CORRECTION, MODEL, REWORDING, ProofHunk, apply
from app.textdiff import Hunk, changed_spans

_SOURCES = {"harper": "Harper", "model": "the model", "harper+model": "Harper and the model"}


class Review:
    """The changes of `new` (a plain diff, its changes of no source) or the given `changes` against `old`, and a
    decision (None: pending) for each.

    Indexes: `hunks` are the text's runs in order, unchanged ones included; each rewording's index follows them.
    """

    def __init__(self, old: str, new: str = "", changes: Sequence[ProofHunk] | None = None) -> None:
        if changes is None:
            changes = [ProofHunk(s, e, r, "", "", CORRECTION) for s, e, r in changed_spans(old, new)]  # no source: a plain diff
        self.old = old
        self.hunks, self.info = _runs(old, [c for c in changes if c.kind != REWORDING])
        apart = sorted((c for c in changes if c.kind == REWORDING), key=lambda c: (c.start, c.end))
        self.info |= {len(self.hunks) + j: c for j, c in enumerate(apart)}
        self.decisions: dict[int, bool | None] = {i: None for i in self.info}

    @property
    def changes(self) -> list[int]:
        """Indexes of every change: the corrections in the text, then the rewordings."""
        return sorted(self.decisions)

    @property
    def corrections(self) -> list[int]:
        return [i for i in self.changes if self.info[i].kind != REWORDING]

    @property
    def rewordings(self) -> list[int]:
        return [i for i in self.changes if self.info[i].kind == REWORDING]

    def decide(self, index: int, accepted: bool) -> None:
        """Accept or reject one change."""
        if index not in self.decisions:
            raise IndexError(f"Hunk {index} changes nothing.")
        self.decisions[index] = accepted

    def decide_all(self, accepted: bool) -> None:
        """Accept every correction, or reject every change; rewordings are only ever accepted one by one."""
        for i in self.decisions:
            if not accepted or self.info[i].kind != REWORDING:
                self.decisions[i] = accepted

    @property
    def pending(self) -> int:
        return sum(1 for d in self.decisions.values() if d is None)

    def taken(self, pending_accepted: bool = True) -> list[int]:
        """The changes the result takes: accepted ones, and undecided corrections when `pending_accepted`."""
        return [i for i, d in self.decisions.items() if d or (d is None and pending_accepted and self.info[i].kind != REWORDING)]

    def result(self, pending_accepted: bool = True) -> str:
        """The text with the taken changes; an accepted rewording replaces the corrections inside its span."""
        return apply(self.old, [self.info[i] for i in self.taken(pending_accepted)])

    def summary(self) -> str:
        """What the review holds and what Accept does, for the panel's status line."""
        n = len(self.corrections)
        pending = sum(self.decisions[i] is None for i in self.corrections)
        text = f"{n} change{'s' if n != 1 else ''}, {pending} undecided — click ✓ or ✗ on each, then Accept to apply (undecided ones are taken)."
        k = len(self.rewordings)
        if k:
            text += f" {k} rewording{'s' if k != 1 else ''} set apart below, left out unless you accept {'them' if k != 1 else 'it'}."
        return text

    def to_html(self, links: bool = True) -> str:
        """The text with its corrections marked (deletions struck through in red, insertions underlined in green,
        links to decide, the source and reason as a label and a tooltip), then the rewordings apart."""
        shown = self._inline()
        parts, pos = [], 0
        for i in sorted(shown, key=lambda i: (self.info[i].start, self.info[i].end)):
            c = self.info[i]
            parts += [html_text(self.old[pos : c.start]), _change_html(i, self.old[c.start : c.end], c, self.decisions[i], links)]
            pos = c.end
        parts.append(html_text(self.old[pos:]))
        body = "<div style='white-space: pre-wrap'>" + "".join(parts) + "</div>"
        return body + self._rewordings_html(links)

    def _inline(self) -> list[int]:
        """The changes marked in the text: the corrections, an accepted rewording in place of those it overlaps."""
        accepted = [i for i in self.rewordings if self.decisions[i]]
        kept = [i for i in self.corrections if not any(self.info[i].overlaps(self.info[r]) for r in accepted)]
        return kept + accepted

    def _rewordings_html(self, links: bool) -> str:
        if not self.rewordings:
            return ""
        items = []
        for i in self.rewordings:
            c, decision = self.info[i], self.decisions[i]
            state = {True: "accepted", False: "left out", None: "left out unless you accept it"}[decision]
            choose = f" <a href='hunk:{i}:accept'>✓</a> <a href='hunk:{i}:reject'>✗</a>" if links else ""
            items.append(f"<li title='{html_attr(_label(c))}'>{_struck(self.old[c.start : c.end])} {_inserted(c.replacement)}"
                         f" <i>({state})</i>{choose}</li>")
        return ("<p><b>Rewordings</b> — the model changed more than a correction needs:</p><ul>" + "".join(items) + "</ul>")


def _runs(old: str, corrections: Sequence[ProofHunk]) -> tuple[list[Hunk], dict[int, ProofHunk]]:
    """The text's runs, unchanged and changed, in order; and the correction behind each changed run's index."""
    hunks: list[Hunk] = []
    info: dict[int, ProofHunk] = {}
    pos = 0
    for c in sorted(corrections, key=lambda c: (c.start, c.end)):
        if c.start > pos:
            hunks.append(Hunk("equal", old[pos : c.start], old[pos : c.start]))
        info[len(hunks)] = c
        hunks.append(Hunk(_op(old[c.start : c.end], c.replacement), old[c.start : c.end], c.replacement))
        pos = c.end
    if pos < len(old) or not hunks:
        hunks.append(Hunk("equal", old[pos:], old[pos:]))
    return hunks, info


def _op(old: str, new: str) -> str:
    return "insert" if not old else "delete" if not new else "replace"


def html_text(s: str) -> str:
    """Text for HTML: escaped, line breaks as <br>."""
    return html.escape(s).replace("\n", "<br>")


def html_attr(s: str) -> str:
    """Text for an HTML attribute value (quotes escaped)."""
    return html.escape(s, quote=True)


def _struck(s: str) -> str:
    return f"<span style='color:#c0392b; text-decoration: line-through'>{html_text(s)}</span>" if s else ""


def _inserted(s: str) -> str:
    return f"<span style='color:#1e8449; text-decoration: underline'>{html_text(s)}</span>" if s else ""


def _label(c: ProofHunk) -> str:
    """Who made a change and why, in words: "Harper: Did you mean …", "the model"."""
    who = _SOURCES.get(c.source, c.source)
    return f"{who}: {c.reason}" if c.reason and c.reason != MODEL else who


def _change_html(i: int, old: str, c: ProofHunk, decision: bool | None, links: bool) -> str:
    if decision is True:
        return html_text(c.replacement)
    if decision is False:
        return html_text(old)
    marked = _struck(old) + _inserted(c.replacement)
    if c.source:
        marked = f"<span title='{html_attr(_label(c))}'>{marked}</span>"
    if not links:
        return marked
    tag = f"<span style='color:#7f8c8d'>{html.escape(c.source)}</span> " if c.reason else ""
    return marked + f"<sup>{tag}<a href='hunk:{i}:accept'>✓</a> <a href='hunk:{i}:reject'>✗</a></sup>"


def parse_link(href: str) -> tuple[int, bool] | None:
    """'hunk:3:accept' -> (3, True); anything else -> None."""
    parts = href.split(":")
    if len(parts) != 3 or parts[0] != "hunk" or not parts[1].isdigit() or parts[2] not in ("accept", "reject"):
        return None
    return int(parts[1]), parts[2] == "accept"
