"""`scriptorium corpus` end to end through the command root: import, list, search, kwic, statistics, show, delete."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest

from app.cli import main
from app.commands.corpus_text import BOLD, fit, width
from tests.corpus_texts import write_corpus, write_csv


def run(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> dict:
    """Run a corpus command with --json and return its one JSON object."""
    assert main(["corpus", *argv, "--home", str(home), "--json"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one object"
    return json.loads(out)


def fails(capsys: pytest.CaptureFixture[str], home: Path, *argv: str) -> str:
    """Run a command that must fail; return its one-sentence error."""
    assert main(["corpus", *argv, "--home", str(home)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scriptorium: "), err
    return err


@pytest.fixture
def poems(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """A data directory with the test folder imported as the corpus "tang"."""
    home = tmp_path / "home"
    report = run(capsys, home, "import", str(write_corpus(tmp_path / "texts")), "--corpus", "tang")
    assert report["imported"] == 7 and not report["skipped"] and not report["cancelled"]
    return home


def test_import_reports_and_a_second_import_reads_nothing_again(capsys, poems: Path, tmp_path: Path) -> None:
    assert main(["corpus", "import", str(tmp_path / "texts"), "--corpus", "tang", "--home", str(poems)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Imported 0 texts into 'tang'") and "6 files unchanged since they were imported" in out
    listed = run(capsys, poems, "list")["corpora"]
    assert [(c["name"], c["texts"]) for c in listed] == [("tang", 7)]


def test_search_in_chinese_folds_traditional_forms_and_in_english(capsys, poems: Path) -> None:
    page = run(capsys, poems, "search", "举头")
    assert page["total"] == 2  # 舉頭 in the traditional copy folds to 举头
    body = {h["text_id"]: run(capsys, poems, "show", str(h["text_id"]))["body"] for h in page["hits"]}
    assert sorted(body[h["text_id"]][h["start"]:h["end"]] for h in page["hits"]) == ["举头", "舉頭"]
    assert run(capsys, poems, "search", "moon", "--limit", "1")["total"] == 2
    assert run(capsys, poems, "search", "明月", "--author", "nobody")["total"] == 0
    assert main(["corpus", "search", "明月", "--home", str(poems)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 texts match '明月':") and BOLD not in out  # highlights only on a terminal


def test_records_and_a_field_mapping(capsys, poems: Path, tmp_path: Path) -> None:
    hit = run(capsys, poems, "search", "黄河")["hits"][0]
    text = run(capsys, poems, "show", str(hit["text_id"]))
    assert (text["title"], text["author"]) == ("登鹳雀楼", "王之涣")  # guessed from rhythmic, poet, paragraphs
    songs = write_csv(tmp_path / "songs.csv")
    run(capsys, poems, "import", str(songs), "--corpus", "songs", "--fields", "title=name,author=writer,body=words")
    hit = run(capsys, poems, "search", "wheat", "--corpus", "songs")["hits"][0]
    assert run(capsys, poems, "show", str(hit["text_id"]))["author"] == "Bo Chen"


def test_kwic_sorts_by_the_tokens_around_the_match_and_writes_csv(capsys, poems: Path, tmp_path: Path) -> None:
    out = tmp_path / "moon.csv"
    lines = run(capsys, poems, "kwic", "moon", "--sort", "L1", "--width", "12", "--csv", str(out))["lines"]
    assert [x["match"] for x in lines] == ["moon"] * 3
    assert [x["left"].split()[-1].lower() for x in lines] == ["the", "the", "the"]
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 3 and rows[0]["match"] == "moon"
    assert main(["corpus", "kwic", "明月", "--width", "4", "--home", str(poems)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and printed[-1] == "4 lines."
    assert len({width(line.split("明月")[0]) for line in printed[:-1]}) == 1, "matches line up in one column"


def test_freq_ngrams_collocates_keyness(capsys, poems: Path) -> None:
    freq = run(capsys, poems, "freq", "--corpus", "tang", "--limit", "3")
    assert freq["items"][0]["item"] == "the" and freq["items"][0]["rank"] == 1
    chars = run(capsys, poems, "freq", "--unit", "char", "--corpus", "tang", "--limit", "500")["items"]
    assert {"月", "明"} <= {r["item"] for r in chars}
    grams = run(capsys, poems, "ngrams", "--n", "2", "--min-count", "2")["items"]
    assert any(r["item"].replace(" ", "") == "明月" for r in grams)
    coll = run(capsys, poems, "collocates", "moon", "--window", "2,2", "--min-count", "1", "--measure", "logdice")
    assert coll["node_frequency"] == 3 and "logdice" in coll["collocates"][0]
    run(capsys, poems, "import", str(poems.parent / "texts" / "harbour.txt"), "--corpus", "harbour")
    key = run(capsys, poems, "keyness", "--target", "harbour", "--reference", "tang")
    assert {"target_tokens", "reference_tokens", "items"} <= set(key)


def test_dispersion_by_text_with_a_png(capsys, poems: Path, tmp_path: Path) -> None:
    png = tmp_path / "moon.png"
    result = run(capsys, poems, "dispersion", "明月", "--png", str(png))
    assert result["count"] == 4 and png.read_bytes().startswith(b"\x89PNG")
    assert sum(1 for p in result["parts"] if p["count"]) == 2


def test_show_at_an_offset_and_delete(capsys, poems: Path) -> None:
    hit = run(capsys, poems, "search", "故乡")["hits"][0]
    shown = run(capsys, poems, "show", str(hit["text_id"]), "--at", str(hit["start"]), "--length", "2")
    assert shown["passage"][hit["start"] - shown["start"]:][:2] in ("故乡", "故鄉")  # the traditional copy matches too
    assert run(capsys, poems, "delete", "tang")["deleted"] == "tang"
    assert run(capsys, poems, "list")["corpora"] == []


def test_errors_are_one_sentence(capsys, poems: Path, tmp_path: Path) -> None:
    assert "No corpus named 'nope'" in fails(capsys, poems, "search", "moon", "--corpus", "nope")
    assert "--fields" in fails(capsys, poems, "import", str(tmp_path), "--fields", "title")
    assert "Unknown field 'poet'" in fails(capsys, poems, "import", str(tmp_path), "--fields", "poet=author")
    assert "logdice" in fails(capsys, poems, "collocates", "moon", "--measure", "dice")
    assert "--window" in fails(capsys, poems, "collocates", "moon", "--window", "a,b")
    assert "Nothing at" in fails(capsys, poems, "import", str(tmp_path / "missing"))
    assert "No text with id 999" in fails(capsys, poems, "show", "999")
    assert "L3" in fails(capsys, poems, "kwic", "moon", "--sort", "X9")


def test_ctrl_c_cancels_an_import_cleanly_and_it_resumes(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.commands import corpus_text

    texts = write_corpus(tmp_path / "texts")
    # The first progress line stands in for a person pressing Ctrl+C while the import runs.
    monkeypatch.setattr(corpus_text.ProgressLine, "show", lambda self, text: os.kill(os.getpid(), signal.SIGINT))
    assert main(["corpus", "import", str(texts), "--corpus", "tang", "--home", str(tmp_path / "home")]) == 130
    assert "Cancelled: run the same import again to resume" in capsys.readouterr().out
    monkeypatch.undo()
    assert not run(capsys, tmp_path / "home", "import", str(texts), "--corpus", "tang")["cancelled"]
    assert run(capsys, tmp_path / "home", "list")["corpora"][0]["texts"] == 7


def test_terminal_columns_count_wide_characters_twice() -> None:
    assert width("明月 moon") == 9
    assert fit("床前明月光", 5) == "床前 " and fit("床前明月光", 4, "right") == "月光"
