"""Tracked changes: a suggested rewrite against the selected text, accepted or rejected hunk by hunk."""

from __future__ import annotations

import html

from app.textdiff import Hunk, apply_hunks, diff_words


class Review:
    """The word diff of `old` against `new` and a decision (None: pending) for each changed hunk."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.hunks: list[Hunk] = diff_words(old, new)
        self.decisions: dict[int, bool | None] = {i: None for i, h in enumerate(self.hunks) if h.op != "equal"}

    @property
    def changes(self) -> list[int]:
        """Indexes of the hunks that change something."""
        return sorted(self.decisions)

    def decide(self, index: int, accepted: bool) -> None:
        """Accept or reject one changed hunk."""
        if index not in self.decisions:
            raise IndexError(f"Hunk {index} changes nothing.")
        self.decisions[index] = accepted

    def decide_all(self, accepted: bool) -> None:
        for i in self.decisions:
            self.decisions[i] = accepted

    @property
    def pending(self) -> int:
        return sum(1 for d in self.decisions.values() if d is None)

    def result(self, pending_accepted: bool = True) -> str:
        """The text with accepted hunks taken and rejected ones left out; pending ones as `pending_accepted` says."""
        taken = [i for i, d in self.decisions.items() if d or (d is None and pending_accepted)]
        return apply_hunks(self.hunks, taken)

    def to_html(self, links: bool = True) -> str:
        """The diff as HTML: deletions struck through in red, insertions underlined in green, links to decide."""
        parts = []
        for i, h in enumerate(self.hunks):
            if h.op == "equal":
                parts.append(_text(h.old))
                continue
            parts.append(_hunk_html(i, h, self.decisions[i], links))
        return "<div style='white-space: pre-wrap'>" + "".join(parts) + "</div>"


def _text(s: str) -> str:
    return html.escape(s).replace("\n", "<br>")


def _hunk_html(i: int, h: Hunk, decision: bool | None, links: bool) -> str:
    old = f"<span style='color:#c0392b; text-decoration: line-through'>{_text(h.old)}</span>" if h.old else ""
    new = f"<span style='color:#1e8449; text-decoration: underline'>{_text(h.new)}</span>" if h.new else ""
    if decision is True:
        return _text(h.new)
    if decision is False:
        return _text(h.old)
    if not links:
        return old + new
    return old + new + f"<sup><a href='hunk:{i}:accept'>✓</a> <a href='hunk:{i}:reject'>✗</a></sup>"


def parse_link(href: str) -> tuple[int, bool] | None:
    """'hunk:3:accept' -> (3, True); anything else -> None."""
    parts = href.split(":")
    if len(parts) != 3 or parts[0] != "hunk" or not parts[1].isdigit() or parts[2] not in ("accept", "reject"):
        return None
    return int(parts[1]), parts[2] == "accept"
