"""The encrypted library: `library encrypt | decrypt | change-passphrase`, the files it leaves (no byte of the text in
any of them), a wrong passphrase that touches nothing, backups and recovery under the key, the worker reading
cache.db under it, and a re-key killed before or after its commit point."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.store import library_key, open_db, rekey, save_body
from app.store.backups import list_backups, take
from app.store.recovery import CorruptDatabase
from inference import sqlfile
from inference.models import Registry
from tests.encryption_helpers import OTHER, PASS, RARE, SENTENCE, no_key_held, snapshot  # noqa: F401 (fixture)
from tests.encryption_helpers import files as _files

ROOT = Path(__file__).resolve().parents[1]


def _cli(*argv: str, home: Path, env: dict[str, str] | None = None) -> int:
    """Run a command with these environment variables set for it alone (passphrases, as a script gives them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        return main([*argv, "--home", str(home)])


def _library_with_the_sentence(home: Path, tmp_path: Path, tiny_model: Path) -> None:
    """A document, a revision, a corpus text, a generation log entry, a cached state and a backup, all holding it."""
    Registry(home).use(str(tiny_model))
    source = tmp_path / "draft.txt"
    source.write_text(SENTENCE)
    assert main(["docs", "new", "--title", "Draft", "--text-file", str(source), "--home", str(home)]) == 0
    db = open_db(home)
    save_body(db, 1, (SENTENCE + " ") * 10, "save")  # past one 128-token batch: a state is saved at its end
    db.close()
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(SENTENCE * 3)
    assert main(["corpus", "import", str(tmp_path / "corpus"), "--corpus", "c", "--home", str(home)]) == 0
    assert main(["write", "continue", "--doc", "1", "--max-tokens", "4", "--home", str(home)]) == 0
    assert list_backups(home)  # the day's first start backed the library up
    assert all(not sqlfile.is_encrypted(p) for p in rekey.library_files(home))
    assert any(SENTENCE.encode() in p.read_bytes() for p in _files(home) if p.name == "cache.db" or "backups" in p.parts)


def _leaks(home: Path) -> list[str]:
    return [p.relative_to(home).as_posix() for p in _files(home)
            if SENTENCE.encode() in (data := p.read_bytes()) or RARE in data.lower()]


def test_an_encrypted_library_holds_no_byte_of_its_text_and_opens_again_with_its_passphrase(
        home: Path, tmp_path: Path, tiny_model: Path, capsys) -> None:
    _library_with_the_sentence(home, tmp_path, tiny_model)
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    assert "Encrypted: 3 file(s)" in capsys.readouterr().out
    files = rekey.library_files(home)
    assert {p.name for p in files} >= {"scriptorium.db", "cache.db"} and any("backups" in p.parts for p in files)
    assert all(sqlfile.is_encrypted(p) for p in files)
    assert _leaks(home) == []
    marker = (home / library_key.MARKER).read_text()
    assert PASS not in marker and json.loads(marker)["kdf"] == library_key.KDF and oct(os.stat(home / library_key.MARKER).st_mode & 0o777) == "0o600"

    sqlfile.hold_key(home, None)  # a new process: nothing held
    with pytest.raises(library_key.LibraryLocked):
        open_db(home)
    capsys.readouterr()
    env = {"SCRIPTORIUM_PASSPHRASE": PASS}
    assert _cli("docs", "show", "1", home=home, env=env) == 0
    assert SENTENCE in capsys.readouterr().out
    sqlfile.hold_key(home, None)
    assert _cli("corpus", "search", "quillfeather", "--json", home=home, env=env) == 0  # FTS5 under SQLCipher
    assert "Quillfeather" in capsys.readouterr().out
    db = open_db(home)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM generations").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] >= 2
    db.close()
    assert _leaks(home) == []  # the -wal and -shm of the reopened library too


def test_a_wrong_passphrase_is_a_clear_error_that_touches_nothing(home: Path, capsys) -> None:
    assert main(["docs", "new", "--title", SENTENCE, "--home", str(home)]) == 0
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    sqlfile.hold_key(home, None)
    before = snapshot(home)
    capsys.readouterr()
    assert _cli("docs", "list", home=home, env={"SCRIPTORIUM_PASSPHRASE": OTHER}) == 1
    assert "That passphrase does not open this library; nothing was changed" in capsys.readouterr().err
    assert main(["docs", "list", "--home", str(home)]) == 1  # no passphrase, no terminal to ask on
    assert "--passphrase-stdin" in capsys.readouterr().err
    assert snapshot(home) == before  # every file's bytes and mtime
    assert sqlfile.held_key(home) is None


def test_decrypt_and_change_passphrase_round_trip(home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert main(["docs", "new", "--title", "Draft", "--home", str(home)]) == 0
    db = open_db(home)
    save_body(db, 1, SENTENCE, "save")
    db.close()
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    sqlfile.hold_key(home, None)
    monkeypatch.setattr(sys, "stdin", _Lines(f"{PASS}\n{OTHER}\n"))  # --passphrase-stdin: the current, then the new
    assert main(["library", "change-passphrase", "--passphrase-stdin", "--home", str(home)]) == 0
    sqlfile.hold_key(home, None)
    assert _cli("docs", "list", home=home, env={"SCRIPTORIUM_PASSPHRASE": PASS}) == 1
    assert _leaks(home) == []
    capsys.readouterr()
    assert _cli("library", "decrypt", home=home, env={"SCRIPTORIUM_PASSPHRASE": OTHER}) == 0
    assert "Decrypted" in capsys.readouterr().out
    assert not (home / library_key.MARKER).exists()
    assert all(not sqlfile.is_encrypted(p) for p in rekey.library_files(home))
    plain = sqlite3.connect(home / "scriptorium.db")
    assert plain.execute("SELECT body FROM documents WHERE id = 1").fetchone()[0] == SENTENCE
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the library is WAL again
    plain.close()
    sqlfile.hold_key(home, None)
    assert main(["docs", "show", "1", "--home", str(home)]) == 0  # plain: no passphrase asked
    assert _cli("library", "decrypt", home=home) == 1 and "not encrypted" in capsys.readouterr().err


class _Lines:
    """A stdin that is no terminal and holds these lines."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)

    def readline(self) -> str:
        return self.lines.pop(0) if self.lines else ""

    def isatty(self) -> bool:
        return False


def test_the_worker_reads_and_writes_cache_db_under_the_key(home: Path, tmp_path: Path, tiny_model: Path, capsys) -> None:
    _library_with_the_sentence(home, tmp_path, tiny_model)
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    sqlfile.hold_key(home, None)
    capsys.readouterr()
    env = {"SCRIPTORIUM_PASSPHRASE": PASS}
    # A new worker finds the state the first one saved (before encryption) in the now encrypted cache.db ...
    assert _cli("write", "continue", "--doc", "1", "--max-tokens", "4", "--json", home=home, env=env) == 0
    stats = json.loads(capsys.readouterr().out)["stats"]
    assert stats["cache"] == "disk" and stats["tokens_reused"] > 0
    assert sqlfile.is_encrypted(home / "cache.db") and _leaks(home) == []
    # ... and what it writes there stays readable under the key only.
    conn = sqlfile.connect(home / "cache.db")
    assert conn.execute("SELECT count(*) FROM states").fetchone()[0] >= 1
    conn.close()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(home / "cache.db").execute("SELECT count(*) FROM states").fetchone()


def test_the_worker_command_line_never_carries_the_key(home: Path) -> None:
    from inference.client import key_line, worker_command

    assert "--key-on-stdin" not in worker_command(home) and key_line(home) == b""
    key = os.urandom(sqlfile.KEY_BYTES)
    sqlfile.hold_key(home, key)
    command = worker_command(home)
    assert "--key-on-stdin" in command and not any(key.hex() in part for part in command)
    assert key_line(home) == f"{key.hex()}\n".encode()


def test_backups_stay_encrypted_and_restore_under_the_key(home: Path, capsys) -> None:
    assert main(["docs", "new", "--title", "Draft", "--home", str(home)]) == 0
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    db = open_db(home)
    save_body(db, 1, SENTENCE, "save")
    backup = take(db.conn, home, "before-restore")
    save_body(db, 1, "Later text.", "save")
    db.close()
    assert sqlfile.is_encrypted(backup.path) and SENTENCE.encode() not in backup.path.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(backup.path).execute("SELECT count(*) FROM documents").fetchone()
    sqlfile.hold_key(home, None)
    env = {"SCRIPTORIUM_PASSPHRASE": PASS}
    assert _cli("library", "restore-backup", backup.name, home=home, env=env) == 0
    capsys.readouterr()
    assert main(["docs", "show", "1", "--home", str(home)]) == 0  # the key is held since the restore
    assert SENTENCE in capsys.readouterr().out
    assert sqlfile.is_encrypted(home / "scriptorium.db") and _leaks(home) == []


def test_a_damaged_encrypted_library_is_set_aside_and_its_backup_offered(home: Path) -> None:
    assert main(["docs", "new", "--title", "Draft", "--home", str(home)]) == 0  # the day's backup
    assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 0
    path = home / "scriptorium.db"
    data = bytearray(path.read_bytes())
    data[4096 + 100: 4096 + 200] = os.urandom(100)  # a page whose HMAC no longer matches
    data[100:200] = os.urandom(100)  # and page 1, which SQLCipher reads first
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase) as caught:
        open_db(home)
    damage = caught.value
    assert damage.kept.read_bytes() == bytes(data) and damage.backup is not None
    damage.restore_backup()
    db = open_db(home)
    assert [r[0] for r in db.execute("SELECT title FROM documents")] == ["Draft"]
    db.close()
    assert sqlfile.is_encrypted(path)


def test_encrypt_refuses_while_another_process_has_the_library_open(home: Path, capsys) -> None:
    assert main(["docs", "new", "--title", "Draft", "--home", str(home)]) == 0
    assert main(["docs", "list", "--home", str(home)]) == 0  # the day's backup, before the snapshot
    code = f"import sqlite3, sys; c = sqlite3.connect({str(home / 'scriptorium.db')!r}); c.execute('SELECT 1 FROM documents').fetchall(); print('open', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        before = snapshot(home)
        capsys.readouterr()
        assert _cli("library", "encrypt", home=home, env={"SCRIPTORIUM_NEW_PASSPHRASE": PASS}) == 1
        assert "in use by another Scriptorium" in capsys.readouterr().err
        assert snapshot(home) == before and not (home / library_key.MARKER).exists()
    finally:
        holder.communicate("")


def _killed_rekey(home: Path, stage: str) -> None:
    driver = subprocess.run([sys.executable, "-m", "tests.crash_driver", "rekey", stage, str(home)], cwd=ROOT,
                            env={**os.environ, "SCRIPTORIUM_NEW_PASSPHRASE": PASS}, capture_output=True, text=True, timeout=120)
    assert driver.returncode == -signal.SIGKILL, driver.stderr


def test_encryption_killed_before_its_commit_point_leaves_the_old_files_as_they_were(home: Path) -> None:
    assert main(["docs", "new", "--title", SENTENCE, "--home", str(home)]) == 0
    assert main(["docs", "list", "--home", str(home)]) == 0  # the day's backup: two files to encrypt
    before = {name: data for name, (data, _) in snapshot(home).items()}
    _killed_rekey(home, "before-commit")  # one file written to its .rekey, then SIGKILL
    after = {name: data for name, (data, _) in snapshot(home).items()}
    # SQLite's own -wal (empty) and -shm of the connection the kill cut off, and the cut-off .rekey, are new.
    assert {n: d for n, d in after.items() if not n.endswith((rekey.SUFFIX, "-shm", "-wal"))} == before
    assert all(d == b"" for n, d in after.items() if n.endswith("-wal"))
    assert not (home / library_key.MARKER).exists()
    db = open_db(home)  # still the plain library, whole
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in db.execute("SELECT title FROM documents")] == [SENTENCE]
    db.close()


def test_encryption_killed_after_its_commit_point_is_finished_by_the_next_open(home: Path) -> None:
    assert main(["docs", "new", "--title", SENTENCE, "--home", str(home)]) == 0
    assert main(["docs", "list", "--home", str(home)]) == 0  # the day's backup: two files to encrypt
    _killed_rekey(home, "after-commit")  # the marker names the new files, the first one renamed, then SIGKILL
    assert library_key.read_marker(home).pending  # type: ignore[union-attr]
    library_key.unlock(home, PASS)
    db = open_db(home)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [r[0] for r in db.execute("SELECT title FROM documents")] == [SENTENCE]
    db.close()
    assert not library_key.read_marker(home).pending  # type: ignore[union-attr]
    assert all(sqlfile.is_encrypted(p) for p in rekey.library_files(home)) and not list(home.rglob(f"*{rekey.SUFFIX}"))
    assert _leaks(home) == []


def test_commands_the_app_starts_get_its_key_on_stdin_and_leave_no_held_out_text(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                                                 capsys) -> None:
    from app.desk import compress_feed

    assert main(["docs", "new", "--title", "Draft", "--home", str(home)]) == 0
    assert "--key-on-stdin" not in compress_feed.compress_command("m.gguf", "Q8_0", str(home))
    rekey.encrypt(home, PASS)
    key = sqlfile.held_key(home)
    assert key is not None
    command = compress_feed.compress_command("m.gguf", "Q8_0", str(home))
    assert "--key-on-stdin" in command and not any(key.hex() in part for part in command)
    sqlfile.hold_key(home, None)
    monkeypatch.setattr(sys, "stdin", _Lines(f"{key.hex()}\n"))
    assert main(["docs", "list", "--key-on-stdin", "--home", str(home)]) == 0 and "Draft" in capsys.readouterr().out
    sqlfile.hold_key(home, None)
    monkeypatch.setattr(sys, "stdin", _Lines(f"{os.urandom(sqlfile.KEY_BYTES).hex()}\n"))
    assert main(["docs", "list", "--key-on-stdin", "--home", str(home)]) == 1
    assert "does not open this library" in capsys.readouterr().err and sqlfile.held_key(home) is None
    held_out = compress_feed.held_out_path(home)
    held_out.parent.mkdir(exist_ok=True)
    held_out.write_text(SENTENCE)
    compress_feed.forget_held_out(home)  # when a compression of an encrypted library ends
    assert not held_out.exists()


def test_a_worker_given_a_bad_key_line_keeps_its_caches_in_memory_and_never_logs_the_line(home: Path, caplog) -> None:
    from inference.worker import hold_key_line

    hold_key_line(home, "0123456789abcdef-not-a-key\n")
    assert sqlfile.held_key(home) is None and "not-a-key" not in caplog.text and "cache.db" in caplog.text
    key = os.urandom(sqlfile.KEY_BYTES)
    hold_key_line(home, key.hex() + "\n")
    assert sqlfile.held_key(home / "cache.db") == key
