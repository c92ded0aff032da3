"""Corpora and their texts: create, add (deduplicated by content hash, indexed and cut into passages in the same transaction), list, read, filter."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database

from app.corpus.fold import Fold, load_fold
from app.corpus.passages import build_passages, cut, insert_passages
from app.corpus.records import TextRecord
from app.corpus.shadow import build_shadow
from app.errors import UserError
from app.store.db import now_iso

_BATCH = 200  # texts read per query while streaming: bounded memory, few round trips


@dataclass(frozen=True)
class CorpusInfo:
    """A corpus in a list: how many texts it holds and how many characters they have in all."""

    id: int
    name: str
    texts: int
    chars: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


@dataclass(frozen=True)
class Text:
    """One stored text: every column of the `texts` table."""

    id: int
    corpus_id: int
    title: str
    author: str
    collection: str
    date: str
    source_path: str
    format: str
    encoding: str
    content_hash: str
    chars: int
    created: str
    body: str

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output."""
        return asdict(self)


@dataclass(frozen=True)
class TextFilter:
    """Metadata conditions, all of which a text must meet; empty fields impose nothing.

    `author` and `collection` match exactly, `title` as a case-insensitive (ASCII) substring; dates compare as
    text, and `date_to` "1820" admits "1820-05-01" (a date is cut to the bound's length before comparing).
    """

    author: str = ""
    collection: str = ""
    title: str = ""
    date_from: str = ""
    date_to: str = ""
    text_ids: tuple[int, ...] = ()


_TEXT_COLUMNS = ", ".join(f"texts.{f.name}" for f in fields(Text))
# The columns a record writes (literal names: the SQL built from them carries values only as parameters).
_WRITTEN = ("title", "author", "collection", "date", "source_path", "format", "encoding", "content_hash", "chars", "body")


def content_hash(body: str) -> str:
    """The identity of a text's content: SHA-256 of its NFC form, so normalisation alone never makes a new text."""
    return hashlib.sha256(unicodedata.normalize("NFC", body).encode("utf-8")).hexdigest()


def corpus_id(db: Database, name: str, create: bool = True) -> int:
    """The id of the corpus called `name`, created when absent if `create`; UserError otherwise."""
    name = name.strip()
    if not name:
        raise UserError("A corpus needs a name; give one with --corpus NAME.")
    row = db.execute("SELECT id FROM corpora WHERE name = ?", [name]).fetchone()
    if row:
        return int(row[0])
    if not create:
        raise _no_corpus(db, name)
    with db.atomic():
        return int(db.execute("INSERT INTO corpora (name, created) VALUES (?, ?)", [name, now_iso()]).lastrowid)


def list_corpora(db: Database) -> list[CorpusInfo]:
    """Every corpus by name, with its number of texts and characters."""
    sql = """SELECT corpora.id, corpora.name, count(texts.id) AS texts, coalesce(sum(texts.chars), 0) AS chars
             FROM corpora LEFT JOIN texts ON texts.corpus_id = corpora.id
             GROUP BY corpora.id ORDER BY corpora.name"""
    return [CorpusInfo(**row) for row in db.query(sql)]


def delete_corpus(db: Database, name: str) -> None:
    """Delete a corpus with its texts and their index entries; UserError if there is no such corpus."""
    cid = corpus_id(db, name, create=False)
    with db.atomic():
        db.execute("DELETE FROM corpora WHERE id = ?", [cid])


def add_text(db: Database, corpus_id: int, record: TextRecord, fold: Fold | None = None) -> int | None:
    """Store and index a text; None (and nothing written) when the corpus already holds the same content."""
    return add_texts(db, corpus_id, [record], fold)[0]


@dataclass(frozen=True)
class Prepared:
    """A text made ready to store, with no database at hand: its column values, shadow, position map and passages."""

    values: list[Any]  # of the _WRITTEN columns
    fold: str  # the signature of the fold that made the shadow
    shadow: str
    positions: bytes
    passages: list[tuple[int, int]]


def prepare(record: TextRecord, fold: Fold) -> Prepared:
    """Hash, fold and cut a text: the CPU work of storing it, which an import does beside its writes."""
    shadow, positions = build_shadow(record.body, fold).to_row()
    return Prepared(_values(record), fold.signature, shadow, positions, cut(record.body))


def add_texts(db: Database, corpus_id: int, records: list[TextRecord], fold: Fold | None = None) -> list[int | None]:
    """Store, index (under `fold`, by default the database's) and cut texts in one transaction: each one's id, or None
    for content the corpus already holds (also earlier in `records`), of which nothing is written."""
    fold = fold or fold_of(db)
    return add_prepared(db, corpus_id, [prepare(record, fold) for record in records])


def add_prepared(db: Database, corpus_id: int, texts: list[Prepared]) -> list[int | None]:
    """Store prepared texts in one transaction, as add_texts does.

    The index rows go in last, all together: FTS5 writes out its pending index whenever a statement after an insert
    into it opens a statement savepoint, as the writes beside it do (they fire triggers, check foreign keys), so
    interleaved they cost a quarter more of an import's CPU time (3.7 s against 2.9 s for 20 MB).
    """
    ids: list[int | None] = []
    indexed: list[tuple[int, str]] = []
    with db.atomic():
        for text in texts:
            text_id = _insert(db, corpus_id, text.values)
            if text_id is not None:
                db.execute("INSERT INTO text_shadows (fold, positions, shadow, text_id) VALUES (?, ?, ?, ?)",
                           [text.fold, text.positions, text.shadow, text_id])
                indexed.append((text_id, text.shadow))
                insert_passages(db, text_id, text.passages)
            ids.append(text_id)
        db.conn.executemany("INSERT INTO texts_fts (rowid, shadow) VALUES (?, ?)", indexed)
    return ids


def _insert(db: Database, corpus_id: int, values: list[Any]) -> int | None:
    """A new row of `texts` with these values of the _WRITTEN columns, its id; None when the corpus holds its content."""
    if db.execute("SELECT 1 FROM texts WHERE corpus_id = ? AND content_hash = ?", [corpus_id, values[-3]]).fetchone():
        return None
    cursor = db.execute(
        f"INSERT INTO texts (corpus_id, {', '.join(_WRITTEN)}, created) VALUES (?, {', '.join('?' * len(_WRITTEN))}, ?)",
        [corpus_id, *values, now_iso()],
    )
    return int(cursor.lastrowid)


def replace_text(db: Database, text_id: int, record: TextRecord) -> None:
    """Give a stored text a new body and metadata, index and cut it again (IntegrityError if the corpus has that body)."""
    with db.atomic():
        db.execute(f"UPDATE texts SET {', '.join(f'{c} = ?' for c in _WRITTEN)} WHERE id = ?", [*_values(record), text_id])
        index_text(db, text_id, record.body)
        build_passages(db, text_id, record.body)


def _values(record: TextRecord) -> list[Any]:
    """The values of the _WRITTEN columns for a record (its hash third from the end)."""
    return [record.title, record.author, record.collection, record.date, record.source_path, record.format,
            record.encoding, content_hash(record.body), len(record.body), record.body]


def delete_text(db: Database, text_id: int) -> None:
    """Remove one text and its index entries (nothing happens if there is none)."""
    with db.atomic():
        db.execute("DELETE FROM texts WHERE id = ?", [text_id])


def merge_indexes(db: Database) -> None:
    """Merge each full-text index into one segment: FTS5 keeps a deleted text's words in old segments until a merge."""
    for table in ("texts_fts", "passages_fts"):  # literals: the two indexes of texts and of passages
        if db[table].exists():  # a backup from before m009 has no passages
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


def index_text(db: Database, text_id: int, body: str, fold: Fold | None = None) -> None:
    """(Re)write the shadow of one text, which the triggers carry into the FTS index; inside the caller's transaction."""
    fold = fold or fold_of(db)
    shadow, positions = build_shadow(body, fold).to_row()
    values = [fold.signature, positions, shadow, text_id]
    if db.execute("UPDATE text_shadows SET fold = ?, positions = ?, shadow = ? WHERE text_id = ?", values).rowcount:
        return  # the update trigger has re-indexed it
    db.execute("INSERT INTO text_shadows (fold, positions, shadow, text_id) VALUES (?, ?, ?, ?)", values)
    db.execute("INSERT INTO texts_fts (rowid, shadow) VALUES (?, ?)", [text_id, shadow])


def reindex(db: Database, all_texts: bool = False) -> int:
    """Rebuild the shadows made by another fold (a variants.tsv edited, a new OpenCC), or every one; how many."""
    fold = fold_of(db)
    stale = "1 = 1" if all_texts else "text_shadows.fold IS NOT ?"
    sql = f"""SELECT texts.id FROM texts LEFT JOIN text_shadows ON text_shadows.text_id = texts.id
              WHERE {stale} OR text_shadows.text_id IS NULL ORDER BY texts.id"""
    ids = [row[0] for row in db.execute(sql, [] if all_texts else [fold.signature])]
    for start in range(0, len(ids), _BATCH):
        with db.atomic():
            for text_id in ids[start:start + _BATCH]:
                index_text(db, text_id, get_text(db, text_id).body, fold)
    return len(ids)


def fold_of(db: Database) -> Fold:
    """The fold of the database's data directory (with its variants.tsv); the shipped one for a database in memory."""
    path = db.execute("PRAGMA database_list").fetchone()[2]
    return load_fold(Path(path).parent if path else None)


def get_text(db: Database, text_id: int) -> Text:
    """The text with this id; UserError if there is none."""
    row = db.execute(f"SELECT {_TEXT_COLUMNS} FROM texts WHERE id = ?", [text_id]).fetchone()
    if row is None:
        raise UserError(f"No text with id {text_id}; `scriptorium corpus search` shows the ids of texts.")
    return Text(*row)


def text_hashes(db: Database, corpus_id: int) -> set[str]:
    """The content hashes already in a corpus, so an importer can skip known texts before reading them in full."""
    return {row[0] for row in db.execute("SELECT content_hash FROM texts WHERE corpus_id = ?", [corpus_id])}


def resolve_corpus(db: Database, corpus: str | int | None) -> int | None:
    """A corpus given by name or id as its id (None stands for every corpus); UserError for an unknown name."""
    if corpus is None or isinstance(corpus, int):
        return corpus
    return corpus_id(db, corpus, create=False)


def filter_sql(corpus: int | None, filters: TextFilter | None) -> tuple[str, list[Any]]:
    """A WHERE fragment over `texts` for a corpus id and metadata filters, with its parameters."""
    f = filters or TextFilter()
    where, params = ["1 = 1"], []
    for sql, value in (("texts.corpus_id = ?", corpus), ("texts.author = ?", f.author or None),
                       ("texts.collection = ?", f.collection or None), ("texts.date >= ?", f.date_from or None)):
        if value is not None:
            where.append(sql)
            params.append(value)
    if f.title:
        where.append("instr(lower(texts.title), lower(?)) > 0")
        params.append(f.title)
    if f.date_to:
        where.append("texts.date <> '' AND substr(texts.date, 1, length(?)) <= ?")
        params += [f.date_to, f.date_to]
    if f.text_ids:
        where.append("texts.id IN (SELECT value FROM json_each(?))")
        params.append("[" + ",".join(str(int(i)) for i in f.text_ids) + "]")
    return " AND ".join(where), params


def iter_texts(db: Database, corpus: str | int | None = None, filters: TextFilter | None = None) -> Iterator[Text]:
    """Texts of a corpus (or of all) that meet `filters`, in id order, read a batch at a time."""
    where, params = filter_sql(resolve_corpus(db, corpus), filters)
    last = 0
    while True:
        rows = db.execute(
            f"SELECT {_TEXT_COLUMNS} FROM texts WHERE {where} AND texts.id > ? ORDER BY texts.id LIMIT {_BATCH}",
            [*params, last],
        ).fetchall()
        yield from (Text(*row) for row in rows)
        if len(rows) < _BATCH:
            return
        last = rows[-1][0]


def _no_corpus(db: Database, name: str) -> UserError:
    names = [row[0] for row in db.execute("SELECT name FROM corpora ORDER BY name")]
    known = ", ".join(names) if names else "none yet (`scriptorium corpus import` makes one)"
    return UserError(f"No corpus named {name!r}; corpora here: {known}.")
