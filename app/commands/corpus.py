"""`scriptorium corpus`: import texts into corpora, search them, read concordances, count and compare."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from app import store
from app.commands import corpus_ask
from app.commands.corpus_text import BOLD, RESET, REVERSE, ProgressLine, fit, is_tty, mark, table, width
from app.commands.corpus_text import emit as _emit, plain as _plain, text_filter as _filters
from app.desk.corpus_report import import_summary, progress_text
from app.errors import UserError



def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `corpus` and its actions to the command line."""
    p = subparsers.add_parser("corpus", help="import, search and count corpora", description=__doc__)
    sub = p.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)

    def leaf(name: str, handler: Callable, help: str, filters: bool = False) -> argparse.ArgumentParser:
        q = sub.add_parser(name, parents=[parent], help=help, description=help)
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(handler=handler)
        if filters:
            q.add_argument("--corpus", metavar="NAME", help="only this corpus (default: all of them)")
            q.add_argument("--author", metavar="A", help="only texts by this author")
            q.add_argument("--collection", metavar="C", help="only texts in this collection")
            q.add_argument("--title", metavar="T", help="only texts whose title contains T")
            q.add_argument("--from", dest="date_from", metavar="DATE", help="only texts dated DATE or later")
            q.add_argument("--to", dest="date_to", metavar="DATE", help="only texts dated DATE or earlier")
        return q

    q = leaf("import", run_import, "import files or folders (txt, md, html, docx, epub, pdf, csv, json, jsonl) into a corpus")
    q.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    q.add_argument("--corpus", metavar="NAME", help="the corpus to add to, created if new (default: the first path's name)")
    q.add_argument("--fields", metavar="F=KEY,...", help="for CSV/JSON: which column or key holds each field, e.g. title=name,body=text")
    leaf("list", run_list, "corpora with their texts and size")
    q = leaf("search", run_search, 'texts matching a query in any script: words, "a phrase", prefix*, AND, OR, NOT, (…), CJK characters', filters=True)
    q.add_argument("query")
    q.add_argument("--limit", type=int, default=20, metavar="N", help="texts per page (default 20)")
    q.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N texts")
    q = leaf("kwic", run_kwic, "a concordance: every hit with its left and right context", filters=True)
    q.add_argument("term")
    q.add_argument("--width", type=int, default=40, metavar="N", help="characters of context each side (default 40)")
    q.add_argument("--sort", default="R1", metavar="KEYS", help="up to three of L3,L2,L1,R1,R2,R3: the tokens left or right of the match to sort by (default R1)")
    q.add_argument("--limit", type=int, metavar="N", help="at most N lines")
    q.add_argument("--csv", type=Path, metavar="FILE", help="also write the lines to a CSV file")
    for name, n, help in (("freq", 1, "a frequency list of words or characters"), ("ngrams", 2, "the commonest n-grams")):
        q = leaf(name, run_freq, help, filters=True)
        q.add_argument("--unit", choices=("word", "char"), default="word", help="words (CJK: characters) or characters (default word)")
        q.add_argument("--n", type=int, default=n, metavar="N", help=f"length of the n-grams (default {n})")
        q.add_argument("--min-count", type=int, default=1, metavar="N", help="leave out items seen fewer than N times")
        q.add_argument("--limit", type=int, default=50, metavar="N", help="the N commonest (default 50)")
    q = leaf("collocates", run_collocates, "words found near a term, with association measures", filters=True)
    q.add_argument("term")
    q.add_argument("--window", default="5,5", metavar="L,R", help="words to the left and right (default 5,5)")
    q.add_argument("--measure", default="ll", metavar="mi|ll|t|logdice", help="the measure to sort by (default ll)")
    q.add_argument("--min-count", type=int, default=3, metavar="N", help="leave out collocates seen fewer than N times (default 3)")
    q.add_argument("--limit", type=int, default=30, metavar="N", help="the N strongest (default 30)")
    q = leaf("keyness", run_keyness, "words over- and under-used in one corpus against another")
    q.add_argument("--target", required=True, metavar="NAME", help="the corpus studied")
    q.add_argument("--reference", required=True, metavar="NAME", help="the corpus it is compared with")
    q.add_argument("--unit", choices=("word", "char"), default="word")
    q.add_argument("--limit", type=int, default=30, metavar="N", help="the N most key items (default 30)")
    q = leaf("dispersion", run_dispersion, "where a term falls across texts or authors", filters=True)
    q.add_argument("term")
    q.add_argument("--by", choices=("text", "author"), default="text", help="one row per text or per author (default text)")
    q.add_argument("--png", type=Path, metavar="FILE", help="also draw the dispersion plot to a PNG file")
    q = leaf("show", run_show, "print a text, or the passage at an offset")
    q.add_argument("text_id", type=int, metavar="TEXT_ID")
    q.add_argument("--at", type=int, metavar="OFFSET", help="print the passage around this character offset")
    q.add_argument("--length", type=int, default=0, metavar="N", help="with --at, mark N characters from the offset")
    leaf("delete", run_delete, "delete a corpus and its index (the files imported from stay)").add_argument("name")
    corpus_ask.add_commands(leaf)  # similar, ask
    q = leaf("embed", run_embed, "give every passage a vector, for search by meaning (resumable: run it again after Ctrl+C)")
    q.add_argument("--corpus", metavar="NAME", help="only this corpus (default: all of them)")
    q.add_argument("--model", metavar="NAME", help="a registered GGUF embedding model, e.g. bge-m3 for Chinese "
                   "(default: the embedded all-MiniLM-L6-v2, English only)")


def _open(args: argparse.Namespace) -> closing[Database]:
    """The store of --home, closed when the block ends."""
    return closing(store.open_db(args.home))


def parse_fields(spec: str | None) -> dict[str, str] | None:
    """`title=name,body=text` as {"title": "name", "body": "text"} (the importer checks the field names)."""
    if not spec:
        return None
    pairs = [part.partition("=") for part in spec.split(",") if part.strip()]
    fields = {k.strip(): v.strip() for k, sep, v in pairs if sep and k.strip() and v.strip()}
    if len(fields) != len(pairs):
        raise UserError("--fields takes FIELD=KEY pairs separated by commas, e.g. title=name,author=poet,body=paragraphs.")
    return fields


def parse_window(spec: str) -> tuple[int, int]:
    """`5,5` (or `5`) as (left, right) words."""
    try:
        parts = [int(p) for p in spec.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts, default=-1) < 0:
        raise UserError("--window takes L,R: how many words to the left and right, e.g. 5,5.")
    return (parts[0], parts[-1])


# -- import ----------------------------------------------------------------------------------
@contextmanager
def _interrupt_cancels() -> Iterator[threading.Event]:
    """While the block runs, Ctrl+C sets the event instead of raising, so an import stops between texts."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def run_import(args: argparse.Namespace) -> int:
    """Import files and folders into a corpus; print the report."""
    from app.corpus.importers.job import run_import as import_paths

    fields = parse_fields(args.fields)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UserError(f"Nothing at {', '.join(missing)}; check the path.")
    name = args.corpus or (args.paths[0].resolve().stem or "corpus")
    line = ProgressLine()
    with _interrupt_cancels() as cancel:
        report = import_paths(args.home, args.paths, name, fields, lambda p: line.show("Importing: " + progress_text(p)), cancel)
    line.clear()
    _emit(args, {"corpus": name, **_plain(report)}, lambda: import_summary(name, report))
    return 130 if report.cancelled else 0


# -- list, show, delete ----------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    from app.corpus.store import list_corpora

    with _open(args) as db:
        corpora = list_corpora(db)
    rows = [{"id": c.id, "name": c.name, "texts": c.texts, "chars": c.chars} for c in corpora]
    text = table(rows, (("id", "id"), ("name", "corpus"), ("texts", "texts"), ("chars", "characters"))) if rows else (
        "No corpora yet; `scriptorium corpus import PATH --corpus NAME` makes one.")
    return _emit(args, {"corpora": rows}, text)


def run_show(args: argparse.Namespace) -> int:
    """Print a text whole, or the passage around an offset with the spot marked on a terminal."""
    from app.corpus.store import get_text

    with _open(args) as db:
        text = get_text(db, args.text_id)
    body = text.body
    if args.at is None:
        if args.json:
            return _emit(args, _plain(text), "")
        sys.stdout.write(body if body.endswith("\n") or not body else body + "\n")
        return 0
    if not 0 <= args.at <= len(body):
        raise UserError(f"Text {args.text_id} has {len(body):,} characters; --at must be between 0 and that.")
    start, end = max(0, args.at - 400), min(len(body), args.at + args.length + 400)
    passage = body[start:end]
    spot = (args.at - start, args.at - start + args.length)
    payload = {k: v for k, v in _plain(text).items() if k != "body"} | {"at": args.at, "start": start, "end": end, "passage": passage}
    header = f"{text.title} (text {text.id}), characters {start:,}–{end:,} of {len(body):,}:"
    return _emit(args, payload, lambda: header + "\n" + mark(passage, [spot], is_tty(sys.stdout), REVERSE))


def run_delete(args: argparse.Namespace) -> int:
    from app.corpus.store import delete_corpus

    with _open(args) as db:
        delete_corpus(db, args.name)
    return _emit(args, {"deleted": args.name}, f"Deleted the corpus {args.name!r} and its index; the files imported from are untouched.")


def run_embed(args: argparse.Namespace) -> int:
    """Embed the passages that have no vector from the embedder yet; print how many and how fast."""
    from app.corpus.vectors import embed_corpus

    line = ProgressLine()
    with _interrupt_cancels() as cancel:
        report = embed_corpus(args.home, args.corpus, args.model,
                              lambda done, total: line.show(f"Embedding: {done:,} of {total:,} passages"), cancel)
    line.clear()
    if report.cancelled:
        about = f"Stopped: {report.embedded:,} passages embedded in this run; run it again to go on from there."
    else:
        speed = f" in {report.seconds:,.1f} s ({report.per_second:,.1f} passages/s)" if report.embedded else ""
        about = f"{report.embedded:,} passages embedded{speed}; {report.already:,} had vectors already."
    text = f"{report.model} ({report.dim} dimensions): {report.passages:,} passages. {about}"
    _emit(args, report.to_dict(), text)
    return 130 if report.cancelled else 0


# -- search and concordance ------------------------------------------------------------------
def run_search(args: argparse.Namespace) -> int:
    from app.corpus.search import search

    with _open(args) as db:
        page = search(db, args.query, corpus=args.corpus, filters=_filters(args), limit=args.limit, offset=args.offset)
    return _emit(args, _plain(page), lambda: search_text(page, is_tty(sys.stdout)))


def search_text(page: Any, tty: bool) -> str:
    """A page of hits: how many texts match, then each text's title, where its first match is, and the snippet."""
    from app.corpus.search import MARKS

    if not page.total:
        return f"No texts match {page.query!r}."
    last = page.offset + len(page.hits)
    order = "" if page.ranked else " (in text order: too many match to rank)"
    shown = f"; {page.offset + 1:,}–{last:,}{order}" if page.total > len(page.hits) or page.offset else order
    lines = [f"{page.total:,} texts match {page.query!r}{shown}:"]
    for hit in page.hits:
        snippet = " ".join(hit.extra.get("snippet", "").split())
        if tty:
            snippet = snippet.replace(MARKS[0], BOLD).replace(MARKS[1], RESET)
        lines += [f"[{hit.text_id}@{hit.start}] {hit.title}", f"    {snippet}"]
    if page.total > last:
        lines.append(f"More: --offset {last}.")
    return "\n".join(lines)


def run_kwic(args: argparse.Namespace) -> int:
    from app.corpus.kwic import kwic, to_csv

    sort = tuple(k for k in args.sort.split(",") if k.strip())  # kwic checks them
    with _open(args) as db:
        lines = kwic(db, args.term, corpus=args.corpus, filters=_filters(args), width=args.width, sort=sort, limit=args.limit)
    if args.csv:
        to_csv(lines, args.csv)
    payload = {"term": args.term, "sort": list(sort), "count": len(lines), "csv": args.csv, "lines": [_plain(x) for x in lines]}
    return _emit(args, payload, lambda: kwic_text(args.term, lines, args.width, is_tty(sys.stdout), args.csv))


def kwic_text(term: str, lines: list[Any], context: int, tty: bool, csv: Path | None = None) -> str:
    """Concordance lines aligned on the match: right-aligned left context, the match, left-aligned right context."""
    if not lines:
        return f"No hits for {term!r}."
    # `context` characters take up to twice as many columns in CJK text: the columns follow the widest line.
    left, right = (min(2 * context, max(width(getattr(x, side)) for x in lines)) for side in ("left", "right"))
    match_cols = max(width(x.match) for x in lines)
    out = []
    for x in lines:
        match = fit(x.match, match_cols)
        out.append(f"{x.text_id:>6}  {fit(x.left, left, 'right')} {mark(match, [(0, len(x.match))], tty)} {fit(x.right, right)}".rstrip())
    out.append(f"{len(lines):,} lines" + (f"; written to {csv}." if csv else "."))
    return "\n".join(out)


# -- statistics ------------------------------------------------------------------------------
def _ranked(rows: list[Any], **extra: Any) -> list[dict[str, Any]]:
    """Result rows as dicts with their rank first; nested scores become columns of their own."""
    out = []
    for rank, row in enumerate(rows, 1):
        values = _plain(row)
        values |= values.pop("scores", {})
        out.append({"rank": rank, **values, **extra})
    return out


def run_freq(args: argparse.Namespace) -> int:
    """Frequencies of words, characters or n-grams."""
    from app.corpus.stats import frequencies

    with _open(args) as db:
        result = frequencies(db, args.corpus, _filters(args), unit=args.unit, n=args.n, min_count=args.min_count, limit=args.limit)
    rows = _ranked(result.rows)
    columns = (("rank", "rank"), ("item", "item"), ("count", "count"), ("texts", "texts"), ("per_million", "per million"))
    summary = f"{result.tokens:,} tokens, {result.types:,} types."
    payload = {"unit": result.unit, "n": result.n, "tokens": result.tokens, "types": result.types, "items": rows}
    return _emit(args, payload, lambda: (table(rows, columns) + "\n" + summary) if rows else "No items to count.")


def run_collocates(args: argparse.Namespace) -> int:
    from app.corpus.stats import MEASURES as ALL_MEASURES, collocates

    measures = (args.measure, *(m for m in ALL_MEASURES if m != args.measure))  # the first sorts
    with _open(args) as db:
        result = collocates(db, args.corpus, args.term, _filters(args), window=parse_window(args.window),
                            min_count=args.min_count, measures=measures, limit=args.limit)
    rows = _ranked(result.rows)
    columns = [("rank", "rank"), ("item", "collocate"), ("observed", "observed"), ("expected", "expected"), ("frequency", "frequency")]
    columns += [(m, m.upper() if m != "logdice" else "logDice") for m in measures]
    payload = {"term": args.term, "window": list(result.window), "node_frequency": result.node_frequency, "measure": args.measure, "collocates": rows}
    about = f"{result.node_frequency:,} hits of {args.term!r}, window {result.window[0]} left, {result.window[1]} right."
    return _emit(args, payload, lambda: (table(rows, columns) + "\n" + about) if rows else
                 f"No collocates of {args.term!r} seen {args.min_count} times or more.")


def run_keyness(args: argparse.Namespace) -> int:
    from app.corpus.stats import keyness

    with _open(args) as db:
        result = keyness(db, args.target, args.reference, unit=args.unit, limit=args.limit)
    rows = _ranked(result.rows)
    columns = (("item", "item"), ("use", "use"), ("target_count", args.target), ("reference_count", args.reference),
               ("log_likelihood", "G²"), ("p", "p"), ("percent_diff", "%DIFF"), ("log_ratio", "log ratio"))
    payload = {"target": args.target, "reference": args.reference, "target_tokens": result.target_tokens,
               "reference_tokens": result.reference_tokens, "items": rows}
    return _emit(args, payload, lambda: table(rows, columns) if rows else "No item differs between the two corpora.")


def run_dispersion(args: argparse.Namespace) -> int:
    from app.corpus.stats import dispersion

    with _open(args) as db:
        result = dispersion(db, args.corpus, args.term, _filters(args), by=args.by)
    if args.png:
        from app.corpus.charts import dispersion_png

        dispersion_png(result, args.png)
    parts = [{k: v for k, v in _plain(p).items() if k != "positions"} for p in result.parts if p.count]
    payload = {**_plain(result), "png": args.png}
    columns = (("label", args.by), ("tokens", "tokens"), ("count", "hits"), ("per_million", "per million"))
    about = (f"{result.count:,} hits in {len(parts):,} of {len(result.parts):,} {args.by}s; "
             f"Gries's DP {result.dp:.3f} (0: spread evenly, 1: all in one part).")
    drawn = f"\nDrew the plot to {args.png}." if args.png else ""
    return _emit(args, payload, lambda: (table(parts, columns) + "\n" + about + drawn) if parts else f"No hits for {args.term!r}.")
