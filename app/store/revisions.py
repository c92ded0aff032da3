"""Saving a document's text: one revision per save, autosaves coalesced, any revision restorable."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlite_utils import Database

from app.errors import UserError
from app.store.db import now_iso
from app.store.documents import get_document, touch
from app.store.story_notes import restore_snapshot, snapshot

AUTOSAVE = "autosave"
# One autosave revision covers at most this much typing: the history stays short, and a bad minute can be undone.
AUTOSAVE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Revision:
    """A saved state of a document's text."""

    id: int
    document_id: int
    body: str
    reason: str
    created: str
    notes: str | None = None  # the story notes then, as story_notes.snapshot wrote them; None: there were none

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


@dataclass(frozen=True)
class RevisionInfo:
    """A revision in a list: everything but the text, and its length in characters."""

    id: int
    document_id: int
    reason: str
    created: str
    chars: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def save_body(
    db: Database, doc_id: int, body: str, reason: str = "save", now: datetime | None = None
) -> Revision | None:
    """Store a document's new text and record it, with a snapshot of its story notes, as a revision; return the
    revision holding it (None: nothing to save).

    An autosave replaces the previous revision when that was an autosave started within AUTOSAVE_WINDOW.
    Saving unchanged text and notes adds nothing, though an explicit save relabels a trailing autosave.
    """
    moment = now or datetime.now(timezone.utc)
    with db.atomic():
        doc = get_document(db, doc_id)
        last = _latest(db, doc_id)
        notes = snapshot(db, doc_id)
        if body == doc.body and ((last.body, last.notes) == (body, notes) if last else notes is None):
            if last and last.reason == AUTOSAVE and reason != AUTOSAVE:
                db.execute("UPDATE revisions SET reason = ? WHERE id = ?", [reason, last.id])
            return get_revision(db, last.id) if last else None
        touch(db, doc_id, body, now_iso(moment))
        if last and reason == AUTOSAVE and last.reason == AUTOSAVE and _within_window(last.created, moment):
            db.execute("UPDATE revisions SET body = ?, notes = ? WHERE id = ?", [body, notes, last.id])
            return get_revision(db, last.id)
        cursor = db.execute(
            "INSERT INTO revisions (document_id, body, reason, created, notes) VALUES (?, ?, ?, ?, ?)",
            [doc_id, body, reason, now_iso(moment), notes],
        )
        return get_revision(db, int(cursor.lastrowid))


def list_revisions(db: Database, doc_id: int) -> list[RevisionInfo]:
    """A document's revisions, newest first."""
    get_document(db, doc_id)
    rows = db.query(
        "SELECT id, document_id, reason, created, length(body) AS chars FROM revisions "
        "WHERE document_id = ? ORDER BY id DESC",
        [doc_id],
    )
    return [RevisionInfo(**row) for row in rows]


def get_revision(db: Database, revision_id: int, doc_id: int | None = None) -> Revision:
    """One revision, with its text; if `doc_id` is given the revision must belong to that document."""
    rows = list(db.query("SELECT * FROM revisions WHERE id = ?", [revision_id]))
    if not rows or (doc_id is not None and rows[0]["document_id"] != doc_id):
        where = f" of document {doc_id}" if doc_id is not None else ""
        raise UserError(
            f"No revision {revision_id}{where}; `scriptorium docs history ID` lists a document's revisions."
        )
    return Revision(**rows[0])


def restore_revision(db: Database, doc_id: int, revision_id: int) -> Revision | None:
    """Make an old revision's text and story notes current again; the restore is itself a new revision (None if
    already current)."""
    old = get_revision(db, revision_id, doc_id)
    with db.atomic():
        restore_snapshot(db, doc_id, old.notes)
        return save_body(db, doc_id, old.body, reason=f"restore rev {old.id}")


def _latest(db: Database, doc_id: int) -> Revision | None:
    rows = list(db.query("SELECT * FROM revisions WHERE document_id = ? ORDER BY id DESC LIMIT 1", [doc_id]))
    return Revision(**rows[0]) if rows else None


def _within_window(created: str, moment: datetime) -> bool:
    return moment.astimezone(timezone.utc) - datetime.fromisoformat(created) < AUTOSAVE_WINDOW
