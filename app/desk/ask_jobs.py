"""Retrieval, cited answers and sentence rewrites as plain functions for pool threads, each on its own store connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.corpus.store import TextFilter
from app.desk.corpus_jobs import in_store


def embedder_name(home: Path, corpus: str | None, filters: TextFilter) -> str | None:
    """The name of the embedder whose vectors cover most of the corpus in scope; None when it has no vectors."""
    from app.corpus.retrieve import query_embedder

    use = in_store(home, query_embedder, corpus)
    return use.name if use else None


def similar(home: Path, corpus: str | None, filters: TextFilter, query: str, mode: str, k: int, vector: Any) -> Any:
    """The passages for a query by a search mode (a Retrieval)."""
    from app.corpus.retrieve import retrieve

    return in_store(home, retrieve, query, corpus, mode, k, filters, vector)


def prepare_answer(home: Path, corpus: str | None, filters: TextFilter, question: str, vector: Any) -> Any:
    """The sources of an answer and whether to ask the model (answer.Prepared)."""
    from app.corpus.answer import prepare

    return in_store(home, prepare, question, corpus, filters, vector)


def finish_answer(home: Path, prepared: Any, result: dict, model_sha256: str = "") -> Any:
    """The model's answer checked against its sources (answer.Answer), its generation logged as every one is."""
    from app.corpus.answer import finish
    from app.store import log_generation

    def run(db: Any) -> Any:
        log_generation(db, task=prepared.request["task"], prompt=str(result.get("prompt", "")), output=str(result.get("output", "")),
                       model=str(result.get("model", "")), model_sha256=model_sha256, params=prepared.request | {"text": None},
                       stats=result.get("stats") or {})
        return finish(db, prepared, str(result.get("output", "")), str(result.get("model", "")))

    return in_store(home, run)


def hit_sentences(home: Path, hits: list[tuple[int, int, int]]) -> list[Any]:
    """The manuscript sentences holding concordance hits (sentence_rewrite.Sentence)."""
    from app.desk.sentence_rewrite import hit_sentences as sentences

    return in_store(home, sentences, hits)


def land_sentences(home: Path, run: Any, doc_id: int) -> Any:
    """A document's accepted sentences put into its stored text, saved as one revision (a document not in the editor)."""
    from app.desk.sentence_rewrite import REVISION_REASON
    from app.store import get_document, save_body

    def land(db: Any) -> Any:
        applied = run.apply(doc_id, get_document(db, doc_id).body)
        if applied.applied:
            save_body(db, doc_id, applied.text, REVISION_REASON)
        return applied

    return in_store(home, land)
