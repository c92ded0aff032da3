"""What the encryption tests share: a sentence to look for in the files, two passphrases, no key left held."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import sqlfile

SENTENCE = "Quillfeather marmalade drifted over the velvet harbour at dusk."
RARE = b"quillfeather"  # one word of it, as the full-text index keeps words (folded to lower case)
PASS, OTHER = "correct horse battery staple", "tr0ub4dor&3"


@pytest.fixture(autouse=True)
def no_key_held(home: Path):
    """Each test starts with no key held for its data directory, and leaves none behind."""
    sqlfile.hold_key(home, None)
    yield
    sqlfile.hold_key(home, None)


def files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.is_file())


def snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the data directory: its bytes and its mtime."""
    return {p.relative_to(home).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in files(home)}
