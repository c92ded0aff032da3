"""Documents: create, read, list, rename, trash and restore; every write goes through these functions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from app.errors import UserError
from app.store.db import now_iso

FORMATS = ("markdown", "text")

_INFO_COLUMNS = "id, title, format, created, updated, trashed_at, length(body) AS chars"


@dataclass(frozen=True)
class Document:
    """One document with its text."""

    id: int
    title: str
    body: str
    format: str
    created: str
    updated: str
    trashed_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


@dataclass(frozen=True)
class DocumentInfo:
    """A document in a list: everything but the text, and its length in characters."""

    id: int
    title: str
    format: str
    created: str
    updated: str
    trashed_at: str | None
    chars: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


def missing_document(doc_id: int) -> UserError:
    """The error for an id that names no document."""
    return UserError(f"No document with id {doc_id}; `scriptorium docs list` shows the ids.")


def create_document(
    db: Database, title: str = "", body: str = "", format: str = "markdown", reason: str = "new"
) -> Document:
    """Create a document; a non-empty body is also its first revision, recorded with `reason`."""
    if format not in FORMATS:
        raise UserError(f"Unknown document format {format!r}; use one of: {', '.join(FORMATS)}.")
    stamp = now_iso()
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO documents (title, body, format, created, updated) VALUES (?, ?, ?, ?, ?)",
            [title.strip() or "Untitled", body, format, stamp, stamp],
        )
        doc_id = int(cursor.lastrowid)
        if body:
            db.execute(
                "INSERT INTO revisions (document_id, body, reason, created) VALUES (?, ?, ?, ?)",
                [doc_id, body, reason, stamp],
            )
    return get_document(db, doc_id)


def get_document(db: Database, doc_id: int) -> Document:
    """The document with this id, trashed or not; UserError if there is none."""
    rows = list(db.query("SELECT * FROM documents WHERE id = ?", [doc_id]))
    if not rows:
        raise missing_document(doc_id)
    return Document(**rows[0])


def session_key(doc_id: int) -> str:
    """The worker's session-cache key of a document: the desk and `write --doc` share its cached state through it."""
    return f"doc-{int(doc_id)}"


def list_documents(db: Database, filter: str = "", include_trashed: bool = False, trashed_only: bool = False) -> list[DocumentInfo]:
    """Documents whose title or text contains `filter` (case-insensitive for ASCII), most recently updated first."""
    where, params = ["1 = 1"], []
    if trashed_only:
        where.append("trashed_at IS NOT NULL")
    elif not include_trashed:
        where.append("trashed_at IS NULL")
    if filter:
        pattern = "%" + _escape_like(filter) + "%"
        where.append("(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    sql = f"SELECT {_INFO_COLUMNS} FROM documents WHERE {' AND '.join(where)} ORDER BY updated DESC, id DESC"
    return [DocumentInfo(**row) for row in db.query(sql, params)]


def rename_document(db: Database, doc_id: int, title: str) -> Document:
    """Give a document a new title."""
    title = title.strip()
    if not title:
        raise UserError("A document title cannot be empty; give a few words.")
    _update(db, doc_id, "title = ?, updated = ?", [title, now_iso()])
    return get_document(db, doc_id)


def trash_document(db: Database, doc_id: int) -> Document:
    """Move a document to the trash; it stays restorable until the trash is emptied."""
    _update(db, doc_id, "trashed_at = COALESCE(trashed_at, ?)", [now_iso()])
    return get_document(db, doc_id)


def restore_document(db: Database, doc_id: int) -> Document:
    """Take a document out of the trash."""
    _update(db, doc_id, "trashed_at = NULL", [])
    return get_document(db, doc_id)


def empty_trash(db: Database) -> int:
    """Delete trashed documents and their revisions for good; return how many documents went."""
    with db.atomic():
        return db.execute("DELETE FROM documents WHERE trashed_at IS NOT NULL").rowcount


def purge_document(db: Database, doc_id: int, created: str) -> tuple[int, int] | None:
    """Delete the document with this id and creation time for good, with its revisions, story notes, settings and
    generation log entries (which emptying the trash keeps); (revisions, generations) deleted, None if there was none.

    `created` tells the document apart from a later one that took its id, in a backup as in the library.
    """
    with db.atomic():
        if not db.execute("SELECT 1 FROM documents WHERE id = ? AND created = ?", [doc_id, created]).fetchone():
            return None
        revisions = db.execute("SELECT count(*) FROM revisions WHERE document_id = ?", [doc_id]).fetchone()[0]
        # A backup from before m002 has no log; the rest of the schema is as old as the first version.
        generations = db.execute("DELETE FROM generations WHERE document_id = ?", [doc_id]).rowcount if db["generations"].exists() else 0
        db.execute("DELETE FROM documents WHERE id = ?", [doc_id])  # revisions, notes, entries, settings by cascade
    return revisions, generations


def touch(db: Database, doc_id: int, body: str, stamp: str) -> None:
    """Set a document's text and its updated time (inside the caller's transaction)."""
    _update(db, doc_id, "body = ?, updated = ?", [body, stamp])


def _update(db: Database, doc_id: int, assignments: str, params: list[Any]) -> None:
    # `assignments` is always a literal from this module; values travel as parameters.
    cursor = db.execute(f"UPDATE documents SET {assignments} WHERE id = ?", [*params, doc_id])
    if cursor.rowcount == 0:
        raise missing_document(doc_id)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
