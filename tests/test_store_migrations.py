"""Opening scriptorium.db: migrations on blank and older databases, backups, WAL, and damaged files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from app.errors import StoreError
from app.store import create_document, get_document, list_documents, list_generations, log_generation, open_db, schema_version
from app.store.backups import list_backups
from app.store.recovery import CorruptDatabase
from app.store.migrations import migrations, names


def test_blank_database_gets_every_migration_and_wal(home: Path) -> None:
    db = open_db(home)
    assert schema_version(db) == len(names())
    assert {"documents", "revisions", "generations", "settings"} <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert list_backups(home) == [], "a new database has nothing to back up"


def test_migration_names_are_numbered_in_order() -> None:
    assert names()[0] == "m001_initial"
    assert [n[:4] for n in names()] == [f"m{i:03d}" for i in range(1, len(names()) + 1)]


def _v1_database(home: Path) -> None:
    """A database as the first version left it: only m001 applied, with a document in it."""
    db = Database(home / "scriptorium.db")
    migrations.apply(db, stop_before="m002_generations")
    db.execute(
        "INSERT INTO documents (title, body, format, created, updated) VALUES (?, ?, 'markdown', ?, ?)",
        ["Old", "Kept text", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00"],
    )
    db.close()


def test_older_database_is_backed_up_then_migrated(home: Path) -> None:
    _v1_database(home)
    db = open_db(home)
    assert schema_version(db) == len(names())
    assert get_document(db, 1).body == "Kept text"
    gen_id = log_generation(db, task="continue", prompt="p", output="o", document_id=1)
    assert list_generations(db)[0].id == gen_id
    [taken] = list_backups(home)
    assert taken.kind == "pre-migration" and taken.name.startswith("scriptorium-") and taken.path.parent == home / "backups"
    backup = Database(taken.path)
    assert [r["body"] for r in backup["documents"].rows] == ["Kept text"]
    assert "generations" not in backup.table_names()


def test_reopening_a_current_database_changes_nothing(home: Path) -> None:
    db = open_db(home)
    create_document(db, "A", "a")
    db.close()
    db = open_db(home)
    assert get_document(db, 1).title == "A"
    assert list_backups(home) == []  # only a start of the app or a command makes the day's backup


def test_a_file_that_is_no_database_is_set_aside_untouched(home: Path) -> None:
    path = home / "scriptorium.db"
    junk = b"This is not a database, it is a shopping list.\n" * 100
    path.write_bytes(junk)
    with pytest.raises(CorruptDatabase, match="kept untouched") as info:
        open_db(home)
    assert info.value.kept.read_bytes() == junk and info.value.kept.name.startswith("scriptorium.db.corrupt-")
    assert not path.exists() and not (home / "scriptorium.db-wal").exists()
    assert store_is_new(open_db(home))


def test_database_from_a_newer_version_is_refused(home: Path) -> None:
    db = open_db(home)
    db["_sqlite_migrations"].insert({"migration_set": "scriptorium", "name": "m999_future", "applied_at": "x"})
    db.close()
    with pytest.raises(StoreError, match="newer version"):
        open_db(home)


def test_foreign_keys_are_enforced(home: Path) -> None:
    db = open_db(home)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO revisions (document_id, body, reason, created) VALUES (99, 'x', 'save', 'now')")


def store_is_new(db: Database) -> bool:
    return schema_version(db) == len(names()) and list_documents(db) == []
