"""The import job: files and folders into a corpus, every file tried, committed a batch at a time by the writer
(writer.py) while the next files are read; resumable and cancellable.

A file is skipped with its reason, never aborting the rest; a text already in the corpus is counted as a
duplicate; a file whose size, mtime (and field mapping) match a finished entry of the journal is not read
again; a file an earlier import was cut off in goes on after the texts that import committed.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from sqlite_utils import Database

from app.corpus.importers import journal
from app.corpus.importers.base import ReadOptions, SkipFile
from app.corpus.importers.dispatch import READERS, RECORD_FORMATS, Reader, file_format
from app.corpus.importers.journal import Entry
from app.corpus.importers.tabular import check_fields
from app.corpus.importers.writer import Writer
from app.corpus.records import TextRecord
from app.corpus.store import Prepared, corpus_id, fold_of, prepare
from app.errors import UserError
from app.store import open_db

log = logging.getLogger(__name__)

# Texts of one file committed in one transaction: a kill loses at most this many of a long record file (read
# again on resume), where a commit per text would make a 300,000-poem import wait on the disk 300,000 times.
BATCH = 100
# Finished files are committed together once this many characters or seconds have gathered: FTS5 writes a new
# segment at every commit and merges them as they pile up, which at a commit per file was a fifth of an import.
# A kill loses at most these, and the journal, committed with them, has the next import read them again.
COMMIT_CHARS = 4_000_000
COMMIT_SECONDS = 2.0


@dataclass(frozen=True)
class ImportProgress:
    """How far an import is: files and bytes done of all, and the file being read with its texts read so far."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""
    records: int = 0


@dataclass
class ImportReport:
    """What an import did: texts added, duplicates and unchanged files left out, files skipped and why."""

    imported: int = 0
    duplicates: int = 0
    unchanged: int = 0  # files not read again: as they were when an earlier import finished them
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    encodings: dict[str, int] = field(default_factory=dict)  # files read in each detected encoding
    seconds: float = 0.0
    bytes: int = 0  # of the files read
    cancelled: bool = False


@dataclass(frozen=True)
class FoundFile:
    """A file to import, with the size and mtime that tell whether it changed since an earlier import."""

    path: Path
    size: int
    mtime_ns: int


def run_import(
    home: Path,
    paths: list[Path],
    corpus: str,
    fields: dict[str, str] | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
) -> ImportReport:
    """Import files and folders into the corpus `corpus` (created if new), on a connection of its own."""
    started = time.monotonic()
    options = ReadOptions(fields=_mapping(fields))
    files, skipped = find_files(paths, options.max_folder_depth)
    db = open_db(home)  # read only here: the writer has a connection of its own
    try:
        cid = corpus_id(db, corpus)
        writer = Writer(home, cid)
        try:
            job = _Job(db, writer, options, files, progress, _cancel_check(cancel))
            job.report.skipped += skipped
            job.run()
        finally:
            writer.close()  # what was submitted is committed, also when the job failed
        job.report.imported, job.report.duplicates = writer.imported, writer.duplicates
    finally:
        db.close()
    job.report.seconds = time.monotonic() - started
    return job.report


def find_files(paths: Iterable[Path], max_depth: int) -> tuple[list[FoundFile], list[tuple[str, str]]]:
    """The files named and those in the folders named (sorted, hidden ones left out), each once; and what was not found."""
    found: dict[Path, FoundFile] = {}
    skipped: list[tuple[str, str]] = []
    for given in paths:
        top = Path(given).expanduser().resolve()
        if not top.exists():
            skipped.append((str(given), "no such file or folder"))
            continue
        for path in _walk(top, max_depth, skipped) if top.is_dir() else [top]:
            if path not in found and (file := _found(path, skipped)):
                found[path] = file
    return list(found.values()), skipped


def _walk(top: Path, max_depth: int, skipped: list[tuple[str, str]]) -> Iterator[Path]:
    """Files under a folder in sorted order, hidden files and folders left out, at most `max_depth` folders deep."""

    def failed(exc: OSError) -> None:
        skipped.append((str(exc.filename), f"cannot be read ({exc.strerror})"))

    # os.walk does not follow symlinked folders, so a link loop cannot make the walk endless.
    for folder, dirs, names in os.walk(top, onerror=failed):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if dirs and len(Path(folder).relative_to(top).parts) >= max_depth:
            skipped.append((folder, f"holds folders more than {max_depth} levels deep; import those on their own"))
            dirs.clear()
        yield from (Path(folder, name) for name in sorted(names) if not name.startswith("."))


def _found(path: Path, skipped: list[tuple[str, str]]) -> FoundFile | None:
    try:
        st = path.stat()
    except OSError as exc:
        skipped.append((str(path), f"cannot be read ({exc.strerror})"))
        return None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block the import or never end
        skipped.append((str(path), "not a regular file"))
        return None
    return FoundFile(path, st.st_size, st.st_mtime_ns)


def _mapping(fields: dict[str, str] | None) -> dict[str, str] | None:
    """A field mapping checked before any work: known field names, and a body to read the text from."""
    if not fields:
        return None
    mapping = check_fields(fields)
    if "body" not in mapping:
        raise UserError("The field mapping names no body: say which column or key holds the text (body=KEY).")
    return mapping


def _cancel_check(cancel: threading.Event | Callable[[], bool] | None) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    return cancel.is_set if isinstance(cancel, threading.Event) else cancel


def _guarded(reader: Reader, path: Path, options: ReadOptions) -> Iterator[TextRecord]:
    """A reader's texts, any failure of it a SkipFile: a strange file costs that file only, never the import."""
    try:
        yield from reader(path, options)
    except UserError:
        raise
    except Exception as exc:  # a library's unforeseen error on a malformed file (or a reader's bug): logged whole
        log.exception("reading %s failed", path)
        raise SkipFile(f"could not be read ({type(exc).__name__}: {exc})") from exc


class _Job:
    """One import's run over its files: the journal consulted and written per file, the report gathered."""

    def __init__(self, db: Database, writer: Writer, options: ReadOptions, files: list[FoundFile],
                 progress: Callable[[ImportProgress], None] | None, cancelled: Callable[[], bool]) -> None:
        self.db, self.writer, self.cid, self.options, self.files = db, writer, writer.corpus_id, options, files
        self.progress, self.cancelled = progress, cancelled
        self.fields_key = json.dumps(options.fields, sort_keys=True, ensure_ascii=False) if options.fields else ""
        self.report = ImportReport()
        self.files_done = self.bytes_done = 0
        self.bytes_total = sum(f.size for f in files)
        self.fold = fold_of(db)
        self.journal = journal.entries(db, self.cid)  # as earlier imports left it: this one meets each path once
        # Texts read and prepared but not yet submitted, each file's with the journal entry that records them.
        self.pending: list[tuple[Entry, list[Prepared]]] = []
        self.pending_chars, self.committed_at = 0, time.monotonic()

    def run(self) -> None:
        """Import the files in order until all are done or a cancel is seen between (or inside) files."""
        for file in self.files:
            if self.cancelled() or not self._import(file):
                self._commit()
                self.report.cancelled = True
                return
            self.files_done += 1
            self.bytes_done += file.size
            self._emit(file)
        self._commit()

    def _import(self, file: FoundFile) -> bool:
        """Read one file into the corpus, or skip it with its reason; False when cancelled inside it."""
        known = self.journal.get(str(file.path))
        same = known is not None and self._same(known, file)
        if same and known.state == "done":
            self.report.unchanged += 1
            return True
        try:
            fmt = file_format(file.path)
            fields = self.fields_key if fmt in RECORD_FORMATS else ""
            resumed = known.records if same and known.state == "reading" else 0
            entry = Entry(str(file.path), file.size, file.mtime_ns, fmt, fields, records=resumed)
            return self._read(file, entry)
        except UserError as exc:
            self._skip(file, str(exc))
            return True

    def _same(self, known: Entry, file: FoundFile) -> bool:
        """Whether a journal entry describes this file as it is now, read with the same field mapping."""
        unchanged = (known.size, known.mtime_ns) == (file.size, file.mtime_ns)
        return unchanged and (known.format not in RECORD_FORMATS or known.fields == self.fields_key)

    def _read(self, file: FoundFile, entry: Entry) -> bool:
        """Add a file's texts, after those a cut-off import committed, to the next batch; False when cancelled."""
        self._emit(file, entry.records)
        batch: list[TextRecord] = []
        for record in islice(_guarded(READERS[entry.format], file.path, self.options), entry.records, None):
            batch.append(record)
            if self.cancelled():
                self._stage(entry, batch)
                self._commit(wait=True)
                return False
            if len(batch) == BATCH:
                entry = self._stage(entry, batch)
                self._commit(wait=True)  # the progress after it counts texts committed, which a resume skips
                batch = []
                self._emit(file, entry.records)
        entry = self._stage(entry, batch, state="done")
        self.report.bytes += file.size
        if entry.encoding:
            self.report.encodings[entry.encoding] = self.report.encodings.get(entry.encoding, 0) + 1
        if self.pending_chars >= COMMIT_CHARS or time.monotonic() - self.committed_at >= COMMIT_SECONDS:
            self._commit()
        return True

    def _stage(self, entry: Entry, batch: list[TextRecord], state: str = "reading") -> Entry:
        """Prepare texts and queue them with the file's new journal entry for the next commit; the entry as it will stand."""
        encoding = entry.encoding or next((r.encoding for r in batch if r.encoding), "")
        entry = replace(entry, state=state, records=entry.records + len(batch), encoding=encoding)
        self.pending.append((entry, [prepare(record, self.fold) for record in batch]))
        self.pending_chars += sum(len(record.body) for record in batch)
        return entry

    def _commit(self, wait: bool = False) -> None:
        """Hand the queued texts and journal entries to the writer as one transaction; with `wait`, until committed."""
        if self.pending:
            self.writer.submit([entry for entry, _ in self.pending], [text for _, texts in self.pending for text in texts])
            self.pending, self.pending_chars, self.committed_at = [], 0, time.monotonic()
        if wait:
            self.writer.wait()

    def _skip(self, file: FoundFile, reason: str) -> None:
        self.report.skipped.append((str(file.path), reason))
        self.pending.append((Entry(str(file.path), file.size, file.mtime_ns, state="skipped", reason=reason), []))

    def _emit(self, file: FoundFile, records: int = 0) -> None:
        if self.progress is not None:
            self.progress(ImportProgress(
                self.files_done, len(self.files), self.bytes_done, self.bytes_total, str(file.path), records,
            ))
