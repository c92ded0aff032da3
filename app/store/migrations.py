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


@migrations()
def m003_corpus(db: Database) -> None:
    """Corpora, their texts with metadata, and the CJK-aware full-text index over each text's folded shadow."""
    db.execute("CREATE TABLE corpora (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE texts (
            id INTEGER PRIMARY KEY,
            corpus_id INTEGER NOT NULL REFERENCES corpora (id) ON DELETE CASCADE,
            title TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            collection TEXT NOT NULL DEFAULT '',
            date TEXT NOT NULL DEFAULT '',
            source_path TEXT NOT NULL DEFAULT '',
            format TEXT NOT NULL DEFAULT '',
            encoding TEXT NOT NULL DEFAULT '',
            content_hash TEXT NOT NULL,
            chars INTEGER NOT NULL,
            created TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (corpus_id, content_hash)
        )"""
    )
    for column in ("author", "collection", "date", "source_path"):
        db.execute(f"CREATE INDEX texts_{column} ON texts (corpus_id, {column})")
    # The shadow: the folded body with each CJK character a token and punctuation gone (app/corpus/shadow.py);
    # `positions` maps its tokens back to offsets of the original body; `fold` names the fold that made it.
    # Long values go last: SQLite reaches a column by walking the overflow pages of every column before it.
    db.execute(
        """CREATE TABLE text_shadows (
            text_id INTEGER PRIMARY KEY REFERENCES texts (id) ON DELETE CASCADE,
            fold TEXT NOT NULL,
            positions BLOB NOT NULL,
            shadow TEXT NOT NULL
        )"""
    )
    # External content: the index reads its text from text_shadows, so the shadow is stored once. Phrases need
    # detail=full. The triggers keep the index in step when a shadow changes or goes (a cascade from texts fires
    # them too, also in another SQLite tool); a new shadow is indexed by app/corpus/store.py itself, since the
    # same INSERT run from a trigger measured 1.7x slower.
    db.execute(
        """CREATE VIRTUAL TABLE texts_fts USING fts5 (
            shadow, content='text_shadows', content_rowid='text_id', tokenize='unicode61 remove_diacritics 2'
        )"""
    )
    db.execute(
        """CREATE TRIGGER text_shadows_delete AFTER DELETE ON text_shadows BEGIN
            INSERT INTO texts_fts (texts_fts, rowid, shadow) VALUES ('delete', old.text_id, old.shadow);
        END"""
    )
    db.execute(
        """CREATE TRIGGER text_shadows_update AFTER UPDATE OF shadow ON text_shadows BEGIN
            INSERT INTO texts_fts (texts_fts, rowid, shadow) VALUES ('delete', old.text_id, old.shadow);
            INSERT INTO texts_fts (rowid, shadow) VALUES (new.text_id, new.shadow);
        END"""
    )


@migrations()
def m004_corpus_imports(db: Database) -> None:
    """The import journal: each file's state in a corpus, so an import resumes after a crash and skips unchanged files."""
    # `records` counts the texts read from the file so far: a resumed file skips that many. `fields` is the
    # field mapping a record file was read with (JSON); another mapping reads the file again.
    db.execute(
        """CREATE TABLE corpus_imports (
            corpus_id INTEGER NOT NULL REFERENCES corpora (id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            format TEXT NOT NULL DEFAULT '',
            fields TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL CHECK (state IN ('reading', 'done', 'skipped')),
            records INTEGER NOT NULL DEFAULT 0,
            encoding TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            updated TEXT NOT NULL,
            PRIMARY KEY (corpus_id, path)
        )"""
    )



@migrations()
def m005_dictionary(db: Database) -> None:
    """The writer's own dictionary (words the checker accepts) and settings that belong to one document."""
    db.execute("CREATE TABLE dictionary (word TEXT PRIMARY KEY, added TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE document_settings (
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (document_id, key)
        )"""
    )


@migrations()
def m006_story_notes(db: Database) -> None:
    """Story notes per document: the notes always given to the model, keyed entries given when a key is near the
    cursor; each revision keeps a snapshot of them (JSON; NULL: the document had none), so a restore brings them back."""
    db.execute(
        """CREATE TABLE story_notes (
            document_id INTEGER PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
            text TEXT NOT NULL DEFAULT '',
            updated TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE story_entries (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            keys TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            position INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX story_entries_document ON story_entries (document_id, position, id)")
    db.execute("ALTER TABLE revisions ADD COLUMN notes TEXT")


@migrations()
def m007_task_scores(db: Database) -> None:
    """What `scriptorium bench tasks` measured of a model (keyed by its checksum): checks passed of those run, per task."""
    db.execute(
        """CREATE TABLE task_scores (
            model_sha256 TEXT NOT NULL,
            task TEXT NOT NULL,
            passed INTEGER NOT NULL,
            total INTEGER NOT NULL CHECK (total > 0 AND passed BETWEEN 0 AND total),
            measured_at TEXT NOT NULL,
            PRIMARY KEY (model_sha256, task)
        )"""
    )


@migrations()
def m008_passages(db: Database) -> None:
    """Passages of texts (app/corpus/passages.py), the embedders that embedded them, and their vectors.

    A passage is [start, end) in characters of its text's original body; a new body gives new passages, and their
    vectors go with the old ones (ON DELETE CASCADE). An embedding is keyed by (passage, embedder checksum), so a
    second embedder adds its own rows and a run resumes where the last committed batch left off. Its `vector` is
    `dim` little-endian IEEE float32 values, L2-normalised (a dot product is the cosine), 4 * dim bytes:
    numpy.frombuffer(vector, "<f4"). Plain blobs, not sqlite-vec: the Python here (3.11.7) is built without
    sqlite3's enable_load_extension, so no SQLite extension can be loaded at all, and brute force in numpy over
    blobs read in chunks is fast enough at these sizes (app/corpus/vectors.py gives the measurements).
    """
    # AUTOINCREMENT: an id is never reused, so a vector computed for a passage since replaced cannot land on the
    # passage that took its place.
    db.execute(
        """CREATE TABLE passages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            text_id INTEGER NOT NULL REFERENCES texts (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL CHECK ("end" > start),
            UNIQUE (text_id, ordinal)
        )"""
    )
    db.execute(
        """CREATE TABLE embedders (
            sha256 TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            dim INTEGER NOT NULL,
            created TEXT NOT NULL
        )"""
    )
    # The (passage_id, model_sha256) key also serves the cascade from passages, which looks rows up by passage_id.
    db.execute(
        """CREATE TABLE embeddings (
            passage_id INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
            model_sha256 TEXT NOT NULL REFERENCES embedders (sha256) ON DELETE CASCADE,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),
            PRIMARY KEY (passage_id, model_sha256)
        )"""
    )


@migrations()
def m009_passage_index(db: Database) -> None:
    """BM25 over passages (app/corpus/passage_index.py): each passage's shadow in an FTS5 table of its own.

    The rowid is the passage's id. Rows are added by passage_index.ensure_indexed (folding needs Python), and
    removed with their passage by the trigger, so a text cut again never leaves a stale row under a reused id.
    """
    db.execute("CREATE VIRTUAL TABLE passages_fts USING fts5 (shadow, tokenize='unicode61 remove_diacritics 2')")
    db.execute(
        """CREATE TRIGGER passages_delete AFTER DELETE ON passages BEGIN
            DELETE FROM passages_fts WHERE rowid = old.id;
        END"""
    )


def names() -> list[str]:
    """Names of every migration this version knows, in order."""
    return [m.name for m in migrations.pending(Database(memory=True))]
