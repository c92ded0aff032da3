"""Encrypt, decrypt or re-key the whole library at once: scriptorium.db, cache.db and every backup.

Each file is exported with sqlcipher_export into a new `<name>.rekey` beside it while every old file is held
exclusively. Only when all are written and on the disk does library.json name them (the commit point); then they are
renamed over the old ones. A kill before the commit point leaves the old files and the old marker exactly as they
were (a stale .rekey is cleared by the next switch); a kill after it is finished by the next open (finish_pending),
so the library is never half encrypted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import StoreError
from app.store import backups
from app.store.db import DB_NAME
from app.store.library_key import (KeySpec, Marker, check_unlocked, is_encrypted, marker_path, read_marker, sync_dir,
                                   write_marker)
from inference import sqlfile
from inference.paths import private_file

log = logging.getLogger(__name__)

SUFFIX = ".rekey"
SQLITE_BUSY, SQLITE_LOCKED = 5, 6  # primary result codes: another connection has the file
CACHE_NAME = "cache.db"


@dataclass(frozen=True)
class Rekeyed:
    """What a switch re-keyed (names inside the data directory) and the damaged copies it could not (kept as they were)."""

    files: tuple[str, ...]
    left: tuple[str, ...]

    def sentence(self, done: str) -> str:
        said = f"{done}: {len(self.files)} file(s) ({', '.join(self.files)})."
        if self.left:
            said += (f" Damaged copies set aside earlier were left as they were ({', '.join(self.left)}): delete them if "
                     "they hold nothing you need.")
        return said


def require(home: Path, encrypted: bool) -> None:
    """Refuse (StoreError) unless the library is encrypted (and unlocked), or plain, as the action needs: asked
    before a new passphrase is."""
    finish_pending(home)
    if is_encrypted(home) and not encrypted:
        raise StoreError("The library is already encrypted; `scriptorium library change-passphrase` gives it a new passphrase.")
    if encrypted and not is_encrypted(home):
        raise StoreError("The library is not encrypted; `scriptorium library encrypt` encrypts it.")
    check_unlocked(home)


def encrypt(home: Path, passphrase: str) -> Rekeyed:
    """Encrypt the library under a new passphrase; its key is held for this process afterwards."""
    require(home, encrypted=False)
    spec, key = KeySpec.new(passphrase)
    return _switch(home, None, key, spec)


def decrypt(home: Path) -> Rekeyed:
    """Store the library in plain SQLite files again (its key must be held)."""
    require(home, encrypted=True)
    return _switch(home, sqlfile.held_key(home), None, None)


def change_passphrase(home: Path, passphrase: str) -> Rekeyed:
    """Re-key the library under a new passphrase (the current key must be held), with a new salt."""
    require(home, encrypted=True)
    spec, key = KeySpec.new(passphrase)
    return _switch(home, sqlfile.held_key(home), key, spec)


def library_files(home: Path) -> list[Path]:
    """Every database file of the library that holds data: the library, the session caches, the backups."""
    found = [Path(home) / DB_NAME, Path(home) / CACHE_NAME, *(b.path for b in backups.list_backups(home))]
    return [p for p in found if p.is_file() and p.stat().st_size > 0]


def finish_pending(home: Path) -> None:
    """Finish a switch that was cut off after its commit point: rename its new files into place."""
    marker = read_marker(home)
    if marker is None or not marker.pending:
        return
    log.warning("finishing an encryption change that was cut off (%d files)", len(marker.pending))
    _rename_into_place(Path(home), marker.pending)
    _settle(home, marker.spec)


def _switch(home: Path, old: bytes | None, new: bytes | None, spec: KeySpec | None) -> Rekeyed:
    home = Path(home)
    files = library_files(home)
    held = _hold_all(files, old)
    try:
        _clear_leftovers(home)
        for path, conn in zip(files, held):
            _export_one(conn, path, new)
    except BaseException:
        for path in files:
            _rekeyed(path).unlink(missing_ok=True)
        raise
    finally:
        for conn in held:
            conn.close()
    names = tuple(p.relative_to(home).as_posix() for p in files)
    write_marker(home, Marker(spec, names))  # the commit point: from here on the new files are the library
    _rename_into_place(home, names)
    _settle(home, spec)
    sqlfile.hold_key(home, new)
    return Rekeyed(names, tuple(sorted(p.name for p in home.glob(f"{DB_NAME}.corrupt-*[0-9]"))))


def _hold_all(files: list[Path], key: bytes | None) -> list:
    """Hold every file exclusively, each under its own kind (a file is plain or not by its own header)."""
    held: list = []
    try:
        for path in files:
            held.append(sqlfile.hold_exclusive(path, key if sqlfile.is_encrypted(path) else None))
    except sqlfile.DATABASE_ERRORS as exc:
        for conn in held:
            conn.close()
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED):
            raise StoreError(f"{path.name} is in use by another Scriptorium (the app, or a command still running): "
                             "close it and try again; nothing was changed.") from exc
        raise StoreError(f"{path.name} cannot be read ({exc}); nothing was changed.") from exc
    return held


def _export_one(conn: object, path: Path, key: bytes | None) -> None:
    target = _rekeyed(path)
    target.unlink(missing_ok=True)
    private_file(target)  # 0600 from its first byte
    # The library and cache.db stay in WAL mode; a backup stands alone, one file any SQLite opens as is.
    sqlfile.export(conn, target, key, "DELETE" if path.parent.name == backups.BACKUP_DIR else "WAL")


def _rename_into_place(home: Path, names: tuple[str, ...]) -> None:
    for name in names:
        path = home / name
        if not (new := _rekeyed(path)).exists():
            continue  # renamed before the cut
        for suffix in ("-wal", "-shm"):  # the old file's: replayed into the new one they would corrupt it
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(new, path)


def _settle(home: Path, spec: KeySpec | None) -> None:
    """The marker once every file is switched (and the renames are on the disk): the key's spec, or none at all."""
    for folder in (Path(home), backups.backup_dir(home)):
        if folder.is_dir():
            sync_dir(folder)
    if spec is None:
        marker_path(home).unlink(missing_ok=True)
    else:
        write_marker(home, Marker(spec))


def _clear_leftovers(home: Path) -> None:
    """New files of a switch cut off before its commit point, and backups cut off while written (the library is held,
    so none is being written now)."""
    for path in [*home.glob(f"*{SUFFIX}"), *backups.backup_dir(home).glob(f"*{SUFFIX}"), *backups.backup_dir(home).glob("*.partial")]:
        path.unlink(missing_ok=True)


def _rekeyed(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)
