"""The schema of scriptorium.db as a list of small named migrations, applied in order, one transaction each."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

# Later sets (corpora, passages, embeddings) register their own m00N_ functions here, in order, never edited once shipped.
migrations = Migrations("scriptorium")


@migrations()
def m001_initial(db: Database) -> None:
    """Documents, their revisions and the settings table."""
    db.execute(
        """CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            format TEXT NOT NULL DEFAULT 'markdown' CHECK (format IN ('markdown', 'text')),
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            trashed_at TEXT
        )"""
    )
    db.execute("CREATE INDEX documents_updated ON documents (updated)")
    db.execute(
        """CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            reason TEXT NOT NULL,
            created TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX revisions_document ON revisions (document_id, id)")
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations()
def m002_generations(db: Database) -> None:
    """The log of every generation, like `llm`'s responses table; a document's deletion keeps its log."""
    db.execute(
        """CREATE TABLE generations (
            id INTEGER PRIMARY KEY,
            document_id INTEGER REFERENCES documents (id) ON DELETE SET NULL,
            task TEXT NOT NULL,
            prompt TEXT NOT NULL,
            output TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            model_sha256 TEXT NOT NULL DEFAULT '',
            params TEXT NOT NULL DEFAULT '{}',
            stats TEXT NOT NULL DEFAULT '{}',
            created TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'cancelled', 'error'))
        )"""
    )
    db.execute("CREATE INDEX generations_document ON generations (document_id, id)")


def names() -> list[str]:
    """Names of every migration this version knows, in order."""
    return [m.name for m in migrations.pending(Database(memory=True))]
