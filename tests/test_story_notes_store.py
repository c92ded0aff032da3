"""Story notes in the store: per document, removed with it, snapshotted in each revision and restored with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from app import store
from app.errors import UserError
from app.store import story_notes as notes
from app.store.migrations import migrations


def test_notes_and_entries_belong_to_their_document(home: Path) -> None:
    db = store.open_db(home)
    doc, other = store.create_document(db, "Novel").id, store.create_document(db, "Letter").id
    notes.set_notes(db, doc, "Third person, past tense. A lighthouse on a northern island.")
    mara = notes.add_entry(db, doc, "Mara", "Mara, the keeper's daughter", "Seventeen, stubborn, counts the ships.")
    notes.add_entry(db, doc, "灯塔", "灯塔", "岛北端的白色灯塔。")
    notes.update_entry(db, mara.id, "Mara", "Mara, keeper's daughter", "Seventeen.")
    story = notes.get_story(db, doc)
    assert story.notes.startswith("Third person")
    assert [(e.name, e.keys, e.text) for e in story.entries] == [("Mara", "Mara, keeper's daughter", "Seventeen."), ("灯塔", "灯塔", "岛北端的白色灯塔。")]
    assert notes.get_story(db, other).empty
    notes.remove_entry(db, mara.id)
    assert [e.name for e in notes.get_story(db, doc).entries] == ["灯塔"]
    with pytest.raises(UserError, match="needs a name"):
        notes.add_entry(db, doc, "  ")


def test_deleting_a_document_deletes_its_notes(home: Path) -> None:
    db = store.open_db(home)
    doc = store.create_document(db, "Novel").id
    notes.set_notes(db, doc, "premise")
    notes.add_entry(db, doc, "Mara", "Mara", "a keeper")
    store.trash_document(db, doc)
    store.empty_trash(db)
    assert db.execute("SELECT COUNT(*) FROM story_entries").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM story_notes").fetchone()[0] == 0


def test_each_revision_keeps_the_notes_as_they_were_and_a_restore_brings_them_back(home: Path) -> None:
    db = store.open_db(home)
    doc = store.create_document(db, "Novel", "The lamp was lit.").id
    notes.set_notes(db, doc, "First person.")
    notes.add_entry(db, doc, "Mara", "Mara", "the keeper's daughter")
    first = store.save_body(db, doc, "The lamp was lit.", "save")  # same text, new notes: a revision of its own
    assert first is not None and json.loads(first.notes or "")["entries"][0]["name"] == "Mara"
    notes.set_notes(db, doc, "Third person.")
    for entry in notes.get_story(db, doc).entries:
        notes.remove_entry(db, entry.id)
    store.save_body(db, doc, "The lamp went out.", "save")
    assert store.save_body(db, doc, "The lamp went out.", "save").id == store.list_revisions(db, doc)[0].id  # nothing new
    store.restore_revision(db, doc, first.id)
    story = notes.get_story(db, doc)
    assert (story.notes, [e.name for e in story.entries]) == ("First person.", ["Mara"])
    assert store.get_document(db, doc).body == "The lamp was lit."
    store.restore_revision(db, doc, store.list_revisions(db, doc)[-1].id)  # the first revision, from before any notes
    assert notes.get_story(db, doc).empty


def test_an_older_database_gains_the_tables_and_its_revisions_have_no_notes(home: Path) -> None:
    db = Database(home / "scriptorium.db")
    migrations.apply(db, stop_before="m006_story_notes")
    db.execute("INSERT INTO documents (title, body, format, created, updated) VALUES ('Old', 'Kept', 'markdown', 'x', 'x')")
    db.execute("INSERT INTO revisions (document_id, body, reason, created) VALUES (1, 'Kept', 'save', '2024-01-01T00:00:00+00:00')")
    db.close()
    db = store.open_db(home)
    assert store.get_revision(db, 1).notes is None
    notes.add_entry(db, 1, "Mara", "Mara", "a keeper")
    assert store.save_body(db, 1, "Kept", "save").id == 2


def test_docs_notes_changes_them_headless_and_records_a_revision(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    db = store.open_db(home)
    doc = store.create_document(db, "Novel", "Text.").id
    premise = tmp_path / "premise.txt"
    premise.write_text("A storm, 1911.\n", encoding="utf-8")
    argv = ["docs", "notes", str(doc), "--home", str(home), "--json"]
    assert main([*argv, "--notes-file", str(premise), "--add-entry", "Mara", "--keys", "Mara, 玛拉", "--text", "A keeper."]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["notes"] == "A storm, 1911." and shown["entries"][0]["keys"] == "Mara, 玛拉"
    latest = store.get_revision(db, store.list_revisions(db, doc)[0].id)
    assert latest.reason == "notes" and json.loads(latest.notes or "")["notes"] == "A storm, 1911."
    other = store.create_document(db, "Other").id
    assert main(["docs", "notes", str(other), "--remove-entry", str(shown["entries"][0]["id"]), "--home", str(home)]) == 1
    assert "another document" in capsys.readouterr().err
