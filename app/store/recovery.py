"""A damaged scriptorium.db: found by a read-only look before anything writes to it, set aside untouched, and the
newest good backup offered in its place."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from app.errors import StoreError
from app.store import backups
from app.store import migrations as schema
from app.store.backups import Backup
from inference import sqlfile
from inference.paths import private_file

SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26  # the primary result codes of "malformed" and "file is not a database"


class CorruptDatabase(StoreError):
    """The library at `path` was damaged: it is kept at `kept`; `backup` is the newest good backup (None: there is none)."""

    def __init__(self, path: Path, kept: Path, problem: str, backup: Backup | None) -> None:
        self.path, self.kept, self.problem, self.backup = path, kept, problem, backup
        super().__init__(damage_sentence(kept, problem, backup))

    def question(self) -> str:
        """The window's wording: what happened, and the choice its buttons offer."""
        said = f"The library was damaged ({self.problem}) and is kept untouched as {self.kept.name}."
        if self.backup is None:
            return said + " There is no backup to restore, so Scriptorium starts a new, empty library."
        return said + f" Restore the newest good backup, from {self.backup.taken:%Y-%m-%d %H:%M}, or start a new, empty library?"

    def restore_backup(self) -> Backup:
        """Restore the backup offered (there must be one)."""
        assert self.backup is not None
        return restore(self.path, self.backup.name)


def damage_sentence(kept: Path, problem: str, backup: Backup | None) -> str:
    """What the command line and the window say about a damaged library: one sentence, with the way back."""
    said = f"The library was damaged ({problem}) and is kept untouched as {kept}; "
    if backup is None:
        return said + "there is no backup to restore, so Scriptorium starts a new, empty library."
    when = backup.taken.strftime("%Y-%m-%d %H:%M")
    return said + f"restore the newest good backup ({when}) with `scriptorium library restore-backup {backup.name}`."


def is_corruption(exc: Exception) -> bool:
    """Whether SQLite said the file is damaged or no database at all (never for a lock, a full disk or a bad query)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (SQLITE_CORRUPT, SQLITE_NOTADB)


def inspect(path: Path, daily: bool = False, now: datetime | None = None) -> None:
    """Look at the library read-only before it is opened for writing.

    A damaged file is set aside and CorruptDatabase raised; one written by a newer version is refused. Before
    a migration, and with `daily` when today has no backup yet, the whole file is checked and then backed up
    (a backup of a damaged file would be no backup).
    """
    if not path.is_file() or path.stat().st_size == 0:  # nothing yet: SQLite starts a new database
        return
    try:
        conn = backups.read_only(path)  # SQLCipher reads page 1 to check the key: a damaged file can fail here
    except sqlfile.DATABASE_ERRORS as exc:
        problem = _damage_in(exc, path)
    else:
        try:
            problem = _look(Database(conn), path, daily, now)
        finally:
            conn.close()  # read-only: closing never checkpoints the -wal into the file
    if problem is not None:
        raise CorruptDatabase(path, set_aside(path, now), problem, backups.latest_good(path.parent))


def _look(db: Database, path: Path, daily: bool, now: datetime | None) -> str | None:
    """The damage found (None: none), backing the file up when one is due."""
    home = path.parent
    try:
        if not db.table_names():
            return None
        _refuse_newer(db)
        kind = "pre-migration" if schema.migrations.pending(db) else "daily" if daily and backups.due_today(home, now) else None
        if kind is None:
            return None
        problem = backups.integrity_problem(db.conn)
        if problem is None:
            backups.take(db.conn, home, kind, now)
        return problem
    except sqlfile.DATABASE_ERRORS as exc:
        return _damage_in(exc, path)


def _damage_in(exc: Exception, path: Path) -> str:
    """The damage an error shows; one that is no damage (a lock, a full disk) is raised as a StoreError."""
    if is_corruption(exc):
        return str(exc)
    raise StoreError(f"{path} cannot be opened now ({exc}); it was left untouched: try again.") from exc


def _refuse_newer(db: Database) -> None:
    known = set(schema.names())
    unknown = [m.name for m in schema.migrations.applied(db) if m.name not in known]
    if unknown:
        raise StoreError(
            f"The library was written by a newer version of Scriptorium (migration {unknown[0]}); update Scriptorium, "
            "or restore an older backup with `scriptorium library restore-backup`."
        )


def set_aside(path: Path, now: datetime | None = None) -> Path:
    """Rename a damaged database, with its -wal and -shm, to `<name>.corrupt-<timestamp>`, never over another file."""
    stamp = (now or datetime.now()).strftime(backups.STAMP)
    kept, serial = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while any(Path(f"{kept}{s}").exists() for s in ("", "-wal", "-shm")):
        serial += 1
        kept = path.with_name(f"{path.name}.corrupt-{stamp}-{serial}")
    os.rename(path, kept)
    for suffix in ("-wal", "-shm"):  # a stale -wal beside a new database would be replayed into it
        if Path(f"{path}{suffix}").exists():
            os.rename(f"{path}{suffix}", f"{kept}{suffix}")
    return kept


def restore(path: Path, name: str | None = None, now: datetime | None = None) -> Backup:
    """Make a backup (by name, else the newest good one) the library at `path` again; return it.

    The library it replaces is kept: backed up (kind before-restore) when it checks clean, set aside when not.
    """
    home = path.parent
    chosen = backups.find_backup(home, name) if name else backups.latest_good(home)
    if chosen is None:
        raise StoreError("There is no good backup to restore; Scriptorium makes one on the first start of each day.")
    if problem := backups.file_problem(chosen.path):
        raise StoreError(f"The backup {chosen.name} is damaged too ({problem}); `scriptorium library backups` lists others.")
    if path.is_file() and path.stat().st_size:
        _keep_current(path, now)
    source = backups.read_only(chosen.path)
    try:
        backups.copy_database(source, private_file(path), standalone=False)  # stays WAL, as the library is
    finally:
        source.close()
    return chosen


def _keep_current(path: Path, now: datetime | None) -> None:
    """Back up the library about to be replaced, or set it aside when it is damaged."""
    if backups.file_problem(path):
        set_aside(path, now)
        return
    conn = backups.read_only(path)
    try:
        backups.take(conn, path.parent, "before-restore", now)
    finally:
        conn.close()
