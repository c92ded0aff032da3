"""Open the data directory's SQLite files: plain, or encrypted by SQLCipher under a raw key this process holds.

A file says itself which it is: a plain SQLite file begins with SQLite's magic header, a SQLCipher file with 16
random bytes of salt. The key of an encrypted library is derived once from the passphrase (app/store/library_key.py)
and held here for the process's lifetime, by data directory, so every connection — the GUI thread's, a pool
thread's, the worker's cache.db — opens with it without asking again. It is never written anywhere.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlcipher3 import dbapi2 as cipher

PLAIN_HEADER = b"SQLite format 3\x00"
KEY_BYTES = 32  # AES-256: SQLCipher's raw key is the key itself, so no PBKDF2 runs at each open

# sqlcipher3's exceptions mirror sqlite3's but are not subclasses of them: an `except` must name both.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, cipher.DatabaseError)
OPERATIONAL_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, cipher.OperationalError)
ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, cipher.Error)

HELD = "held"  # connect()'s default: the key held for the file's data directory
# One key per data directory: the app, a command and the worker each serve one, tests several at once.
_held: dict[Path, bytes] = {}


def hold_key(home: Path, key: bytes | None) -> None:
    """Use `key` for every file in `home` (its backups too) from now on; None forgets it."""
    if key is not None and len(key) != KEY_BYTES:
        raise ValueError(f"a library key is {KEY_BYTES} bytes")
    if key is None:
        _held.pop(Path(home).resolve(), None)
    else:
        _held[Path(home).resolve()] = key


def held_key(path: Path | None) -> bytes | None:
    """The key held for the data directory that holds `path` (or is `path`), None when there is none."""
    if path is None:
        return None
    where = Path(path).resolve()
    return next((key for home, key in _held.items() if where == home or home in where.parents), None)


def key_from_line(line: str) -> bytes:
    """The key a parent process sent as one line of hex on a pipe (ValueError when it is not one)."""
    key = bytes.fromhex(line.strip())
    if len(key) != KEY_BYTES:
        raise ValueError(f"a library key is {KEY_BYTES} bytes")
    return key


def is_encrypted(path: Path) -> bool:
    """Whether the file holds data and is not plain SQLite (SQLCipher's, or no database at all)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PLAIN_HEADER))
    except FileNotFoundError:
        return False
    return bool(head) and head != PLAIN_HEADER


def is_cipher(conn: Any) -> bool:
    """Whether a connection was opened by SQLCipher (its backups must be opened the same way)."""
    return isinstance(conn, cipher.Connection)


def connect(path: Path, *, key: bytes | None | str = HELD, read_only: bool = False, **options: Any) -> Any:
    """A DB-API connection to `path`: SQLCipher under `key` (by default the one held for its directory) when the
    file is encrypted, or new and there is a key; plain sqlite3 otherwise. `options` are sqlite3.connect's.

    A wrong key, like a damaged file, fails here with SQLite's "file is not a database" (a DATABASE_ERRORS).
    """
    path = Path(path)
    key = held_key(path) if key == HELD else key
    assert not isinstance(key, str)
    target, uri = (f"{path.resolve().as_uri()}?mode=ro", True) if read_only else (str(path), False)
    new = not path.is_file() or path.stat().st_size == 0
    if key is None or not (new or is_encrypted(path)):
        return sqlite3.connect(target, uri=uri, **options)
    conn = cipher.connect(target, uri=uri, **options)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # SQLCipher would print each failed page check to stderr
        conn.execute(f"PRAGMA key = \"{raw_key(key)}\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the key is checked only when a page is read
    except DATABASE_ERRORS:
        conn.close()
        raise
    return conn


def raw_key(key: bytes) -> str:
    """SQLCipher's raw-key literal, x'…': hex of our own bytes, so nothing of the user's ever reaches the SQL."""
    return f"x'{key.hex()}'"


def hold_exclusive(path: Path, key: bytes | None, timeout: float = 1.0) -> Any:
    """A SQLCipher connection to `path` (a plain file when `key` is None) that keeps every other connection out until
    it closes; "database is locked" (an OPERATIONAL_ERRORS) when another process has the file open."""
    conn = cipher.connect(str(path), timeout=timeout, isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        if key is not None:
            conn.execute(f"PRAGMA key = \"{raw_key(key)}\"")
        # In WAL mode an exclusive lock is refused while any other connection has the file open, even an idle one,
        # and EXCLUSIVE locking mode keeps it after the transaction: nobody writes what the export would miss.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("COMMIT")
    except DATABASE_ERRORS:
        conn.close()
        raise
    return conn


def export(conn: Any, target: Path, key: bytes | None, journal_mode: str) -> None:
    """Write the whole database held on `conn` (from hold_exclusive) into the new file `target`, under `key` (None:
    plain), in `journal_mode`, and flush it to the disk."""
    conn.execute("ATTACH DATABASE ? AS rekeyed KEY ?", [str(target), raw_key(key) if key is not None else ""])
    try:
        conn.execute("SELECT sqlcipher_export('rekeyed')")
        version = conn.execute("PRAGMA main.user_version").fetchone()[0]  # sqlcipher_export leaves it behind
        conn.execute(f"PRAGMA rekeyed.user_version = {int(version)}")
        conn.execute(f"PRAGMA rekeyed.journal_mode = {journal_mode}")
    finally:
        conn.execute("DETACH DATABASE rekeyed")
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # the switch's commit point is written after this: by then the new file must be on the disk
    finally:
        os.close(fd)
