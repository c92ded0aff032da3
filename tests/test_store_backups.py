"""Backups of the library (daily, before a migration, kept N of each) and damaged libraries set aside with the newest
good backup offered: by the command line in one sentence, by the window's dialog."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.errors import StoreError
from app.store import create_document, db_path, get_document, list_documents, open_db
from app.store import backups
from app.store.backups import KEEP, list_backups
from app.store.db import daily_check
from app.store.recovery import CorruptDatabase, inspect, is_corruption, restore

SENTENCE = "The lighthouse keeper counted the gulls twice."
YESTERDAY = datetime.now() - timedelta(days=1)


def _library(home: Path, backed_up: datetime | None = YESTERDAY) -> Path:
    """A library with a document long enough to fill pages, closed (so its -wal is checkpointed), and a backup."""
    db = open_db(home)
    create_document(db, "Log", (SENTENCE + " ") * 300)
    db.close()
    if backed_up:
        inspect(db_path(home), daily=True, now=backed_up)
    return db_path(home)


def _integrity(path: Path) -> str:
    return sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage_page(path: Path) -> None:
    """Overwrite the documents table's root page with bytes that are no b-tree page."""
    root = sqlite3.connect(path).execute("SELECT rootpage FROM sqlite_master WHERE name = 'documents'").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(root - 1) * 4096 : root * 4096] = bytes(range(256)) * 16
    path.write_bytes(bytes(data))


def _text_file(path: Path) -> None:
    path.write_text("Shopping: eggs, flour, milk.\n" * 200)


def test_the_first_start_of_a_day_backs_up_the_library_once(home: Path) -> None:
    path = _library(home, backed_up=None)
    day = datetime(2025, 3, 1, 9, 0)
    inspect(path, daily=True, now=day)
    inspect(path, daily=True, now=day + timedelta(hours=3))
    assert [(b.kind, b.taken) for b in list_backups(home)] == [("daily", day)]
    inspect(path, daily=True, now=day + timedelta(days=1))
    [newest, _] = list_backups(home)
    assert newest.name == "scriptorium-20250302-090000-daily.db"
    copy = sqlite3.connect(newest.path)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal to carry along
    assert SENTENCE in copy.execute("SELECT body FROM documents").fetchone()[0]


def test_commands_back_up_on_the_days_first_start_and_opening_alone_does_not(home: Path) -> None:
    assert main(["docs", "new", "--title", "A", "--home", str(home)]) == 0
    assert list_backups(home) == []  # a new library has nothing to back up
    open_db(home).close()
    assert list_backups(home) == []
    assert main(["docs", "list", "--home", str(home)]) == 0
    assert main(["docs", "list", "--home", str(home)]) == 0
    assert [b.kind for b in list_backups(home)] == ["daily"]


def test_the_newest_few_of_each_kind_are_kept(home: Path) -> None:
    path = _library(home, backed_up=None)
    conn = backups.read_only(path)
    start = datetime(2025, 1, 1, 8, 0)
    for day in range(KEEP["daily"] + 3):
        backups.take(conn, home, "daily", start + timedelta(days=day))
    backups.take(conn, home, "pre-migration", start)
    backups.take(conn, home, "pre-migration", start)  # the same second: a serial, never over the other
    conn.close()
    daily = [b for b in list_backups(home) if b.kind == "daily"]
    assert len(daily) == KEEP["daily"] and daily[-1].taken == start + timedelta(days=3)
    assert sorted(b.name for b in list_backups(home) if b.kind == "pre-migration") == [
        "scriptorium-20250101-080000-pre-migration-2.db", "scriptorium-20250101-080000-pre-migration.db"]


def test_a_backup_cut_off_by_a_kill_is_never_listed_and_is_cleared_later(home: Path) -> None:
    path = _library(home)
    cut = backups.backup_dir(home) / "scriptorium-20250101-080000-daily.db.partial"
    cut.write_bytes(path.read_bytes()[:4096])
    assert [b.kind for b in list_backups(home)] == ["daily"]  # yesterday's; the partial is no backup
    os.utime(cut, (0, 0))  # as old as a crash last week
    conn = backups.read_only(path)
    backups.take(conn, home, "daily")
    conn.close()
    assert not cut.exists()


@pytest.mark.parametrize("damage", [_truncated, _garbage_page, _text_file], ids=["truncated", "garbage-page", "text-file"])
def test_a_damaged_library_is_set_aside_untouched_and_the_newest_good_backup_offered(home: Path, damage, capsys) -> None:
    path = _library(home)
    damage(path)
    damaged = path.read_bytes()
    assert main(["docs", "list", "--home", str(home)]) == 1
    said = capsys.readouterr().err.strip()
    [good] = list_backups(home)
    assert said.count(". ") == 0 and said.endswith(f"`scriptorium library restore-backup {good.name}`.")  # one sentence
    [kept] = home.glob("scriptorium.db.corrupt-*[0-9]")
    assert kept.read_bytes() == damaged and str(kept) in said
    assert main(["library", "restore-backup", "--home", str(home)]) == 0
    assert SENTENCE in get_document(open_db(home), 1).body
    assert _integrity(path) == "ok"
    assert kept.read_bytes() == damaged  # never overwritten, never deleted


def test_a_damaged_page_is_found_by_the_days_first_start(home: Path) -> None:
    path = _library(home)
    _garbage_page(path)
    with pytest.raises(CorruptDatabase) as info:
        daily_check(home)
    assert "integrity check" in info.value.problem or "malformed" in info.value.problem
    assert info.value.backup == list_backups(home)[0]
    assert list_documents(open_db(home)) == []  # a new, empty library stands in its place until a restore


def test_restore_keeps_the_library_it_replaces_and_skips_damaged_backups(home: Path) -> None:
    path = _library(home)
    [older] = list_backups(home)
    db = open_db(home)
    create_document(db, "Later", "Written after the backup.")
    db.close()
    inspect(path, daily=True)  # today's backup holds "Later"
    newest = list_backups(home)[0]
    _truncated(newest.path)
    assert restore(path) == older  # the newest good one
    assert [d.title for d in list_documents(open_db(home))] == ["Log"]
    [before] = [b for b in list_backups(home) if b.kind == "before-restore"]
    assert [r[0] for r in sqlite3.connect(before.path).execute("SELECT title FROM documents ORDER BY id")] == ["Log", "Later"]
    with pytest.raises(StoreError, match="damaged too"):
        restore(path, newest.name)


def test_a_lock_is_not_damage() -> None:
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # SQLITE_BUSY
    malformed = sqlite3.DatabaseError("database disk image is malformed")
    malformed.sqlite_errorcode = 11
    assert not is_corruption(locked) and is_corruption(malformed)


def test_the_window_offers_the_backup_and_restores_it(qtbot, home: Path) -> None:
    from app.ui.recovery_dialog import RESTORE, recovery_box

    path = _library(home)
    _text_file(path)
    with pytest.raises(CorruptDatabase) as info:
        daily_check(home)
    box = recovery_box(info.value)
    qtbot.addWidget(box)
    assert "kept untouched" in box.text() and "Restore the newest good backup" in box.text()
    [button] = [b for b in box.buttons() if b.text() == RESTORE]
    box.show()
    button.click()
    assert SENTENCE in get_document(open_db(home), 1).body
