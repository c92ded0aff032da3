"""Backups of scriptorium.db in `<home>/backups/`, made with SQLite's online backup API: one a day, one before each
migration and one before each restore, the newest few of each kind kept. A backup of an encrypted library is
encrypted under the same key."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.errors import UserError
from inference import sqlfile
from inference.paths import private_dir, private_file

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
# How many backups of each kind are kept, newest first: a week of days, the last schema upgrades and restores.
KEEP = {"daily": 7, "pre-migration": 5, "before-restore": 3}
STAMP = "%Y%m%d-%H%M%S"  # local time: "the backup of this morning" is the writer's morning
_NAME = re.compile(r"^scriptorium-(\d{8}-\d{6})-(" + "|".join(KEEP) + r")(?:-(\d+))?\.db$")
# A `.partial` is a backup being written; one this old was cut off (a kill, a power cut) and only holds old text.
STALE_PARTIAL_S = 600


@dataclass(frozen=True)
class Backup:
    """One backup file, what made it (a key of KEEP) and when, as its name says."""

    path: Path
    kind: str
    taken: datetime
    serial: int = 1  # the second backup of a kind within one second is `…-2.db`

    @property
    def name(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return {"name": self.name, "path": str(self.path), "kind": self.kind, "taken": self.taken.isoformat(),
                "bytes": self.path.stat().st_size}


def backup_dir(home: Path) -> Path:
    return Path(home) / BACKUP_DIR


def list_backups(home: Path) -> list[Backup]:
    """The backups in `<home>/backups/`, newest first; files not named like one are left out."""
    folder = backup_dir(home)
    found = [_parse(p) for p in folder.glob("scriptorium-*.db")] if folder.is_dir() else []
    return sorted((b for b in found if b), key=lambda b: (b.taken, b.serial), reverse=True)


def find_backup(home: Path, name: str) -> Backup:
    """The backup called `name` (its file name, with or without `.db`); UserError when there is none."""
    for backup in list_backups(home):
        if name in (backup.name, backup.path.stem):
            return backup
    raise UserError(f"No backup named {name!r}; `scriptorium library backups` lists them.")


def due_today(home: Path, now: datetime | None = None) -> bool:
    """Whether today has no backup yet (of any kind: one before a migration also keeps today's text)."""
    today = (now or datetime.now()).date()
    return not any(b.taken.date() == today for b in list_backups(home))


def take(source: Any, home: Path, kind: str, now: datetime | None = None) -> Backup:
    """Copy the database open on `source` into a new backup of `kind`, then let the oldest of that kind go.

    Written to `<name>.partial` and renamed, so a backup cut off by a kill is never listed as one.
    """
    moment = (now or datetime.now()).replace(microsecond=0)
    target = _free_name(private_dir(backup_dir(home)), moment, kind)
    partial = private_file(target.with_name(target.name + ".partial"))
    copy_database(source, partial)
    os.replace(partial, target)
    log.info("backed up the library to %s", target.name)
    prune(home, kind)
    return _parse(target)  # type: ignore[return-value]


def copy_database(source: Any, target: Path, standalone: bool = True) -> None:
    """Copy a whole database page by page with the backup API: a plain file copy would miss what is still in -wal.

    The copy is encrypted exactly when the source is, under the same key (SQLCipher's backup needs both alike).
    """
    dest = sqlfile.connect(target, key=sqlfile.held_key(target) if sqlfile.is_cipher(source) else None, timeout=5)
    try:
        source.backup(dest)
        if standalone:  # a backup stands alone: a rollback journal, not WAL, so it is one file any SQLite opens as is
            dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()


def prune(home: Path, kind: str) -> list[Path]:
    """Delete backups of `kind` past the newest KEEP[kind], and stale partial files; return what went."""
    gone = [b.path for b in list_backups(home) if b.kind == kind][KEEP[kind]:]
    gone += stale_partials(home)
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def stale_partials(home: Path) -> list[Path]:
    """Backups that were cut off while being written (older than STALE_PARTIAL_S, so none still being written)."""
    folder = backup_dir(home)
    cutoff = time.time() - STALE_PARTIAL_S
    return [p for p in folder.glob("*.partial*") if p.stat().st_mtime < cutoff] if folder.is_dir() else []


def read_only(path: Path) -> Any:
    """A connection that cannot write to `path`: SQLite's read-only mode, which also never checkpoints on close."""
    return sqlfile.connect(path, read_only=True, timeout=5)


def integrity_problem(conn: Any) -> str | None:
    """SQLite's integrity_check of the whole file: None when it says ok, else its first finding."""
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    first = rows[0][0] if rows else "no answer"
    return None if first == "ok" else f"integrity check: {first}" + (f" (and {len(rows) - 1} more)" if len(rows) > 1 else "")


def file_problem(path: Path) -> str | None:
    """What is wrong with the database file at `path` (None: it reads and checks clean); it is never written."""
    try:
        conn = read_only(path)
        try:
            return integrity_problem(conn)
        finally:
            conn.close()
    except sqlfile.DATABASE_ERRORS as exc:
        return str(exc)


def latest_good(home: Path) -> Backup | None:
    """The newest backup that reads and checks clean."""
    return next((b for b in list_backups(home) if file_problem(b.path) is None), None)


def _free_name(folder: Path, moment: datetime, kind: str) -> Path:
    base = f"scriptorium-{moment.strftime(STAMP)}-{kind}"
    serial = 1
    while (path := folder / (f"{base}.db" if serial == 1 else f"{base}-{serial}.db")).exists():
        serial += 1
    return path


def _parse(path: Path) -> Backup | None:
    match = _NAME.match(path.name)
    if not match:
        return None
    return Backup(path, match[2], datetime.strptime(match[1], STAMP), int(match[3] or 1))

