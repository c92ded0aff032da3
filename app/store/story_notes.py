"""A document's story notes: the notes text always given to the model, keyed entries, and their snapshot in revisions.

An entry (a character, a place) has a name, keys — comma-separated words or phrases — and a text; which
entries reach a prompt is decided in app/desk/story_match.py. A revision keeps a JSON snapshot of the
notes as they were when it was saved (see revisions.save_body), so restoring it restores them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from app.errors import UserError
from app.store.db import now_iso
from app.store.documents import get_document


@dataclass(frozen=True)
class StoryEntry:
    """One keyed entry: given to the model when one of its keys appears near the cursor."""

    id: int
    document_id: int
    name: str
    keys: str  # comma-separated words or phrases, as the writer typed them
    text: str
    position: int = 0

    def snapshot(self) -> dict[str, str]:
        return {"name": self.name, "keys": self.keys, "text": self.text}


@dataclass(frozen=True)
class Story:
    """A document's notes text and its entries, in the writer's order."""

    notes: str = ""
    entries: tuple[StoryEntry, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.notes.strip() and not self.entries


def get_story(db: Database, doc_id: int) -> Story:
    """The document's notes and entries (empty ones for a document that has none)."""
    rows = list(db.query("SELECT text FROM story_notes WHERE document_id = ?", [doc_id]))
    entries = db.query("SELECT * FROM story_entries WHERE document_id = ? ORDER BY position, id", [doc_id])
    return Story(rows[0]["text"] if rows else "", tuple(StoryEntry(**row) for row in entries))


def set_notes(db: Database, doc_id: int, text: str) -> None:
    """Replace the document's notes text."""
    get_document(db, doc_id)
    with db.atomic():
        db.execute(
            "INSERT INTO story_notes (document_id, text, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (document_id) DO UPDATE SET text = excluded.text, updated = excluded.updated",
            [doc_id, text, now_iso()],
        )


def add_entry(db: Database, doc_id: int, name: str, keys: str = "", text: str = "") -> StoryEntry:
    """Add an entry after the document's others."""
    get_document(db, doc_id)
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO story_entries (document_id, name, keys, text, position) "
            "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(position), -1) + 1 FROM story_entries WHERE document_id = ?))",
            [doc_id, _name(name), keys.strip(), text, doc_id],
        )
    return get_entry(db, int(cursor.lastrowid))


def update_entry(db: Database, entry_id: int, name: str, keys: str, text: str) -> StoryEntry:
    """Change an entry's name, keys and text."""
    with db.atomic():
        cursor = db.execute("UPDATE story_entries SET name = ?, keys = ?, text = ? WHERE id = ?", [_name(name), keys.strip(), text, entry_id])
    if cursor.rowcount == 0:
        raise _missing(entry_id)
    return get_entry(db, entry_id)


def remove_entry(db: Database, entry_id: int) -> None:
    with db.atomic():
        if db.execute("DELETE FROM story_entries WHERE id = ?", [entry_id]).rowcount == 0:
            raise _missing(entry_id)


def get_entry(db: Database, entry_id: int) -> StoryEntry:
    rows = list(db.query("SELECT * FROM story_entries WHERE id = ?", [entry_id]))
    if not rows:
        raise _missing(entry_id)
    return StoryEntry(**rows[0])


def snapshot(db: Database, doc_id: int) -> str | None:
    """The notes and entries as one JSON text for a revision; None when the document has none."""
    story = get_story(db, doc_id)
    if story.empty:
        return None
    return json.dumps({"notes": story.notes, "entries": [e.snapshot() for e in story.entries]}, ensure_ascii=False)


def restore_snapshot(db: Database, doc_id: int, saved: str | None) -> None:
    """Make a revision's snapshot the document's notes and entries (None: it had none)."""
    data = json.loads(saved) if saved else {}
    with db.atomic():
        db.execute("DELETE FROM story_entries WHERE document_id = ?", [doc_id])
        set_notes(db, doc_id, data.get("notes", ""))
        for entry in data.get("entries", []):
            add_entry(db, doc_id, entry["name"], entry.get("keys", ""), entry.get("text", ""))


def _name(name: str) -> str:
    if not name.strip():
        raise UserError("A story entry needs a name: the character, place or thing it describes.")
    return name.strip()


def _missing(entry_id: int) -> UserError:
    return UserError(f"No story entry {entry_id}; it may have been removed.")
