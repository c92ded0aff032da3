"""Open scriptorium.db: finish a cut-off re-key, refuse a locked library, look at it read-only first
(app/store/recovery.py), then open it (under its key when encrypted), migrate it, turn on WAL and foreign keys."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from app.errors import StoreError
from app.store import migrations as schema
from app.store import library_key, recovery
from inference import sqlfile
from inference.paths import private_dir, private_file

DB_NAME = "scriptorium.db"
BUSY_TIMEOUT_MS = 5000


def db_path(home: Path) -> Path:
    """Where the application database lives inside the data directory."""
    return Path(home) / DB_NAME


def now_iso(now: datetime | None = None) -> str:
    """A UTC timestamp that sorts as text: 2025-01-31T09:30:00.123456+00:00."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="microseconds")


MMAP_BYTES = 1 << 30


def open_db(home: Path) -> Database:
    """Open `<home>/scriptorium.db`, migrated to the newest schema; raise StoreError if it cannot be used.

    A damaged file is set aside and CorruptDatabase (a StoreError) raised; the next open starts a new library. An
    encrypted library whose key this process does not hold raises LibraryLocked, and nothing is read.
    """
    path = db_path(home)
    private_dir(path.parent)
    _ready(home)
    recovery.inspect(path)  # read-only, so a damaged or foreign file raises before anything writes to it
    try:
        # Made 0600 before SQLite writes a byte (its -wal and -shm inherit the mode); SQLCipher when encrypted.
        db = Database(sqlfile.connect(private_file(path)))
        schema.migrations.apply(db)  # the read-only look backed the file up if anything was pending
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        # The app, the command line and the worker may write at once: wait for a lock rather than fail at once.
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reads through a memory map, not copies into SQLite's cache: a concordance reads tens of megabytes of
        # bodies, and this cut KWIC of 10,000 hits at 100 MB from 270 to 212 ms of CPU. Address space only.
        # Measured on a plain library; an encrypted one accepts the pragma, but its pages are decrypted into the
        # cache whatever it says, so expect no gain there.
        db.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    except sqlfile.DATABASE_ERRORS as exc:
        raise StoreError(f"{path} cannot be used as a Scriptorium database ({exc}); `scriptorium library backups` lists backups.") from exc
    return db


def daily_check(home: Path) -> None:
    """At a start of the app or a command: on the day's first, check the whole library and back it up."""
    _ready(home)
    recovery.inspect(db_path(home), daily=True)


def _ready(home: Path) -> None:
    """Finish a re-key cut off after its commit point; refuse an encrypted library whose key is not held."""
    from app.store.rekey import finish_pending  # rekey names this module's files: imported here, not at the top

    finish_pending(home)
    library_key.check_unlocked(home)


def vacuum(db: Database) -> bool:
    """Rewrite the file without its free pages, then empty its -wal, so deleted text leaves the files on disk; False
    when another connection kept the -wal from being emptied (what it holds goes when that connection lets go)."""
    db.execute("VACUUM")
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def open_memory_db() -> Database:
    """An in-memory, fully migrated database, for tests and throwaway sessions."""
    db = Database(memory=True)
    schema.migrations.apply(db)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def schema_version(db: Database) -> int:
    """How many of this version's migrations have been applied to `db`."""
    return len(schema.migrations.applied(db))
