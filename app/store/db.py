"""Open scriptorium.db: refuse a damaged file, back it up, migrate it, and turn on WAL and foreign keys."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from app.errors import StoreError
from app.store import migrations as schema

log = logging.getLogger(__name__)

DB_NAME = "scriptorium.db"
BUSY_TIMEOUT_MS = 5000


def db_path(home: Path) -> Path:
    """Where the application database lives inside the data directory."""
    return Path(home) / DB_NAME


def now_iso(now: datetime | None = None) -> str:
    """A UTC timestamp that sorts as text: 2025-01-31T09:30:00.123456+00:00."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="microseconds")


def open_db(home: Path) -> Database:
    """Open `<home>/scriptorium.db`, migrated to the newest schema; raise StoreError if it cannot be used."""
    path = db_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = Database(path)
        tables = _check_readable(db, path)
        _migrate(db, path, has_tables=bool(tables))
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        # The app, the command line and the worker may write at once: wait for a lock rather than fail at once.
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} cannot be used as a Scriptorium database ({exc}); it was left untouched: "
            "move it aside or restore a backup (scriptorium.db.bak-N) and try again."
        ) from exc
    return db


def open_memory_db() -> Database:
    """An in-memory, fully migrated database, for tests and throwaway sessions."""
    db = Database(memory=True)
    schema.migrations.apply(db)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _check_readable(db: Database, path: Path) -> list[str]:
    """Read the schema before anything writes, so a damaged or foreign file raises here and is never changed."""
    tables = db.table_names()
    unknown = _unknown_migrations(db) if tables else []
    if unknown:
        raise StoreError(
            f"{path} was written by a newer version of Scriptorium (migration {unknown[0]}); "
            "update Scriptorium or restore a backup (scriptorium.db.bak-N)."
        )
    return tables


def _unknown_migrations(db: Database) -> list[str]:
    known = set(schema.names())
    return [m.name for m in schema.migrations.applied(db) if m.name not in known]


def schema_version(db: Database) -> int:
    """How many of this version's migrations have been applied to `db`."""
    return len(schema.migrations.applied(db))


def _migrate(db: Database, path: Path, has_tables: bool) -> None:
    """Apply pending migrations, copying an existing database aside first so a failed step loses nothing."""
    pending = schema.migrations.pending(db)
    if not pending:
        return
    if has_tables:
        backup = path.with_name(f"{path.name}.bak-{schema_version(db)}")
        _backup(db, backup)
        log.info("backed up %s to %s before migrating", path.name, backup.name)
    schema.migrations.apply(db)


def _backup(db: Database, target: Path) -> None:
    """Copy the database with SQLite's backup API: a plain file copy would miss pages still in the -wal file."""
    target.unlink(missing_ok=True)
    dest = sqlite3.connect(target)
    try:
        db.conn.backup(dest)
    finally:
        dest.close()
