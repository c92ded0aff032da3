"""The desk's side of the encrypted library, with no screen: unlocking at start, and the Settings page's actions."""

from __future__ import annotations

from pathlib import Path

from app.errors import ScriptoriumError
from app.store import library_key, rekey

ENCRYPT, DECRYPT, CHANGE = "encrypt", "decrypt", "change-passphrase"


def try_unlock(home: Path, passphrase: str) -> str | None:
    """Unlock the library with `passphrase`; the sentence to show when it does not open it (None: unlocked)."""
    try:
        library_key.unlock(home, passphrase)
    except ScriptoriumError as exc:
        return str(exc)
    return None


def check_current(home: Path, passphrase: str) -> str | None:
    """Whether `passphrase` is the library's (asked again before it is decrypted or re-keyed); the sentence when not."""
    marker = library_key.read_marker(home)
    if marker is None or marker.spec is None:
        return "The library is not encrypted."
    try:
        marker.spec.key_for(passphrase)
    except ScriptoriumError as exc:
        return str(exc)
    return None


def check_new(passphrase: str, again: str) -> str | None:
    """What is wrong with a new passphrase typed twice (None: nothing)."""
    if not passphrase:
        return "Type a passphrase: an empty one would protect nothing."
    if passphrase != again:
        return "The two passphrases differ: type the same one twice."
    return None


def describe(home: Path) -> str:
    """The Settings page's sentence about the library's encryption."""
    if library_key.is_encrypted(home):
        return ("The library, its session caches and its backups are encrypted (SQLCipher, AES-256). The passphrase "
                "is asked at every start; without it nothing can be read.")
    return "The library is stored in plain SQLite files, readable by anyone who can read your data folder."


def rekey_library(home: Path, action: str, passphrase: str = "") -> str:
    """Run one action (a pool job: its own connections, none of the window's open); the sentence to show after it."""
    if action == ENCRYPT:
        return rekey.encrypt(home, passphrase).sentence("Encrypted")
    if action == CHANGE:
        return rekey.change_passphrase(home, passphrase).sentence("Re-keyed under the new passphrase")
    if action == DECRYPT:
        return rekey.decrypt(home).sentence("Decrypted")
    raise ValueError(f"unknown encryption action {action!r}")
