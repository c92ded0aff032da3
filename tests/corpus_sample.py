"""Databases in memory for the corpus tests: a few given texts, or a generated sample (app.corpus.sample) of many."""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from app.corpus.records import TextRecord

from app.corpus.sample import texts
from app.corpus.store import add_text, corpus_id
from app.store import open_memory_db


def texts_db(corpora: dict[str, Iterable[TextRecord]]) -> Database:
    """A migrated database in memory holding each corpus's texts, added in the order given."""
    db = open_memory_db()
    with db.atomic():
        for name, records in corpora.items():
            cid = corpus_id(db, name)
            for record in records:
                add_text(db, cid, record)
    return db


def sample_db(megabytes: float, seed: int, corpus: str = "sample") -> Database:
    """A migrated database in memory whose corpus `corpus` holds about `megabytes` of generated text."""
    return texts_db({corpus: texts(megabytes, seed)})
