"""`scriptorium docs` end to end through the command root, with --home and --json."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from app.cli import main


def run(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> dict:
    """Run a docs command with --json and return its one JSON object."""
    assert main(["docs", *argv, "--home", str(home), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one object"
    return json.loads(out)


def test_new_list_show_rename_trash_restore(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    text = tmp_path / "draft.md"
    text.write_text("# Harbour\n\nBoats at dawn.", encoding="utf-8")
    first = run(capsys, home, "new", "--title", "Letter")["id"]
    second = run(capsys, home, "new", "--text-file", str(text))["id"]
    assert [d["id"] for d in run(capsys, home, "list")["documents"]] == [second, first]
    shown = run(capsys, home, "show", str(second))
    assert (shown["title"], shown["body"]) == ("Harbour", "# Harbour\n\nBoats at dawn.")
    assert run(capsys, home, "rename", str(first), "Dear Ada")["title"] == "Dear Ada"
    assert run(capsys, home, "trash", str(first))["trashed_at"]
    assert [d["id"] for d in run(capsys, home, "list")["documents"]] == [second]
    assert len(run(capsys, home, "list", "--all")["documents"]) == 2
    assert run(capsys, home, "restore", str(first))["trashed_at"] is None


def test_new_from_stdin(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("床前明月光\n".encode("utf-16"))))
    doc_id = run(capsys, tmp_path, "new", "--text-file", "-", "--format", "text")["id"]
    shown = run(capsys, tmp_path, "show", str(doc_id))
    assert (shown["title"], shown["body"], shown["format"]) == ("Untitled", "床前明月光\n", "text")


def test_import_export_history(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("plain notes", encoding="utf-8")
    story = tmp_path / "story.md"
    story.write_text("# Story\n\nOnce.", encoding="utf-8")
    imported = run(capsys, tmp_path, "import", str(notes), str(story))
    assert [d["title"] for d in imported["documents"]] == ["notes", "Story"]
    story_id = imported["ids"][1]
    out = tmp_path / "story.epub"
    assert run(capsys, tmp_path, "export", str(story_id), str(out))["format"] == "epub"
    assert zipfile.ZipFile(out).namelist()[0] == "mimetype"
    odt = run(capsys, tmp_path, "export", str(story_id), str(tmp_path / "story.bin"), "--format", "odt")
    assert odt["format"] == "odt" and zipfile.is_zipfile(odt["path"])
    history = run(capsys, tmp_path, "history", str(story_id))["revisions"]
    assert [r["reason"] for r in history] == ["import"]
    assert run(capsys, tmp_path, "show", str(story_id), "--revision", str(history[0]["id"]))["body"] == "# Story\n\nOnce."


def test_import_says_which_encoding_a_text_was_read_in(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    poem = tmp_path / "poem.txt"
    poem.write_bytes("春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。\n".encode("gb18030"))
    assert main(["docs", "import", str(poem), "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "Imported poem.txt (read as GB18030) as document 1: poem\n"
    story = tmp_path / "story.md"
    story.write_text("# Story", encoding="utf-8")
    assert run(capsys, tmp_path, "import", str(story))["documents"][0]["encoding"] == "UTF-8"


def test_revert_is_recorded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from app.store import open_db, save_body

    doc_id = run(capsys, tmp_path, "new", "--title", "T")["id"]
    db = open_db(tmp_path)
    first = save_body(db, doc_id, "one")
    save_body(db, doc_id, "two")
    db.close()
    assert run(capsys, tmp_path, "revert", str(doc_id), str(first.id))["revision"]["reason"] == f"restore rev {first.id}"
    assert run(capsys, tmp_path, "show", str(doc_id))["body"] == "one"


def test_errors_are_one_sentence_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["docs", "show", "7", "--home", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "scriptorium: No document with id 7; `scriptorium docs list` shows the ids.\n"
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)))
    good = tmp_path / "good.md"
    good.write_text("fine")
    assert main(["docs", "import", str(good), str(binary), "--home", str(tmp_path)]) == 1
    assert "binary file" in capsys.readouterr().err
    assert run(capsys, tmp_path, "list")["documents"] == [], "a failed import adds nothing"


def test_plain_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["docs", "list", "--home", str(tmp_path)]) == 0
    assert "No documents yet" in capsys.readouterr().out
    assert main(["docs", "new", "--title", "Plain", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "Created document 1: Plain\n"
    assert main(["docs", "show", "1", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""
