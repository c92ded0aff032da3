"""`scriptorium corpus similar` and `corpus ask`: passages found by BM25, vectors or both, and answers citing them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import closing
from typing import Any

from app import store
from app.commands.corpus_text import BOLD, RESET, REVERSE, emit, is_tty, plain, text_filter
from app.errors import UserError

SNIPPET = 160  # characters of a passage shown under its heading
Leaf = Callable[..., argparse.ArgumentParser]  # corpus.py's leaf(name, handler, help, filters=...)


def add_commands(leaf: Leaf) -> None:
    """Add `similar` and `ask` to `scriptorium corpus`."""
    from app.corpus.retrieve import MODES

    q = leaf("similar", run_similar, "passages that match a text or answer a question: BM25, vectors, or both fused", filters=True)
    q.add_argument("text", help="a question, a phrase or a whole passage")
    q.add_argument("--mode", choices=MODES, default="hybrid", help="bm25 (words), vector (meaning) or hybrid (both, fused; default)")
    q.add_argument("--limit", type=int, default=10, metavar="N", help="passages to show (default 10)")
    q = leaf("ask", run_ask, "answer a question from a corpus, citing its passages by number; every quote is checked", filters=True)
    q.add_argument("question")
    q.add_argument("--mode", choices=MODES, default="hybrid", help="how the sources are found (default hybrid)")
    q.add_argument("--model", metavar="M", help="the model that answers (default: the default model)")


def _query_vector(db: Any, home: Any, client: Any, text: str, corpus: str | None, mode: str) -> Any:
    """The text embedded by the embedder of the corpus's vectors; None for BM25 or a corpus with no vectors."""
    from app.corpus.retrieve import query_embedder
    from app.corpus.vectors import embed_query

    use = query_embedder(db, corpus) if mode != "bm25" else None
    return embed_query(text, use.name, client=client, home=home) if use else None


def run_similar(args: argparse.Namespace) -> int:
    """Print the passages found, each with its place (text id and offsets) and scores."""
    from app.corpus.retrieve import retrieve
    from inference.client import WorkerClient

    if args.limit < 1:
        raise UserError("--limit must be at least 1.")
    with closing(store.open_db(args.home)) as db, closing(WorkerClient(home=args.home)) as client:  # started when first asked
        vector = _query_vector(db, args.home, client, args.text, args.corpus, args.mode)
        found = retrieve(db, args.text, args.corpus, args.mode, args.limit, text_filter(args), vector)
    return emit(args, plain(found), lambda: similar_text(found, is_tty(sys.stdout)))


def similar_text(found: Any, tty: bool) -> str:
    """A heading saying which mode ran, then each passage: number, title, place, scores, and its opening."""
    if not found.passages:
        return (f"{found.note}\n" if found.note else "") + f"No passages match {found.query!r}."
    n = len(found.passages)
    lines = [f"{n} passage{'s' if n != 1 else ''} by {_mode_name(found.mode)}:"]
    if found.note:
        lines.append(found.note)
    for n, p in enumerate(found.passages, 1):
        lines += [f"[{n}] {_heading(p, tty)}  {_scores(p)}", f"    {_snippet(p.text)}"]
    return "\n".join(lines)


def _mode_name(mode: str) -> str:
    return {"bm25": "BM25 (words)", "vector": "vectors (meaning)", "hybrid": "BM25 and vectors, fused"}[mode]


def _heading(p: Any, tty: bool) -> str:
    title = f"{BOLD}{p.title}{RESET}" if tty else p.title
    return f"{title} — text {p.text_id}, characters {p.start:,}–{p.end:,}"


def _scores(p: Any) -> str:
    parts = [f"BM25 #{p.bm25_rank} {p.bm25:.2f}" if p.bm25_rank else "", f"vector #{p.vector_rank} {p.cosine:.3f}" if p.vector_rank else ""]
    return "(" + ", ".join(x for x in parts if x) + ")"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[:SNIPPET].rsplit(" ", 1)[0] + " …"


def run_ask(args: argparse.Namespace) -> int:
    """Answer from the corpus, or say why not; the generation is logged like any other."""
    from app.corpus.answer import finish, prepare
    from inference.client import WorkerClient

    with closing(store.open_db(args.home)) as db, closing(WorkerClient(home=args.home)) as client:  # started when first asked
        vector = _query_vector(db, args.home, client, args.question, args.corpus, args.mode)
        prepared = prepare(db, args.question, args.corpus, text_filter(args), vector, args.mode)
        result: dict = {}
        if not prepared.refused:  # a refusal never loads a model
            from app.commands.remote_models import chosen_model

            chosen_model(args.home, args.model)  # says so when the passages are about to leave this machine
            model = client.call("load_model", model=args.model)["model"]
            result = client.call("generate", **prepared.request)
            store.log_generation(db, task=prepared.request["task"], prompt=result.get("prompt", ""), output=result.get("output", ""),
                                 model=result.get("model", ""), model_sha256=model.get("sha256", ""),
                                 params=prepared.request | {"text": None}, stats=result.get("stats", {}))
        answer = finish(db, prepared, result.get("output", ""), result.get("model", ""))
    return emit(args, answer.to_dict(), lambda: answer_text(answer, is_tty(sys.stdout)))


def answer_text(answer: Any, tty: bool) -> str:
    """The answer with each quote marked verified or not, then its citations, its quotes and the sources."""
    p = answer.prepared
    if answer.refused:
        return p.reason
    lines = [marked_answer(answer, tty), ""]
    if p.retrieval.note:
        lines += [p.retrieval.note, ""]
    lines.append("Citations:" if answer.checked.citations else "Citations: none — the model named no source.")
    for c in answer.checked.citations:
        s = answer.sources[c.number - 1] if c.valid else None
        lines.append(f"  [{c.number}] {_heading(s, tty)}  (scriptorium corpus show {s.text_id} --at {s.start} --length {s.end - s.start})"
                     if s else f"  [{c.number}] invalid: no source {c.number} was retrieved")
    for q in answer.checked.quotes:
        where = f"[{q.source}], text {q.text_id}, characters {q.start:,}–{q.stop:,}" if q.verified else f"unverified: {q.reason}"
        lines.append(f"  {'✓' if q.verified else '✗'} “{q.text}” — {where}")
    lines += ["", "Sources:"] + [f"  [{n}] {_heading(s, tty)}: {_snippet(s.text)}" for n, s in enumerate(answer.sources, 1)]
    return "\n".join(lines)


def marked_answer(answer: Any, tty: bool) -> str:
    """The answer's text with "(unverified)" after each quote not found in its source; on a terminal verified
    quotes are bold and unverified ones reversed."""
    from app.corpus.citations import with_marks

    text, out, pos = answer.output, [], 0
    for q in answer.checked.quotes:
        end = with_marks(text, q)[1]
        out.append(text[pos : q.at])
        quoted = text[q.at : q.end]
        out.append((f"{BOLD}{quoted}{RESET}" if q.verified else f"{REVERSE}{quoted}{RESET}") if tty else quoted)
        out.append(text[q.end : end] + ("" if q.verified else " (unverified)"))
        pos = end
    return "".join(out) + text[pos:]
