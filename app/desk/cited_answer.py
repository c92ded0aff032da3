"""A cited answer as the Ask panel shows it: citations as links to their passages, quotes marked verified or not.

Links: `cite:N` opens source N at its passage; `quote:I` opens the I-th quote where it was verified. An invalid
citation and an unverified quote are no links: they are struck out in red with the reason beside them, so nothing
unchecked ever reads as proof.
"""

from __future__ import annotations

from typing import Any

from app.corpus.citations import with_marks
from app.desk.review import html_attr, html_text

VERIFIED, UNVERIFIED = "#1e8449", "#c0392b"


def answer_html(answer: Any) -> str:
    """The answer's text with its citations and quotes marked (a refusal: its reason)."""
    if answer.refused:
        return refusal_html(answer.prepared)
    text, parts, pos = answer.output, [], 0
    for start, end, markup in _marks(answer):
        parts += [html_text(text[pos:start]), markup]
        pos = end
    parts.append(html_text(text[pos:]))
    body = "".join(parts) or "<i>The model gave no answer.</i>"
    note = f"<p style='color:#7f8c8d'>{html_text(answer.prepared.retrieval.note)}</p>" if answer.prepared.retrieval.note else ""
    return f"<p>{body}</p>{note}"


def refusal_html(prepared: Any) -> str:
    """Why nothing was asked of the model."""
    return f"<p><i>{html_text(prepared.reason)}</i></p>"


def _marks(answer: Any) -> list[tuple[int, int, str]]:
    """(start, end, markup) for each quote (with its marks) and each citation outside quotes, in order."""
    text = answer.output
    marks = []
    for i, q in enumerate(answer.checked.quotes):
        start, end = with_marks(text, q)
        marks.append((start, end, _quote(i, q, text[start:end])))
    for c in _brackets(answer):
        if not any(s <= c.at < e for s, e, _ in marks):
            marks.append((c.at, c.end, _citation(answer, c)))
    return sorted(marks)


def _brackets(answer: Any) -> list[Any]:
    """One citation per bracket (the first of [1, 3]), since the bracket is marked as a whole."""
    seen, out = set(), []
    for c in answer.checked.citations:
        if c.at not in seen:
            seen.add(c.at)
            out.append(c)
    return out


def _citation(answer: Any, first: Any) -> str:
    numbers = [c for c in answer.checked.citations if c.at == first.at]
    links = [f"<a href='cite:{c.number}'>{c.number}</a>" if c.valid else
             f"<span style='color:{UNVERIFIED}; text-decoration: line-through' title='No source {c.number} was retrieved: an invalid citation'>{c.number}</span>"
             for c in numbers]
    return "[" + ", ".join(links) + "]"


def _quote(index: int, quote: Any, shown: str) -> str:
    if quote.verified:
        return (f"<a href='quote:{index}' style='color:{VERIFIED}' title='Found in source [{quote.source}]: click to read it there'>"
                f"{html_text(shown)}</a> ✓")
    return (f"<span style='color:{UNVERIFIED}; text-decoration: line-through' title='{html_attr(quote.reason)}'>{html_text(shown)}</span>"
            f" <i style='color:{UNVERIFIED}'>(unverified: {html_text(quote.reason)})</i>")


def link_target(answer: Any, href: str) -> tuple[int, int, int] | None:
    """(text id, start, end) where a link of answer_html opens; None for any other link."""
    kind, _, number = href.partition(":")
    if not number.isdigit():
        return None
    n = int(number)
    if kind == "cite" and 1 <= n <= len(answer.sources):
        s = answer.sources[n - 1]
        return s.text_id, s.start, s.end
    if kind == "quote" and n < len(answer.checked.quotes) and answer.checked.quotes[n].verified:
        q = answer.checked.quotes[n]
        return q.text_id, q.start, q.stop
    return None
