"""The writer's dictionary: words the spelling checker accepts, kept with the documents."""

from __future__ import annotations

from sqlite_utils import Database

from app.store.db import now_iso


def dictionary_words(db: Database) -> list[str]:
    """Every word the writer added, in alphabetical order."""
    return [row["word"] for row in db.query("SELECT word FROM dictionary ORDER BY word")]


def add_word(db: Database, word: str) -> str:
    """Add `word` (trimmed) to the dictionary; adding it again changes nothing. Returns the word stored."""
    word = word.strip()
    if not word:
        raise ValueError("an empty word cannot be added to the dictionary")
    with db.atomic():
        db.execute("INSERT INTO dictionary (word, added) VALUES (?, ?) ON CONFLICT (word) DO NOTHING", [word, now_iso()])
    return word

