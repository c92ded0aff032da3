"""`scriptorium write` on the scripted worker: proofread's merged changes (--json and the terminal), and the notes of a loop or an echo."""

from __future__ import annotations

import functools
import io
import json
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.proofing.judge import CONTEXT
from inference.client import WorkerClient
from inference.degenerate import ECHO_NOTE, REPETITION_NOTE

TEXT = "Their going to the libary tomorow, weather or not it rains.\n"
MODEL_ANSWER = " They're going to the library tomorrow, whether or not it rains. The end is near."
# The fake judge: each single fix of the sentence far likelier than it (every other text costs a tenth of a nat a byte).
SCORES = json.dumps({CONTEXT + TEXT.strip().replace(old, new): -1.0 for old, new in [("Their", "They're"), ("libary", "library"),
                                                                          ("tomorow", "tomorrow"), ("weather", "whether")]})


@pytest.fixture
def fake_cli(home: Path, tiny_model: Path, monkeypatch) -> Path:
    """The CLI's worker on the fake backend, the tiny model as the default."""
    assert main(["models", "add", str(tiny_model), "--home", str(home)]) == 0
    assert main(["models", "use", tiny_model.stem, "--home", str(home)]) == 0
    monkeypatch.setattr("app.commands.write.WorkerClient", functools.partial(WorkerClient, backend="fake"))
    monkeypatch.setattr("sys.stdin", io.StringIO(TEXT))
    return home


def test_proofread_json_lists_each_change_with_its_source_reason_and_kind(fake_cli: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SCRIPTORIUM_FAKE_REPLY", MODEL_ANSWER)
    monkeypatch.setenv("SCRIPTORIUM_FAKE_SCORES", SCORES)
    assert main(["write", "proofread", "--json", "--home", str(fake_cli)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["corrected"] == "They're going to the library tomorrow, whether or not it rains.\n"
    hunks = {(h["original"], h["replacement"]): h for h in result["hunks"]}
    assert hunks[("libary", "library")]["source"] == "harper+model" and hunks[("libary", "library")]["reason"].startswith("Did you mean")
    assert hunks[("weather", "whether")]["source"] == "model" and hunks[("weather", "whether")]["kind"] == "correction"
    assert "likelier than “weather” here" in hunks[("weather", "whether")]["reason"]
    assert [h["kind"] for h in result["hunks"] if "end is near" in h["replacement"]] == ["rewording"]
    assert result["output"] == MODEL_ANSWER.strip()  # the model's own answer is kept too


def test_proofread_prints_the_corrected_text_and_the_changes_on_a_terminal(fake_cli: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SCRIPTORIUM_FAKE_REPLY", MODEL_ANSWER)
    monkeypatch.setenv("SCRIPTORIUM_FAKE_SCORES", SCORES)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["write", "proofread", "--home", str(fake_cli)]) == 0
    out, err = capsys.readouterr()
    assert out == "They're going to the library tomorrow, whether or not it rains.\n"  # rewordings not applied
    assert "harper+model: 'libary' → 'library'" in err and "(a rewording: not applied)" in err


def test_a_loop_is_cut_and_the_cli_says_so(fake_cli: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SCRIPTORIUM_FAKE_REPLY", " and the rain fell" * 12)
    assert main(["write", "continue", "--home", str(fake_cli)]) == 0
    out, err = capsys.readouterr()
    assert out == " and the rain fell\n" and REPETITION_NOTE in err


def test_an_echo_twice_is_reported(fake_cli: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SCRIPTORIUM_FAKE_REPLY", TEXT)
    assert main(["write", "summarize", "--json", "--home", str(fake_cli)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["output"] == "" and result["stop_reason"] == "echo" and result["notes"] == [ECHO_NOTE]
