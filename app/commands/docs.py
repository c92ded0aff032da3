"""`scriptorium docs`: create, list, show, import, export, rename, trash and restore documents; read their history."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from app import store
from app.commands.story import add_notes_arguments, run_notes
from app.errors import UserError
from app.formats import EXPORTERS, export_document, import_file
from app.formats.blocks import first_heading
from app.formats.encoding import decode_bytes, read_text_file


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `docs` and its actions to the command line."""
    p = subparsers.add_parser("docs", help="manage documents", description=__doc__)
    sub = p.add_subparsers(dest="docs_command", metavar="ACTION", required=True)

    def leaf(name: str, handler, help: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, parents=[parent], help=help, description=help)
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(handler=handler)
        return q

    q = leaf("new", run_new, "create a document, empty or from text")
    q.add_argument("--title", help="title (default: the text's first heading, the file name or 'Untitled')")
    q.add_argument("--text-file", metavar="F|-", help="initial text from a file in any text encoding, or - for stdin")
    q.add_argument("--format", choices=store.FORMATS, default="markdown", help="how the text is read (default markdown)")
    q = leaf("list", run_list, "documents, most recently changed first")
    q.add_argument("--all", action="store_true", help="include documents in the trash")
    q.add_argument("--filter", default="", metavar="TEXT", help="only documents whose title or text contains TEXT")
    q = leaf("show", run_show, "print a document's text")
    q.add_argument("id", type=int)
    q.add_argument("--revision", type=int, metavar="N", help="print revision N instead (see `docs history`)")
    leaf("import", run_import, "import .md, .txt or .docx files as new documents").add_argument("files", nargs="+", type=Path, metavar="FILE")
    q = leaf("export", run_export, "write a document to .md, .txt, .docx, .odt or .epub")
    q.add_argument("id", type=int)
    q.add_argument("file", type=Path)
    q.add_argument("--format", choices=tuple(EXPORTERS), help="file format (default: the file's extension)")
    leaf("history", run_history, "a document's revisions, newest first").add_argument("id", type=int)
    q = leaf("revert", run_revert, "make an old revision current again (recorded as a new revision)")
    q.add_argument("id", type=int)
    q.add_argument("revision", type=int, metavar="N")
    q = leaf("rename", run_rename, "give a document a new title")
    q.add_argument("id", type=int)
    q.add_argument("title")
    leaf("trash", run_trash, "move a document to the trash").add_argument("id", type=int)
    leaf("restore", run_restore, "take a document out of the trash").add_argument("id", type=int)
    q = leaf("purge", run_purge, "delete a document for good from the library, its backups and the session caches, "
             "with its revisions, log and notes, and compact the files so its text is gone from the disk's files")
    q.add_argument("id", type=int)
    q.add_argument("--yes", action="store_true", help="do not ask first")
    add_notes_arguments(leaf("notes", run_notes, "show or change a document's story notes and entries"))


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[Database]:
    db = store.open_db(args.home)
    try:
        yield db
    finally:
        db.close()


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> int:
    """Print the JSON object under --json, else the text a person reads."""
    print(json.dumps(payload, ensure_ascii=False) if args.json else text)
    return 0


def _when(stamp: str | None) -> str:
    """A stored UTC timestamp in the local time zone, to the minute."""
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M") if stamp else ""


def _summary(doc: store.Document) -> dict[str, Any]:
    return {k: v for k, v in doc.to_dict().items() if k != "body"} | {"chars": len(doc.body)}


def run_new(args: argparse.Namespace) -> int:
    """Create a document; print its id."""
    body = ""
    if args.text_file == "-":
        body = decode_bytes(sys.stdin.buffer.read(), "standard input").text
    elif args.text_file:
        body = read_text_file(Path(args.text_file)).text
    title = args.title or (first_heading(body) if args.format == "markdown" else None)
    title = title or (Path(args.text_file).stem if args.text_file not in (None, "-") else "Untitled")
    with _open(args) as db:
        doc = store.create_document(db, title, body, format=args.format)
    return _emit(args, {"id": doc.id, **_summary(doc)}, f"Created document {doc.id}: {doc.title}")


def run_list(args: argparse.Namespace) -> int:
    """List documents."""
    with _open(args) as db:
        docs = store.list_documents(db, args.filter, include_trashed=args.all)
    lines = [
        f"{d.id:>5}  {_when(d.updated):16}  {d.chars:>8,} chars  {d.title}{'  (in trash)' if d.trashed_at else ''}"
        for d in docs
    ]
    text = "\n".join(lines) if lines else "No documents yet; `scriptorium docs new` or `docs import FILE` adds one."
    return _emit(args, {"documents": [d.to_dict() for d in docs]}, text)


def run_show(args: argparse.Namespace) -> int:
    """Print a document's text, or one of its revisions."""
    with _open(args) as db:
        doc = store.get_document(db, args.id)
        revision = store.get_revision(db, args.revision, doc.id) if args.revision is not None else None
    body = revision.body if revision else doc.body
    if args.json:
        return _emit(args, doc.to_dict() | {"body": body, "revision": revision.to_dict() if revision else None}, "")
    sys.stdout.write(body if body.endswith("\n") or not body else body + "\n")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import files as new documents, all or none; say which encoding each text file was read in."""
    # Every file is read before anything is written, so one bad file leaves the store unchanged.
    parsed = [(path, import_file(path)) for path in args.files]
    with _open(args) as db, db.atomic():
        docs = [store.create_document(db, f.title, f.body, f.format, reason="import") for _, f in parsed]
    payload: dict[str, Any] = {"ids": [d.id for d in docs]}
    if len(docs) == 1:
        payload["id"] = docs[0].id
    payload["documents"] = [
        _summary(d) | {"source": str(path), "encoding": f.encoding} for d, (path, f) in zip(docs, parsed)
    ]
    text = "\n".join(
        f"Imported {path.name}{f' (read as {f.encoding})' if f.encoding else ''} as document {d.id}: {d.title}"
        for d, (path, f) in zip(docs, parsed)
    )
    return _emit(args, payload, text)


def run_export(args: argparse.Namespace) -> int:
    """Write a document to a file."""
    with _open(args) as db:
        doc = store.get_document(db, args.id)
    path = export_document(doc, args.file, args.format)
    fmt = args.format or path.suffix.lstrip(".").lower()
    return _emit(args, {"id": doc.id, "path": str(path), "format": fmt}, f"Wrote document {doc.id} to {path}")


def run_history(args: argparse.Namespace) -> int:
    """List a document's revisions."""
    with _open(args) as db:
        doc = store.get_document(db, args.id)
        revisions = store.list_revisions(db, doc.id)
    lines = [f"{'rev':>6}  {'saved':16}  {'chars':>8}  reason"]
    lines += [f"{r.id:>6}  {_when(r.created):16}  {r.chars:>8,}  {r.reason}" for r in revisions]
    text = "\n".join(lines) if revisions else f"Document {doc.id} has no saved revisions yet."
    return _emit(args, {"id": doc.id, "title": doc.title, "revisions": [r.to_dict() for r in revisions]}, text)


def run_revert(args: argparse.Namespace) -> int:
    """Restore an old revision's text as the current text."""
    with _open(args) as db:
        revision = store.restore_revision(db, args.id, args.revision)
    if revision is None or revision.reason != f"restore rev {args.revision}":
        return _emit(args, {"id": args.id, "revision": None}, f"Document {args.id} already has that text.")
    return _emit(args, {"id": args.id, "revision": revision.to_dict()},
                 f"Document {args.id} now has the text of revision {args.revision} (saved as revision {revision.id}).")


def run_rename(args: argparse.Namespace) -> int:
    """Rename a document."""
    with _open(args) as db:
        doc = store.rename_document(db, args.id, args.title)
    return _emit(args, _summary(doc), f"Document {doc.id} is now titled {doc.title!r}.")


def run_trash(args: argparse.Namespace) -> int:
    """Move a document to the trash."""
    with _open(args) as db:
        doc = store.trash_document(db, args.id)
    return _emit(args, _summary(doc), f"Moved document {doc.id} to the trash; `scriptorium docs restore {doc.id}` brings it back.")


def run_restore(args: argparse.Namespace) -> int:
    """Take a document out of the trash."""
    with _open(args) as db:
        doc = store.restore_document(db, args.id)
    return _emit(args, _summary(doc), f"Restored document {doc.id}: {doc.title}")


def run_purge(args: argparse.Namespace) -> int:
    """Purge a document everywhere Scriptorium keeps it, after asking (unless --yes)."""
    from app.desk.purge import purge

    with _open(args) as db:
        doc = store.get_document(db, args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f"Purging document {doc.id} ({doc.title}) cannot be undone; pass --yes to do it.")
        if input(f"Purge document {doc.id} ({doc.title}) for good, from the backups too? [y/N] ").strip().lower() not in ("y", "yes"):
            return _emit(args, {"id": doc.id, "purged": False}, "Nothing was purged.")
    done = purge(args.home, doc.id)
    return _emit(args, {"id": doc.id, "purged": True, **done.to_dict()}, done.sentence())
