"""`scriptorium docs notes ID`: show or change a document's story notes and entries, as the window's Story notes tab does."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from pathlib import Path

from app import store
from app.formats.encoding import decode_bytes, read_text_file
from app.errors import UserError
from app.store import story_notes


def add_notes_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument("id", type=int)
    q.add_argument("--notes-file", metavar="F|-", help="replace the notes (premise, style, point of view) with a file's text, or - for stdin")
    q.add_argument("--add-entry", metavar="NAME", help="add an entry (a character, a place) with --keys and --text")
    q.add_argument("--keys", default="", help="the entry's keys: words or phrases separated by commas")
    q.add_argument("--text", default="", help="what the model is told when a key is near the cursor")
    q.add_argument("--remove-entry", type=int, metavar="ENTRY", help="remove an entry by its number")


def run_notes(args: argparse.Namespace) -> int:
    """Apply the changes asked for, record them as a revision, then print the notes and entries."""
    with closing(store.open_db(args.home)) as db:
        doc = store.get_document(db, args.id)
        if args.notes_file is not None:
            story_notes.set_notes(db, doc.id, _read(args.notes_file).rstrip("\n"))
        if args.add_entry is not None:
            story_notes.add_entry(db, doc.id, args.add_entry, args.keys, args.text)
        if args.remove_entry is not None:
            if story_notes.get_entry(db, args.remove_entry).document_id != doc.id:
                raise UserError(f"Entry {args.remove_entry} belongs to another document; `scriptorium docs notes {doc.id}` lists this one's.")
            story_notes.remove_entry(db, args.remove_entry)
        store.save_body(db, doc.id, doc.body, "notes")  # a revision only when the notes changed
        story = story_notes.get_story(db, doc.id)
    payload = {"id": doc.id, "notes": story.notes, "entries": [{"id": e.id, **e.snapshot()} for e in story.entries]}
    lines = [story.notes or "(no notes)"] + [f"[{e.id}] {e.name} — keys: {e.keys or '(none)'}\n    {e.text}" for e in story.entries]
    print(json.dumps(payload, ensure_ascii=False) if args.json else "\n".join(lines))
    return 0


def _read(name: str) -> str:
    return decode_bytes(sys.stdin.buffer.read(), "standard input").text if name == "-" else read_text_file(Path(name)).text
