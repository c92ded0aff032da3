"""Corpus statistics: frequency lists and n-grams, collocates, keywords and dispersion, read through iter_texts.

Tokens are app.corpus.tokens' (words, CJK characters), folded with the corpus's own fold; they are counted by
app.corpus.counts; the arithmetic is app.corpus.measures', one formula a function. A collocation node or a dispersed
term is a search query (app.corpus.search), so its count is the concordance's.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from sqlite_utils import Database

from app.corpus import measures as formulas
from app.corpus.counts import Grams, Tally, Totals, Vocabulary
from app.corpus.records import Hit
from app.corpus.search import find_all
from app.corpus.store import TextFilter, fold_of, iter_texts
from app.corpus.tokens import UNITS, Layout, Unit, layout
from app.errors import UserError

Measure = Literal["mi", "ll", "t", "logdice"]
MEASURES: tuple[Measure, ...] = ("mi", "ll", "t", "logdice")
NO_AUTHOR = "(no author)"


class _Result:
    """A result the command line prints with --json."""

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Count:
    """One row of a frequency list: how often, in how many texts, and per million tokens."""

    item: str
    count: int
    texts: int
    per_million: float


@dataclass(frozen=True)
class FrequencyList(_Result):
    """A frequency list: `tokens` is the corpus size (the base of per_million), `types` the distinct items."""

    unit: Unit
    n: int
    tokens: int
    types: int
    rows: list[Count]


@dataclass(frozen=True)
class Collocate:
    """A collocate: O and E in the node's windows, its corpus frequency, and a score per measure asked for."""

    item: str
    observed: int
    expected: float
    frequency: int
    scores: dict[str, float]


@dataclass(frozen=True)
class CollocateList(_Result):
    """The collocates of a node: `window_tokens` is the size of its windows' union, `tokens` the corpus size."""

    term: str
    window: tuple[int, int]
    node_frequency: int
    window_tokens: int
    tokens: int
    rows: list[Collocate]


@dataclass(frozen=True)
class Keyword:
    """A word compared between a target and a reference: counts, rates, G² and its p, the effect sizes, the sign."""

    item: str
    target_count: int
    reference_count: int
    target_per_million: float
    reference_per_million: float
    log_likelihood: float
    p: float
    percent_diff: float
    log_ratio: float
    use: Literal["over", "under", "equal"]


@dataclass(frozen=True)
class KeywordList(_Result):
    """Keywords, over-used first, each side by G² from the highest; the sizes are the bases of the rates."""

    target_tokens: int
    reference_tokens: int
    rows: list[Keyword]


@dataclass(frozen=True)
class Part:
    """One part of a corpus (a text or an author): its size, the term's count and rate, where the hits fall (0–1)."""

    key: str
    label: str
    tokens: int
    count: int
    per_million: float
    positions: tuple[float, ...]


@dataclass(frozen=True)
class Dispersion(_Result):
    """How a term spreads over the parts of a corpus, with Gries's DP (0 even … 1 all in one part)."""

    term: str
    by: Literal["text", "author"]
    tokens: int
    count: int
    dp: float
    parts: list[Part]


def frequencies(
    db: Database,
    corpus: str | int | None = None,
    filters: TextFilter | None = None,
    unit: Unit = "word",
    n: int = 1,
    min_count: int = 1,
    limit: int | None = None,
) -> FrequencyList:
    """The word (or character) list of a corpus, or its n-grams, commonest first (ties alphabetical)."""
    _check_unit(unit, n)
    grams = Grams(Vocabulary(), n, unit)
    totals, size = _tally(db, corpus, filters, grams)
    kept = np.flatnonzero(totals.counts >= min_count)
    rows = [Count(grams.label(k), c, t, formulas.per_million(c, size))
            for k, c, t in _columns(totals, _leading(totals.counts, kept, limit))]
    return FrequencyList(unit, n, size, len(totals.keys), _top(rows, limit, key=lambda r: (-r.count, r.item)))


def keyness(
    db: Database,
    corpus: str | int | None = None,
    reference: str | int | None = None,
    filters: TextFilter | None = None,
    reference_filters: TextFilter | None = None,
    unit: Unit = "word",
    n: int = 1,
    min_count: int = 3,
    limit: int | None = None,
) -> KeywordList:
    """Keywords of a target (corpus + filters) against a reference (reference + reference_filters).

    Every item seen at least `min_count` times on the two sides together, with log-likelihood (G², 4-term),
    its p-value, %DIFF and log ratio; `use` says whether the target over- or under-uses it.
    """
    _check_unit(unit, n)
    grams = Grams(Vocabulary(), n, unit)  # one vocabulary: a key means the same item on both sides
    target, target_size = _tally(db, corpus, filters, grams)
    ref, ref_size = _tally(db, reference, reference_filters, grams)
    if not target_size or not ref_size:
        raise UserError("Keywords need tokens on both sides; the target or the reference selects no text with words.")
    keys = np.union1d(target.keys, ref.keys)
    a, b = target.count_of(keys), ref.count_of(keys)
    kept = np.flatnonzero(a + b >= min_count)
    rows = [_keyword(grams.label(k), x, target_size, y, ref_size)
            for k, x, y in zip(keys[kept].tolist(), a[kept].tolist(), b[kept].tolist())]
    return KeywordList(target_size, ref_size, _top(rows, limit, key=lambda k: (k.use != "over", -k.log_likelihood, k.item)))


def _keyword(item: str, a: int, c: int, b: int, d: int) -> Keyword:
    """The keyness of one item seen a times in c tokens of the target and b times in d of the reference."""
    ll = formulas.keyness_g2(a, c, b, d)
    rate_t, rate_r = formulas.per_million(a, c), formulas.per_million(b, d)
    use = "over" if rate_t > rate_r else "under" if rate_t < rate_r else "equal"
    return Keyword(item, a, b, rate_t, rate_r, ll, formulas.chi2_p(ll), formulas.percent_diff(a, c, b, d),
                   formulas.log_ratio(a, c, b, d), use)


def collocates(
    db: Database,
    corpus: str | int | None = None,
    term: str = "",
    filters: TextFilter | None = None,
    window: tuple[int, int] = (5, 5),
    min_count: int = 3,
    measures: Iterable[str] = MEASURES,
    limit: int | None = None,
) -> CollocateList:
    """The words near the hits of `term` (a search query), `window` = (left, right) tokens, by the first measure.

    A token inside several windows counts once; the node's own tokens are never in a window. "ll" is signed:
    negative where a word is seen less often than expected near the node.
    """
    asked = _check_collocation(window, measures)
    hits, fold = _hits_by_text(db, term, corpus, filters), fold_of(db)
    grams = Grams(Vocabulary(), 1, "word")
    frequency, near = Tally(), Tally()
    size = windows = nodes = 0
    for text in iter_texts(db, corpus, filters):
        laid = layout(text.body, "word", fold)
        ids = grams.vocabulary.ids(laid)
        frequency.add(ids)
        size += len(ids)
        if text.id in hits:
            first, last = _node_spans(laid, hits[text.id])
            inside = _window_mask(first, last, window, len(ids))
            near.add(ids[inside])
            windows, nodes = windows + int(inside.sum()), nodes + len(first)
    observed, f = near.totals(), frequency.totals()
    rows = [_collocate(grams.label(k), o, windows, f_c, size, nodes, asked)
            for k, o, f_c in zip(observed.keys.tolist(), observed.counts.tolist(), f.count_of(observed.keys).tolist())
            if o >= min_count]
    return CollocateList(term, window, nodes, windows, size,
                         _top(rows, limit, key=lambda c: (-c.scores[asked[0]], -c.observed, c.item)))


def _collocate(item: str, o: int, windows: int, f_c: int, size: int, nodes: int, asked: tuple[str, ...]) -> Collocate:
    """One collocate's expected count and scores (window_table gives the 2×2 table of its log-likelihood)."""
    e = formulas.expected(windows, f_c, size)
    score: dict[str, Callable[[], float]] = {
        "mi": lambda: formulas.mutual_information(o, e),
        "ll": lambda: formulas.g2(*formulas.window_table(o, windows, f_c, size)) * (1 if o >= e else -1),
        "t": lambda: formulas.t_score(o, e),
        "logdice": lambda: formulas.log_dice(o, nodes, f_c),
    }
    return Collocate(item, o, e, f_c, {m: score[m]() for m in asked})


def _node_spans(laid: Layout, hits: list[Hit]) -> tuple[np.ndarray, np.ndarray]:
    """The first and last index of the tokens each hit overlaps; a hit on no token (punctuation) drops out."""
    first = np.searchsorted(laid.ends, [h.start for h in hits], side="right")
    last = np.searchsorted(laid.starts, [h.end for h in hits], side="left") - 1
    kept = first <= last
    return first[kept], last[kept]


def _window_mask(first: np.ndarray, last: np.ndarray, window: tuple[int, int], count: int) -> np.ndarray:
    """Which token positions lie in some node's window: the union of the spans left and right, less the nodes."""
    left, right = window
    near = _cover(count, [np.maximum(first - left, 0), last + 1], [first, np.minimum(last + 1 + right, count)])
    return near & ~_cover(count, [first], [last + 1])


def _cover(count: int, starts: list[np.ndarray], ends: list[np.ndarray]) -> np.ndarray:
    """The positions inside any of the ranges [start, end)."""
    depth = np.zeros(count + 1, dtype=np.int64)
    for lo, hi in zip(starts, ends):
        np.add.at(depth, lo, 1)
        np.add.at(depth, hi, -1)
    return np.cumsum(depth[:-1]) > 0


def dispersion(
    db: Database,
    corpus: str | int | None = None,
    term: str = "",
    filters: TextFilter | None = None,
    by: Literal["text", "author"] = "text",
) -> Dispersion:
    """The hits of `term` (a search query) per text or per author: counts, rates per million tokens, positions, DP."""
    if by not in ("text", "author"):
        raise UserError(f"Dispersion is by text or by author, not {by!r}.")
    hits, fold = _hits_by_text(db, term, corpus, filters), fold_of(db)
    parts: dict[str, dict[str, Any]] = {}
    for text in iter_texts(db, corpus, filters):
        key = str(text.id) if by == "text" else text.author
        label = (text.title or f"text {text.id}") if by == "text" else (text.author or NO_AUTHOR)
        part = parts.setdefault(key, {"label": label, "tokens": 0, "chars": 0, "offsets": []})
        part["offsets"] += [part["chars"] + h.start for h in hits.get(text.id, ())]
        part["chars"] += len(text.body)
        part["tokens"] += len(layout(text.body, "word", fold).starts)
    ordered = sorted(parts.items(), key=lambda kv: kv[1]["label"].casefold()) if by == "author" else parts.items()
    rows = [_part(key, p) for key, p in ordered]
    dp = formulas.gries_dp([p.count for p in rows], [p.tokens for p in rows])
    return Dispersion(term, by, sum(p.tokens for p in rows), sum(p.count for p in rows), dp, rows)


def _part(key: str, p: dict[str, Any]) -> Part:
    """A part's row: positions are character offsets as fractions of the part's length."""
    positions = tuple(offset / p["chars"] for offset in p["offsets"])
    count = len(p["offsets"])
    return Part(key, p["label"], p["tokens"], count, formulas.per_million(count, p["tokens"]), positions)


def _hits_by_text(db: Database, term: str, corpus: str | int | None, filters: TextFilter | None) -> dict[int, list[Hit]]:
    """Every hit of a search query, grouped by text."""
    if not term.strip():
        raise UserError("Give a word or phrase to look for.")
    grouped: dict[int, list[Hit]] = {}
    for hit in find_all(db, term, corpus=corpus, filters=filters):
        grouped.setdefault(hit.text_id, []).append(hit)
    return grouped


def _tally(db: Database, corpus: str | int | None, filters: TextFilter | None, grams: Grams) -> tuple[Totals, int]:
    """The n-gram keys of a selection of texts counted, and its size in tokens."""
    tally, size, fold = Tally(), 0, fold_of(db)
    for text in iter_texts(db, corpus, filters):
        laid = layout(text.body, grams.unit, fold)
        tally.add(grams.keys(grams.vocabulary.ids(laid), laid.breaks))
        size += len(laid.starts)
    return tally.totals(), size


def _leading(counts: np.ndarray, kept: np.ndarray, limit: int | None) -> np.ndarray:
    """The kept indexes that can be among the first `limit` by count: every one tied with the last place too."""
    if limit is None or len(kept) <= limit:
        return kept
    cutoff = -np.partition(-counts[kept], limit - 1)[limit - 1]
    return kept[counts[kept] >= cutoff]


def _columns(totals: Totals, at: np.ndarray) -> Iterable[tuple[int, int, int]]:
    return zip(totals.keys[at].tolist(), totals.counts[at].tolist(), totals.texts[at].tolist())


def _top(rows: Iterable, limit: int | None, key) -> list:
    """The rows in `key` order, only the first `limit` when given (a heap, so a long list is never fully sorted)."""
    return sorted(rows, key=key) if limit is None else heapq.nsmallest(limit, rows, key=key)


def _check_unit(unit: str, n: int) -> None:
    if unit not in UNITS:
        raise UserError(f"Count words or characters (unit 'word' or 'char'), not {unit!r}.")
    if not 1 <= n <= 8:
        raise UserError(f"An n-gram has 1 to 8 tokens, not {n}.")


def _check_collocation(window: tuple[int, int], asked: Iterable[str]) -> tuple[str, ...]:
    """The measures asked for, checked, with the window: each side 0 to 50 tokens, not both 0."""
    names = tuple(asked)
    unknown = [m for m in names if m not in MEASURES]
    if unknown or not names:
        raise UserError(f"Measures are {', '.join(MEASURES)}; {', '.join(unknown) or 'none'} given.")
    left, right = window
    if not (0 <= left <= 50 and 0 <= right <= 50) or left + right == 0:
        raise UserError(f"A window is 0 to 50 tokens on each side, and not 0 on both; {window} given.")
    return names
