"""Purging a document: its text gone from every file Scriptorium keeps — the library, its backups, the session caches.

Deleting rows is not enough: SQLite leaves deleted text in free pages and in the -wal, and FTS5 keeps a deleted
text's words in old index segments. So each database touched is merged (the Manuscript mirror's indexes) and
vacuumed, and its -wal emptied. A copy set aside as damaged (scriptorium.db.corrupt-*) is never touched: it may
be the only copy of other work, so the report names it and the writer decides.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from app.corpus.search import drop_mirror
from app.corpus.store import merge_indexes
from app.desk.compress_feed import held_out_path
from app.store import get_document, open_db, session_key
from app.store.backups import list_backups, stale_partials
from app.store.db import vacuum
from app.store.documents import purge_document
from inference import sqlfile
from inference.cache import forget_document


@dataclass
class Purged:
    """What a purge removed, and what it could not reach."""

    doc_id: int
    title: str
    revisions: int = 0
    generations: int = 0
    mirrored: bool = False  # its text was in the Manuscript corpus
    cached_states: int = 0
    backups: int = 0  # backups that held it
    busy: bool = False  # another process kept the library's -wal open: it empties when that one closes
    damaged_copies: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self) | {"damaged_copies": [str(p) for p in self.damaged_copies]}

    def sentence(self) -> str:
        """What happened, for a person."""
        said = (f"Purged document {self.doc_id} ({self.title}) with {self.revisions} revision(s), {self.generations} logged "
                f"generation(s), {self.cached_states} cached state(s){', its Manuscript text' if self.mirrored else ''} "
                f"and its copies in {self.backups} backup(s); the files were compacted.")
        if self.busy:
            said += " Another Scriptorium is open on the library: close it, and its last traces leave scriptorium.db-wal."
        if self.damaged_copies:
            said += f" Damaged copies set aside earlier were not touched; delete them yourself: {', '.join(map(str, self.damaged_copies))}."
        return said


def purge(home: Path, doc_id: int) -> Purged:
    """Remove a document for good from the library, its backups and cache.db, then compact every file that held it."""
    with closing(open_db(home)) as db:
        doc = get_document(db, doc_id)
        done = Purged(doc.id, doc.title)
        done.revisions, done.generations = purge_document(db, doc.id, doc.created) or (0, 0)
        done.mirrored = _drop_mirror(db, doc.id)
        done.busy = not vacuum(db)
    for backup in list_backups(home):
        done.backups += _purge_copy(backup.path, doc.id, doc.created)
    for leftover in [*stale_partials(home), held_out_path(home)]:  # a backup cut off; held-out text made of documents
        leftover.unlink(missing_ok=True)
    done.cached_states = forget_document(Path(home) / "cache.db", session_key(doc.id))
    done.damaged_copies = sorted(Path(home).glob("scriptorium.db.corrupt-*[0-9]"))
    return done


def _drop_mirror(db: Database, doc_id: int) -> bool:
    """Take the document out of the Manuscript corpus, and its words out of the full-text indexes' segments."""
    if not db["texts"].exists() or not drop_mirror(db, doc_id):
        return False
    merge_indexes(db)
    return True


def _purge_copy(path: Path, doc_id: int, created: str) -> bool:
    """Purge the document from one backup file (left a standalone file); whether it held the document."""
    with closing(Database(sqlfile.connect(path))) as db:  # an encrypted library's backups are under its key
        db.execute("PRAGMA foreign_keys = ON")  # the cascade from documents reaches revisions and notes
        if purge_document(db, doc_id, created) is None:
            return False
        _drop_mirror(db, doc_id)
        db.execute("VACUUM")
    return True
