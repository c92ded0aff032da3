"""Corpora and texts: creation, deduplication by content hash, reading back, metadata filters, deletion."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from app.corpus.records import TextRecord
from app.corpus.sample import generate
from app.corpus.store import (
    TextFilter, add_text, content_hash, corpus_id, delete_corpus, delete_text, get_text, iter_texts, list_corpora,
    reindex, replace_text, text_hashes,
)
from app.errors import UserError
from app.store import open_db, open_memory_db


@pytest.fixture
def db() -> Database:
    return open_memory_db()


def _add(db: Database, corpus: str, title: str, body: str, **meta: str) -> int | None:
    return add_text(db, corpus_id(db, corpus), TextRecord(title=title, body=body, **meta))


def test_corpus_id_creates_once_and_refuses_unknown_names_when_asked(db: Database) -> None:
    first = corpus_id(db, "Tang poems")
    assert corpus_id(db, "Tang poems") == first
    with pytest.raises(UserError, match=r"No corpus named 'Song'; corpora here: Tang poems\."):
        corpus_id(db, "Song", create=False)


def test_add_text_dedupes_by_the_hash_of_the_nfc_body(db: Database) -> None:
    assert _add(db, "c", "one", "Cafe\u0301 society") is not None
    assert _add(db, "c", "same, composed", "Café society") is None
    assert _add(db, "other", "elsewhere", "Café society") is not None, "dedup is per corpus"
    assert text_hashes(db, corpus_id(db, "c")) == {content_hash("Café society")}


def test_get_text_keeps_every_column_and_the_body_as_given(db: Database) -> None:
    body = "\uf967\u4e0d"  # a compatibility ideograph is kept in the stored body; only the fold unifies it
    text_id = _add(db, "c", "Title", body, author="A", collection="K", date="1820", source_path="a.txt",
                   format="txt", encoding="gb18030")
    text = get_text(db, text_id)
    assert (text.title, text.author, text.collection, text.date, text.source_path, text.format, text.encoding) == (
        "Title", "A", "K", "1820", "a.txt", "txt", "gb18030")
    assert (text.body, text.chars, text.content_hash) == (body, 2, content_hash(body))
    with pytest.raises(UserError, match="No text with id 99"):
        get_text(db, 99)


def test_list_corpora_counts_texts_and_characters(db: Database) -> None:
    _add(db, "b", "x", "12345")
    _add(db, "b", "y", "123")
    corpus_id(db, "a")
    assert [(c.name, c.texts, c.chars) for c in list_corpora(db)] == [("a", 0, 0), ("b", 2, 8)]


def test_iter_texts_filters_by_metadata_in_id_order(db: Database) -> None:
    ids = [_add(db, "c", f"Letter {i}", f"body {i}", author="Li" if i % 2 else "Du", collection="K",
                date=f"18{20 + i}-01-01") for i in range(6)]
    _add(db, "d", "Elsewhere", "other corpus", author="Li")
    assert [t.id for t in iter_texts(db, "c")] == ids
    assert [t.id for t in iter_texts(db, "c", TextFilter(author="Li"))] == ids[1::2]
    assert [t.id for t in iter_texts(db, None, TextFilter(author="Li"))] == [*ids[1::2], ids[-1] + 1]
    assert [t.id for t in iter_texts(db, "c", TextFilter(date_from="1822", date_to="1824"))] == ids[2:5]
    assert [t.id for t in iter_texts(db, "c", TextFilter(title="LETTER 3"))] == [ids[3]]
    assert [t.id for t in iter_texts(db, corpus_id(db, "c"), TextFilter(text_ids=(ids[0], ids[5])))] == [ids[0], ids[5]]
    with pytest.raises(UserError):
        list(iter_texts(db, "missing"))


def test_iter_texts_streams_past_one_batch(db: Database) -> None:
    for i in range(450):
        _add(db, "c", str(i), f"text {i}")
    assert [t.title for t in iter_texts(db, "c")] == [str(i) for i in range(450)]


def test_delete_corpus_removes_its_texts_and_index_rows(home: Path) -> None:
    db = open_db(home)
    _add(db, "c", "x", "a text")
    _add(db, "keep", "y", "kept")
    delete_corpus(db, "c")
    assert [c.name for c in list_corpora(db)] == ["keep"]
    assert db.execute("SELECT count(*) FROM texts").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM text_shadows WHERE text_id NOT IN (SELECT id FROM texts)").fetchone()[0] == 0
    with pytest.raises(UserError):
        delete_corpus(db, "c")


def test_the_index_stays_in_step_with_the_shadows_through_every_write(home: Path) -> None:
    db = open_db(home)
    ids = [_add(db, "c", str(i), f"第{i}回 text {i}") for i in range(5)]
    replace_text(db, ids[0], TextRecord(title="new", body="全新的 body"))
    delete_text(db, ids[1])
    db.execute("DELETE FROM texts WHERE id = ?", [ids[2]])  # as another SQLite tool would: the cascade and triggers
    reindex(db, all_texts=True)
    db.execute("INSERT INTO texts_fts (texts_fts) VALUES ('integrity-check')")  # raises if the index disagrees
    matched = db.execute("SELECT rowid FROM texts_fts WHERE texts_fts MATCH '\"第 3 回\"'").fetchall()
    assert matched == [(ids[3],)]
    assert db.execute("SELECT rowid FROM texts_fts WHERE texts_fts MATCH '全'").fetchall() == [(ids[0],)]


def test_the_sample_generator_is_seeded_and_sized() -> None:
    first, second = open_memory_db(), open_memory_db()
    report = generate(first, 0.2, seed=3)
    generate(second, 0.2, seed=3)
    assert report.texts > 10 and 0.2 <= report.megabytes < 0.6
    assert text_hashes(first, corpus_id(first, "sample")) == text_hashes(second, corpus_id(second, "sample"))
    bodies = [t.body for t in iter_texts(first, "sample")]
    assert any("\u4e00" <= b[0] <= "\u9fff" for b in bodies) and any(b[0].isascii() for b in bodies)
