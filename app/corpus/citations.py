"""What an answer cites and quotes, each checked against the numbered sources it was given.

- A citation is a bracketed number, or several: [2], [1, 3], ［２］. It is valid when it names a source; a number
  past the last source (or 0) is marked invalid, never linked.
- A quote is a span in "…", “…”, 「…」 or 『…』 (an opening mark with no closing one runs to the end of the line: an
  answer cut short still shows it). Which citation names its source depends on the answer's habit: when it
  cites before it first quotes ("[2] “…”", as the base-model prompt teaches), the nearest citation before the
  quote on its line; otherwise ("“…” [2]") the citation right after it (only spaces and punctuation between),
  else the nearest before it on its line; else, either way, the first after it there. A quote that cites
  nothing, or only invalid numbers, is unverified.
- A quote is verified when its words occur verbatim in the cited passage after the corpus's own fold
  (app/corpus/fold.py: case, accents, traditional and variant characters, full-width forms), with each run of
  whitespace as one space and the quote's own leading and trailing spaces and punctuation left out. An ellipsis
  (… or ...) inside a quote stands for words left out: each piece must occur, in order. A verified quote carries
  its exact [start, end) in the text's body; an unverified one is only ever shown as unverified.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from app.corpus.fold import Fold

_CITATION = re.compile(r"[\[［]\s*(\d+(?:\s*[,，;；、]\s*\d+)*)\s*[\]］]")
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』"}
_OPEN = re.compile("|".join(re.escape(mark) for mark in _QUOTES))
_ELLIPSIS = re.compile(r"…+|\.\.\.+")
_JOINING = re.compile(r"[\s,.;:!?，。；：！？、)）]*")  # what may stand between a quote and the citation after it
_WHITESPACE = re.compile(r"\s+")


class Source(Protocol):
    """A numbered source as the checks read it (retrieve.Found is one)."""

    text_id: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    """[at, end) of the answer holds a bracketed number naming source `number` (1-based); invalid names none."""

    number: int
    at: int
    end: int
    valid: bool


@dataclass(frozen=True)
class Quote:
    """A quoted span of the answer, [at, end) without its marks, and what the check found.

    `verified`: found in `source` (a number) at [start, end) of text `text_id`'s body. Otherwise `reason` says
    why not: it cites no source, only invalid ones, or the words are not in the sources it cites.
    """

    text: str
    at: int
    end: int
    cites: tuple[int, ...]
    verified: bool
    source: int | None = None
    text_id: int | None = None
    start: int | None = None
    stop: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Checked:
    """Every citation and quote of one answer, in the order they appear."""

    citations: list[Citation] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)

    @property
    def invalid(self) -> list[Citation]:
        return [c for c in self.citations if not c.valid]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(answer: str, sources: Sequence[Source], fold: Fold) -> Checked:
    """The answer's citations, and its quotes each checked against the sources it cites."""
    citations, spans = find_citations(answer, len(sources)), quote_spans(answer)
    numbers_first = bool(citations and spans and citations[0].at < spans[0][0])
    quotes = [_check_quote(answer, at, end, _cited(answer, at, end, citations, numbers_first), sources, fold) for at, end in spans]
    return Checked(citations, quotes)


def with_marks(answer: str, quote: Quote) -> tuple[int, int]:
    """[start, end) of a quote in the answer with its opening mark, and its closing one when it has one."""
    closed = answer[quote.end : quote.end + 1] == _QUOTES.get(answer[quote.at - 1 : quote.at], None)
    return quote.at - 1, quote.end + closed


def find_citations(answer: str, count: int) -> list[Citation]:
    """Each number in each bracket, valid when 1 <= number <= count (sources are numbered from 1)."""
    out = []
    for m in _CITATION.finditer(answer):
        for number in re.findall(r"\d+", m.group(1)):
            n = int(number)  # int() reads full-width digits too
            out.append(Citation(n, m.start(), m.end(), 1 <= n <= count))
    return out


def quote_spans(answer: str) -> list[tuple[int, int]]:
    """[at, end) of each quoted span's inside, in order; an unclosed one runs to the end of its line."""
    spans, pos = [], 0
    while (m := _OPEN.search(answer, pos)) is not None:
        closing = _QUOTES[m.group()]
        line_end = answer.find("\n", m.end())
        line_end = len(answer) if line_end < 0 else line_end
        close = answer.find(closing, m.end(), line_end)
        end = close if close >= 0 else line_end
        if answer[m.end() : end].strip():
            spans.append((m.end(), end))
        pos = end + (1 if close >= 0 else 0)
    return spans


def _cited(answer: str, at: int, end: int, citations: list[Citation], numbers_first: bool) -> tuple[int, ...]:
    """The numbers a quote at [at, end) cites, by the rule of the module docstring."""
    line_start, line_end = answer.rfind("\n", 0, at) + 1, answer.find("\n", end)
    line_end = len(answer) if line_end < 0 else line_end
    after = [c for c in citations if end <= c.at < line_end]
    close = end + 1 if end < len(answer) else end
    if after and not numbers_first and _JOINING.fullmatch(answer[close : after[0].at]):
        return _numbers(after, after[0].at)
    before = [c for c in citations if line_start <= c.at and c.end <= at]
    if before:
        return _numbers(before, before[-1].at)
    return _numbers(after, after[0].at) if after else ()


def _numbers(citations: list[Citation], at: int) -> tuple[int, ...]:
    """The numbers of the bracket that starts at `at`."""
    return tuple(c.number for c in citations if c.at == at)


def _check_quote(answer: str, at: int, end: int, cites: tuple[int, ...], sources: Sequence[Source], fold: Fold) -> Quote:
    text = answer[at:end]
    valid = [n for n in cites if 1 <= n <= len(sources)]
    if not cites:
        return Quote(text, at, end, cites, False, reason="it cites no source")
    if not valid:
        return Quote(text, at, end, cites, False, reason="it cites no source that was retrieved")
    for n in valid:
        source = sources[n - 1]
        found = locate(text, source.text, fold)
        if found is not None:
            return Quote(text, at, end, cites, True, n, source.text_id, source.start + found[0], source.start + found[1])
    named = ", ".join(f"[{n}]" for n in valid)
    return Quote(text, at, end, cites, False, reason=f"these words are not in {named}")


def locate(quote: str, passage: str, fold: Fold) -> tuple[int, int] | None:
    """[start, end) in `passage` where `quote` occurs (folded, whitespace runs as one space; pieces around an
    ellipsis in order); None when it does not, or when it has no letter or digit to look for."""
    pieces = [p for p in (_trim(piece) for piece in _ELLIPSIS.split(quote)) if p]
    if not pieces:
        return None
    haystack, where = _normalized(fold.text(passage))
    start = pos = None
    for piece in pieces:
        needle, _ = _normalized(fold.text(piece))
        found = haystack.find(needle, 0 if pos is None else pos)
        if found < 0:
            return None
        start = found if start is None else start
        pos = found + len(needle)
    return where[start], where[pos - 1] + 1


def _trim(piece: str) -> str:
    """A piece of a quote without the spaces and punctuation at its ends; '' when it has no letter or digit."""
    chars = [i for i, c in enumerate(piece) if unicodedata.category(c)[0] in "LN"]
    return piece[chars[0] : chars[-1] + 1] if chars else ""


def _normalized(text: str) -> tuple[str, list[int]]:
    """`text` with each whitespace run as one space, and for each character of that the offset it came from."""
    out, where, pos = [], [], 0
    for m in _WHITESPACE.finditer(text):
        out.append(text[pos : m.start()])
        where.extend(range(pos, m.start()))
        out.append(" ")
        where.append(m.start())
        pos = m.end()
    out.append(text[pos:])
    where.extend(range(pos, len(text)))
    return "".join(out), where
