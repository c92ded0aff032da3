"""The corpus import job: every file tried, the broken listed, duplicates and unchanged files left out, cancel, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.corpus.importers import ImportProgress, run_import
from app.corpus.importers.job import find_files
from app.errors import UserError
from app.store import open_db
from tests import corpus_files as files

REPO = Path(__file__).resolve().parents[1]
FIELDS = {"title": "title", "author": "author", "body": "paragraphs"}


def _texts(home: Path) -> list[tuple[str, str]]:
    db = open_db(home)
    try:
        return [tuple(row) for row in db.execute("SELECT source_path, body FROM texts ORDER BY id")]
    finally:
        db.close()


def _integrity(home: Path) -> str:
    db = open_db(home)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder of good files in every format, broken ones among them, and hidden ones to leave out."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("hidden folder", encoding="utf-8")
    (src / ".hidden.txt").write_text("hidden file", encoding="utf-8")
    (src / "gb.txt").write_bytes(files.GB18030_TEXT.encode("gb18030"))
    (src / "sub" / "big5.txt").write_bytes(files.BIG5_TEXT.encode("big5"))
    files.write_docx(src / "story.docx")
    files.write_epub(src / "book.epub", [("c1.xhtml", "<p>An epub chapter.</p>")])
    files.write_text_pdf(src / "paper.pdf", ["A paper with a text layer."])
    files.write_html(src / "page.html")
    files.write_json(src / "poems.json", files.poetry_records(3))
    files.write_jsonl(src / "sub" / "more.jsonl", files.poetry_records(2, start=3))
    files.write_truncated_docx(src / "cut.docx", tmp_path)
    files.write_zip_bomb_docx(src / "bomb.docx")
    files.write_scanned_pdf(src / "scan.pdf")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (src / "broken.json").write_text('[{"paragraphs": ["a"]}', encoding="utf-8")
    return src


def test_a_folder_imports_every_good_file_and_lists_the_broken_with_reasons(tmp_path: Path, mixed: Path) -> None:
    report = run_import(tmp_path / "home", [mixed], "mixed", fields=FIELDS)
    skipped = {Path(path).name: reason for path, reason in report.skipped}
    assert set(skipped) == {"cut.docx", "bomb.docx", "scan.pdf", "binary.txt", "broken.json"}
    assert "no text layer (scanned?)" in skipped["scan.pdf"] and "zip bomb" in skipped["bomb.docx"]
    assert report.imported == 2 + 1 + 1 + 1 + 1 + 3 + 2  # txt, docx, epub, pdf, html, json, jsonl
    assert report.encodings == {"GB18030": 1, "Big5": 1, "UTF-8": 3}  # the html, json and jsonl files
    names = [Path(source).name for source, _ in _texts(tmp_path / "home")]
    assert names[:3] == ["book.epub", "gb.txt", "page.html"]  # sorted, a folder's own files before its subfolders'
    assert not any("hidden" in body for _, body in _texts(tmp_path / "home"))
    assert report.bytes > 0 and report.seconds > 0 and not report.cancelled


def test_duplicates_are_skipped_and_counted_within_an_import_and_across_imports(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("the same words", encoding="utf-8")
    (src / "b.txt").write_text("the same words", encoding="utf-8")
    first = run_import(tmp_path / "home", [src], "c")
    assert (first.imported, first.duplicates) == (1, 1)
    (tmp_path / "c.txt").write_text("the same words", encoding="utf-8")
    second = run_import(tmp_path / "home", [tmp_path / "c.txt"], "c")
    assert (second.imported, second.duplicates) == (0, 1)


def test_reimport_reads_only_what_changed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a", "b", "c"):
        (src / f"{name}.txt").write_text(f"text {name}", encoding="utf-8")
    run_import(tmp_path / "home", [src], "c")
    (src / "b.txt").write_text("text b, revised and longer", encoding="utf-8")
    again = run_import(tmp_path / "home", [src], "c")
    assert (again.imported, again.unchanged, again.duplicates) == (1, 2, 0)
    assert again.bytes == (src / "b.txt").stat().st_size


def test_another_field_mapping_reads_a_record_file_again(tmp_path: Path) -> None:
    path = files.write_json(tmp_path / "poems.json", files.poetry_records(2))
    run_import(tmp_path / "home", [path], "c", fields=FIELDS)
    assert run_import(tmp_path / "home", [path], "c", fields=FIELDS).unchanged == 1
    retitled = run_import(tmp_path / "home", [path], "c", fields={**FIELDS, "title": "author"})
    assert (retitled.unchanged, retitled.duplicates) == (0, 2)


def test_progress_counts_files_and_bytes_and_names_the_current_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a", "b"):
        (src / f"{name}.txt").write_text(f"text {name}", encoding="utf-8")
    seen: list[ImportProgress] = []
    run_import(tmp_path / "home", [src, tmp_path / "missing.txt"], "c", progress=seen.append)
    total = sum(p.stat().st_size for p in src.iterdir())
    steps = [(p.files_done, p.files_total, Path(p.current).name) for p in seen]
    assert steps == [(0, 2, "a.txt"), (1, 2, "a.txt"), (1, 2, "b.txt"), (2, 2, "b.txt")]
    assert (seen[-1].bytes_done, seen[-1].bytes_total) == (total, total)


def test_cancel_stops_inside_a_long_record_file_and_the_next_run_goes_on(tmp_path: Path) -> None:
    path = files.write_jsonl(tmp_path / "poems.jsonl", files.poetry_records(250))
    cancel = threading.Event()

    def stop_after_a_batch(p: ImportProgress) -> None:
        if p.records >= 100:
            cancel.set()

    first = run_import(tmp_path / "home", [path], "c", fields=FIELDS, progress=stop_after_a_batch, cancel=cancel)
    assert first.cancelled and first.imported == 101  # the batch, then the text read when the cancel was seen
    rest = run_import(tmp_path / "home", [path], "c", fields=FIELDS)
    assert (rest.imported, rest.duplicates, rest.cancelled) == (149, 0, False)
    assert len(_texts(tmp_path / "home")) == 250


def test_the_walk_is_bounded_in_depth_and_leaves_out_what_is_no_regular_file(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / "a" / "top.txt").write_text("top", encoding="utf-8")
    (deep / "deep.txt").write_text("deep", encoding="utf-8")
    os.mkfifo(tmp_path / "a" / "pipe.txt")  # reading it would block the import for ever
    found, skipped = find_files([tmp_path / "a"], max_depth=1)
    assert [f.path.name for f in found] == ["top.txt"]
    assert [(Path(path).name, reason.split(";")[0]) for path, reason in skipped] == [
        ("pipe.txt", "not a regular file"), ("b", "holds folders more than 1 levels deep"),
    ]


def test_a_mapping_without_a_body_or_with_an_unknown_field_is_refused_before_work(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="names no body"):
        run_import(tmp_path / "home", [tmp_path], "c", fields={"title": "title"})
    with pytest.raises(UserError, match="Unknown field 'titel'"):
        run_import(tmp_path / "home", [tmp_path], "c", fields={"titel": "title", "body": "text"})


_KILLABLE = """
import sys, threading
from pathlib import Path
from app.corpus.importers import run_import

def block_mid_file(p):
    if p.current.endswith("poems.jsonl") and p.records >= 200:
        print("blocked", flush=True)
        threading.Event().wait()

run_import(Path(sys.argv[1]), [Path(sys.argv[2])], "c", fields={"body": "paragraphs"}, progress=block_mid_file)
print("finished", flush=True)
"""


def test_an_import_killed_mid_file_resumes_where_it_stopped_and_holds_each_text_once(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("first file", encoding="utf-8")
    (src / "b.txt").write_text("second file", encoding="utf-8")
    files.write_jsonl(src / "poems.jsonl", files.poetry_records(350))
    (src / "z.txt").write_text("last file", encoding="utf-8")
    home = tmp_path / "home"
    child = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(home), str(src)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout.readline().strip() == "blocked"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert len(_texts(home)) == 2 + 200  # two files and two committed batches of the third survived the kill
    report = run_import(home, [src], "c", fields={"body": "paragraphs"})
    assert (report.unchanged, report.imported, report.duplicates, report.skipped) == (2, 150 + 1, 0, [])
    bodies = [body for _, body in _texts(home)]
    assert len(bodies) == len(set(bodies)) == 2 + 350 + 1
    assert _integrity(home) == "ok"
