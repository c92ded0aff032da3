"""Documents, revisions, trash, the generation log and settings, through the store's named functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.errors import UserError
from app import store


@pytest.fixture
def db(home: Path) -> Database:
    return store.open_db(home)


def test_create_and_get(db: Database) -> None:
    doc = store.create_document(db, "Letter", "Dear friend,", format="text")
    got = store.get_document(db, doc.id)
    assert (got.title, got.body, got.format, got.trashed_at) == ("Letter", "Dear friend,", "text", None)
    assert [r.reason for r in store.list_revisions(db, doc.id)] == ["new"]


def test_missing_document_says_how_to_find_ids(db: Database) -> None:
    with pytest.raises(UserError, match=r"No document with id 7; `scriptorium docs list` shows the ids\."):
        store.get_document(db, 7)
    with pytest.raises(UserError):
        store.save_body(db, 7, "x")


def test_unknown_format_is_refused(db: Database) -> None:
    with pytest.raises(UserError, match="format"):
        store.create_document(db, "x", format="html")


def test_list_filters_and_orders_by_update(db: Database) -> None:
    a = store.create_document(db, "Alpha", "apples and pears")
    b = store.create_document(db, "Beta", "100% cotton")
    store.save_body(db, a.id, "apples, pears and plums")
    assert [d.id for d in store.list_documents(db)] == [a.id, b.id]
    assert [d.id for d in store.list_documents(db, "plums")] == [a.id]
    assert [d.id for d in store.list_documents(db, "beta")] == [b.id]
    assert [d.id for d in store.list_documents(db, "0%")] == [b.id]
    assert [d.id for d in store.list_documents(db, "_")] == []
    assert store.list_documents(db)[0].chars == len("apples, pears and plums")


def test_save_records_revisions_and_restore_is_a_revision(db: Database) -> None:
    doc = store.create_document(db, "Poem", "one")
    first = store.save_body(db, doc.id, "one two")
    store.save_body(db, doc.id, "one two three", reason="accept suggestion")
    restored = store.restore_revision(db, doc.id, first.id)
    assert restored.reason == f"restore rev {first.id}"
    assert store.get_document(db, doc.id).body == "one two"
    history = store.list_revisions(db, doc.id)
    assert [r.reason for r in history] == [f"restore rev {first.id}", "accept suggestion", "save", "new"]
    assert store.get_revision(db, history[1].id).body == "one two three"


def test_saving_unchanged_text_adds_no_revision(db: Database) -> None:
    doc = store.create_document(db, "Same", "text")
    store.save_body(db, doc.id, "text")
    assert len(store.list_revisions(db, doc.id)) == 1
    empty = store.create_document(db, "Empty")
    assert store.save_body(db, empty.id, "") is None
    assert store.list_revisions(db, empty.id) == []


def test_revision_of_another_document_is_refused(db: Database) -> None:
    a = store.create_document(db, "A", "a")
    b = store.create_document(db, "B", "b")
    rev = store.list_revisions(db, a.id)[0]
    with pytest.raises(UserError, match="No revision"):
        store.restore_revision(db, b.id, rev.id)


def test_autosaves_coalesce_within_the_window(db: Database) -> None:
    doc = store.create_document(db, "Draft", "a")
    t0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    first = store.save_body(db, doc.id, "a b", "autosave", now=t0)
    second = store.save_body(db, doc.id, "a b c", "autosave", now=t0 + timedelta(minutes=2))
    assert second.id == first.id and second.body == "a b c"
    later = store.save_body(db, doc.id, "a b c d", "autosave", now=t0 + timedelta(minutes=10))
    assert later.id != first.id
    saved = store.save_body(db, doc.id, "a b c d e", "save", now=t0 + timedelta(minutes=11))
    after_save = store.save_body(db, doc.id, "a b c d e f", "autosave", now=t0 + timedelta(minutes=12))
    assert after_save.id != saved.id, "an explicit save is never overwritten by an autosave"
    assert [r.reason for r in store.list_revisions(db, doc.id)] == ["autosave", "save", "autosave", "autosave", "new"]
    assert store.get_document(db, doc.id).body == "a b c d e f"


def test_explicit_save_relabels_a_trailing_autosave(db: Database) -> None:
    doc = store.create_document(db, "Draft", "a")
    store.save_body(db, doc.id, "a b", "autosave")
    rev = store.save_body(db, doc.id, "a b", "close")
    assert rev.reason == "close"
    assert [r.reason for r in store.list_revisions(db, doc.id)] == ["close", "new"]


def test_trash_restore_and_empty(db: Database) -> None:
    keep = store.create_document(db, "Keep", "k")
    gone = store.create_document(db, "Gone", "g")
    gen = store.log_generation(db, task="rewrite", prompt="p", output="o", document_id=gone.id)
    store.trash_document(db, gone.id)
    assert [d.id for d in store.list_documents(db)] == [keep.id]
    assert {d.id for d in store.list_documents(db, include_trashed=True)} == {keep.id, gone.id}
    store.restore_document(db, gone.id)
    assert store.get_document(db, gone.id).trashed_at is None
    store.trash_document(db, gone.id)
    assert store.empty_trash(db) == 1
    with pytest.raises(UserError):
        store.get_document(db, gone.id)
    assert db.execute("SELECT count(*) FROM revisions WHERE document_id = ?", [gone.id]).fetchone()[0] == 0
    assert store.get_generation(db, gen).document_id is None, "the log outlives the document"


def test_rename(db: Database) -> None:
    doc = store.create_document(db, "Old")
    assert store.rename_document(db, doc.id, "  New title ").title == "New title"
    with pytest.raises(UserError):
        store.rename_document(db, doc.id, "   ")


def test_generation_log(db: Database) -> None:
    doc = store.create_document(db, "D", "x")
    store.log_generation(db, task="continue", prompt="Once", output=" upon", model="gemma", params={"temperature": 0})
    gid = store.log_generation(
        db, task="translate", prompt="你好", output="hello", model="gemma", model_sha256="ab" * 32,
        stats={"tokens_per_s": 50.5}, status="cancelled", document_id=doc.id,
    )
    assert [g.task for g in store.list_generations(db)] == ["translate", "continue"]
    only = store.list_generations(db, document_id=doc.id)
    assert [g.id for g in only] == [gid]
    assert only[0].stats == {"tokens_per_s": 50.5} and only[0].prompt == "你好" and only[0].status == "cancelled"
    assert store.list_generations(db)[1].params == {"temperature": 0}
    with pytest.raises(ValueError):
        store.log_generation(db, task="t", prompt="p", output="o", status="weird")


def test_settings_round_trip_json(db: Database) -> None:
    assert store.get_setting(db, "theme", "light") == "light"
    store.set_setting(db, "theme", "dark")
    store.set_setting(db, "editor", {"font": "Noto Serif CJK", "size": 14})
    store.set_setting(db, "theme", "sepia")
    assert store.get_setting(db, "theme") == "sepia"
    assert store.get_setting(db, "editor") == {"font": "Noto Serif CJK", "size": 14}
    store.delete_setting(db, "theme")
    assert store.get_setting(db, "theme") is None


def test_memory_db_is_fully_migrated() -> None:
    db = store.open_memory_db()
    doc = store.create_document(db, "M", "m")
    assert store.get_document(db, doc.id).body == "m"
