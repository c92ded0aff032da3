"""Privacy at rest: a private data directory (0700, its files 0600), logs without document text at INFO, and
`docs purge` leaving no byte of a document's text in any file of the data directory."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from app.cli import main
from app.corpus.search import sync_manuscript
from app.store import create_document, open_db, save_body, session_key
from app.store.db import vacuum
from app.store.story_notes import set_notes
from inference.models import Registry
from inference.paths import home_dir

SENTENCE = "Quillfeather marmalade drifted over the velvet harbour at dusk."
RARE = b"quillfeather"  # one word of it, as the full-text index keeps words (folded to lower case)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _new_document(home: Path, tmp_path: Path, body: str = SENTENCE) -> None:
    source = tmp_path / "draft.txt"
    source.write_text(body)
    assert main(["docs", "new", "--title", "Draft", "--text-file", str(source), "--home", str(home)]) == 0


def _files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_the_data_directory_and_its_files_are_private_from_creation(tmp_path: Path, tiny_model: Path) -> None:
    home = tmp_path / "fresh" / "home"
    _new_document(home, tmp_path)  # the command creates the directory
    Registry(home).use(str(tiny_model))
    assert main(["docs", "list", "--home", str(home)]) == 0  # the day's backup
    db = open_db(home)  # while open, the -wal and -shm exist
    from inference.cache import Identity, StateStore

    StateStore(home / "cache.db", Identity("m", "l", "s"), 2**20).close()
    from app.ui.main_window import window_settings

    settings = window_settings(home)
    settings.setValue("zoom", 1)
    settings.sync()
    files = {p.relative_to(home).as_posix() for p in _files(home)}
    assert {"scriptorium.db", "scriptorium.db-wal", "scriptorium.db-shm", "cache.db", "models.json", "window.ini"} <= files
    assert any(f.startswith("backups/") for f in files)
    assert _mode(home) == 0o700 and _mode(home / "backups") == 0o700
    assert {f: oct(_mode(home / f)) for f in files} == {f: oct(0o600) for f in files}
    db.close()


def test_an_older_data_directory_is_made_private_at_start_and_nothing_else_is_touched(home: Path, tmp_path: Path) -> None:
    (home / "models").mkdir()
    for name in ("scriptorium.db", "cache.db-wal", "models.json", "models/old.gguf", "notes-of-mine.txt"):
        (home / name).write_bytes(b"")
        (home / name).chmod(0o644)
    outside = tmp_path / "elsewhere.gguf"
    outside.write_bytes(b"")
    outside.chmod(0o644)
    (home / "models" / "linked.gguf").symlink_to(outside)
    home.chmod(0o755)
    home_dir(home)
    assert _mode(home) == 0o700 and _mode(home / "models") == 0o700
    assert [_mode(home / n) for n in ("scriptorium.db", "cache.db-wal", "models.json", "models/old.gguf")] == [0o600] * 4
    assert _mode(home / "notes-of-mine.txt") == 0o644 and _mode(outside) == 0o644  # not Scriptorium's


def test_logs_at_info_hold_no_document_text(home: Path, tmp_path: Path, tiny_model: Path, caplog, capfd,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("SCRIPTORIUM_LOG", "INFO")  # the worker's level; its stderr is this process's fd 2
    Registry(home).use(str(tiny_model))
    _new_document(home, tmp_path)
    assert main(["write", "continue", "--doc", "1", "--max-tokens", "8", "--home", str(home)]) == 0
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(SENTENCE * 3)
    assert main(["corpus", "import", str(tmp_path / "corpus"), "--corpus", "c", "--home", str(home)]) == 0
    assert main(["docs", "import", str(tmp_path / "corpus" / "a.txt"), "--home", str(home)]) == 0
    logged = caplog.text + capfd.readouterr().err
    assert "backed up the library" in logged  # INFO records were captured
    assert "Quillfeather" not in logged and "marmalade" not in logged


def test_purge_leaves_no_byte_of_the_text_in_any_file(home: Path, tmp_path: Path, tiny_model: Path, capsys) -> None:
    Registry(home).use(str(tiny_model))
    _new_document(home, tmp_path, SENTENCE + " One.")
    _new_document(home, tmp_path, "Another document stays.")
    db = open_db(home)
    save_body(db, 1, SENTENCE + " Two.", "save")
    save_body(db, 1, (SENTENCE + " ") * 10, "save")  # past one 128-token batch: a state is saved at its end
    set_notes(db, 1, SENTENCE)
    sync_manuscript(db)
    db.close()
    assert main(["write", "continue", "--doc", "1", "--max-tokens", "8", "--home", str(home)]) == 0
    assert main(["docs", "list", "--home", str(home)]) == 0  # the day's backup holds the document too
    cache = sqlite3.connect(home / "cache.db")
    assert cache.execute("SELECT count(*) FROM states WHERE doc_key = ?", [session_key(1)]).fetchone()[0] >= 1
    cache.close()
    assert any(SENTENCE.encode() in p.read_bytes() for p in _files(home) if "backups" in p.parts)
    capsys.readouterr()
    assert main(["docs", "purge", "1", "--yes", "--home", str(home)]) == 0
    assert "Purged document 1" in capsys.readouterr().out
    assert main(["docs", "show", "2", "--home", str(home)]) == 0 and "stays" in capsys.readouterr().out
    for path in _files(home):
        data = path.read_bytes()
        assert SENTENCE.encode() not in data and RARE not in data.lower(), path.relative_to(home)
    assert open_db(home).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_vacuum_takes_deleted_text_out_of_the_files_where_sqlite_would_keep_it(home: Path) -> None:
    db = open_db(home)
    db.execute("PRAGMA secure_delete = OFF")  # as most SQLite builds ship (Debian's zeroes deleted cells anyway)
    doc = create_document(db, "Gone", SENTENCE * 20)
    with db.atomic():
        db.execute("DELETE FROM documents WHERE id = ?", [doc.id])
    assert any(SENTENCE.encode() in p.read_bytes() for p in _files(home))
    assert vacuum(db)
    assert not any(SENTENCE.encode() in p.read_bytes() for p in _files(home))


def test_purge_asks_first_and_refuses_without_a_terminal(home: Path, tmp_path: Path, capsys) -> None:
    _new_document(home, tmp_path)
    assert main(["docs", "purge", "1", "--home", str(home)]) == 1
    assert "--yes" in capsys.readouterr().err
    assert main(["docs", "show", "1", "--home", str(home)]) == 0
