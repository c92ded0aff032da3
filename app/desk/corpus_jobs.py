"""The Corpus view's work as plain functions for pool threads: each opens its own store connection and closes it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from app import store
from app.corpus.search import MANUSCRIPT
from app.corpus.store import TextFilter

T = TypeVar("T")


def in_store(home: Path, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(db, *args, **kwargs)` on a connection of this thread's own, closed afterwards."""
    with closing(store.open_db(home)) as db:
        return fn(db, *args, **kwargs)


def corpora(home: Path) -> list[Any]:
    """Every corpus with its counts."""
    from app.corpus.store import list_corpora

    return in_store(home, list_corpora)


def search_page(home: Path, corpus: str | None, filters: TextFilter, query: str, limit: int, offset: int = 0) -> Any:
    """One page of search hits with their snippets."""
    from app.corpus.search import search

    return in_store(home, search, query, corpus=corpus, filters=filters, limit=limit, offset=offset)


def concordance(home: Path, corpus: str | None, filters: TextFilter, term: str, width: int, sort: tuple[str, ...]) -> list[Any]:
    """Every hit of `term` with its context, sorted."""
    from app.corpus.kwic import kwic

    return in_store(home, kwic, term, corpus=corpus, filters=filters, width=width, sort=sort)


def frequency_list(home: Path, corpus: str | None, filters: TextFilter, unit: str, n: int, limit: int) -> Any:
    """The commonest words, characters or n-grams."""
    from app.corpus.stats import frequencies

    return in_store(home, frequencies, corpus, filters, unit=unit, n=n, min_count=1, limit=limit)


def dispersion_of(home: Path, corpus: str | None, filters: TextFilter, term: str, by: str) -> Any:
    """Where `term` falls in each text (or author's texts)."""
    from app.corpus.stats import dispersion

    return in_store(home, dispersion, corpus, term, by=by, filters=filters)


def text(home: Path, text_id: int) -> Any:
    """One text, whole, with its metadata."""
    from app.corpus.store import get_text

    return in_store(home, get_text, text_id)


def sync_manuscript(home: Path) -> str:
    """Bring the Manuscript corpus up to date with the documents; return its name."""
    from app.corpus.search import sync_manuscript as sync

    in_store(home, sync)
    return MANUSCRIPT

