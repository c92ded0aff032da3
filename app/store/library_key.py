"""The encrypted library's key: `library.json` beside the database (salt, key derivation, a check of the key), the
passphrase turned into SQLCipher's raw key once per start, and that key held for the process.

The marker holds nothing secret and is read without the key: whether the library is encrypted, how to derive the key,
and an HMAC that tells a wrong passphrase from a damaged file before any database is touched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import StoreError
from inference import sqlfile
from inference.paths import write_private

MARKER = "library.json"
KDF = "pbkdf2-hmac-sha512"
# SQLCipher 4's own PBKDF2-HMAC-SHA512 count. Paid once when the library is unlocked (about 0.15 s here) instead of
# at every connection, as SQLCipher's passphrase mode would: the raw key then opens a connection in under a ms.
ITERATIONS = 256_000
SALT_BYTES = 16
_CHECK_LABEL = b"scriptorium library key check v1"


class LibraryLocked(StoreError):
    """The library is encrypted and this process has not been given its passphrase."""


class WrongPassphrase(StoreError):
    """The passphrase given does not open this library; nothing was touched."""


@dataclass(frozen=True)
class KeySpec:
    """How the key is derived from the passphrase, and the check a derived key must match."""

    salt: bytes
    iterations: int
    check: bytes

    @classmethod
    def new(cls, passphrase: str) -> tuple["KeySpec", bytes]:
        """A fresh salt for a new passphrase, and the key it gives."""
        salt = os.urandom(SALT_BYTES)
        key = derive(passphrase, salt, ITERATIONS)
        return cls(salt, ITERATIONS, _check_of(key)), key

    def key_for(self, passphrase: str) -> bytes:
        """The key of `passphrase`; WrongPassphrase when it is not this library's."""
        key = derive(passphrase, self.salt, self.iterations)
        if not hmac.compare_digest(_check_of(key), self.check):
            raise WrongPassphrase("That passphrase does not open this library; nothing was changed. Try again.")
        return key


@dataclass(frozen=True)
class Marker:
    """library.json: the key's spec (None once a decryption is being finished) and the files of a switch under way."""

    spec: KeySpec | None
    pending: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        spec = self.spec
        body: dict = {"format": 1, "cipher": "sqlcipher4", "pending": list(self.pending)}
        if spec is not None:
            body.update(kdf=KDF, iterations=spec.iterations, salt=spec.salt.hex(), check=spec.check.hex())
        return json.dumps(body, indent=1) + "\n"


def derive(passphrase: str, salt: bytes, iterations: int) -> bytes:
    """PBKDF2-HMAC-SHA512 of the passphrase: SQLCipher's own derivation, done once instead of at every open."""
    if not passphrase:
        raise StoreError("A passphrase cannot be empty.")
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, iterations, sqlfile.KEY_BYTES)


def _check_of(key: bytes) -> bytes:
    return hmac.new(key, _CHECK_LABEL, hashlib.sha256).digest()


def marker_path(home: Path) -> Path:
    return Path(home) / MARKER


def read_marker(home: Path) -> Marker | None:
    """The marker of `home`, None when the library is not encrypted; StoreError when it cannot be read."""
    path = marker_path(home)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        pending = tuple(str(p) for p in body.get("pending", []))
        if "salt" not in body:
            return Marker(None, pending)
        return Marker(KeySpec(bytes.fromhex(body["salt"]), int(body["iterations"]), bytes.fromhex(body["check"])), pending)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path} is damaged ({exc}): the library's key cannot be derived without it.") from exc


def write_marker(home: Path, marker: Marker) -> None:
    """Replace library.json atomically and durably: a kill or a power cut leaves the old one or the new one, never
    half of either, and files renamed after this call never reach the disk before it."""
    path = marker_path(home)
    write_private(path, marker.to_json())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    sync_dir(Path(home))


def sync_dir(folder: Path) -> None:
    """Flush a folder's entries (renames, new files) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def is_encrypted(home: Path) -> bool:
    """Whether the library in `home` is encrypted (its marker says how to derive the key)."""
    marker = read_marker(home)
    return marker is not None and marker.spec is not None


def is_locked(home: Path) -> bool:
    """Whether the library is encrypted and this process holds no key for it yet."""
    return is_encrypted(home) and sqlfile.held_key(home) is None


def check_unlocked(home: Path) -> None:
    """Raise LibraryLocked unless the library is plain or its key is held."""
    if is_locked(home):
        raise LibraryLocked("The library is encrypted: give its passphrase (the app asks at start; commands read "
                            "SCRIPTORIUM_PASSPHRASE, --passphrase-stdin or ask on a terminal).")


def hold(home: Path, key: bytes) -> None:
    """Hold a key a parent process passed on (the app to a command it starts), once it matches the library's check."""
    marker = read_marker(home)
    if marker is None or marker.spec is None or not hmac.compare_digest(_check_of(key), marker.spec.check):
        raise WrongPassphrase("The key given on stdin does not open this library; nothing was changed.")
    sqlfile.hold_key(home, key)


def unlock(home: Path, passphrase: str) -> None:
    """Derive the library's key from `passphrase` and hold it; WrongPassphrase (nothing touched) when it is not it."""
    marker = read_marker(home)
    if marker is None or marker.spec is None:
        raise StoreError("The library is not encrypted: there is nothing to unlock.")
    sqlfile.hold_key(home, marker.spec.key_for(passphrase))
