"""`scriptorium write` end to end through the CLI root: streaming, --json keys, --doc logging, clean errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.cli import main
from app.store import create_document, list_generations, open_db


@pytest.fixture
def tiny_default(home: Path, tiny_model: Path) -> Path:
    assert main(["models", "add", str(tiny_model), "--home", str(home)]) == 0
    assert main(["models", "use", tiny_model.stem, "--home", str(home)]) == 0
    return home


def test_json_output_has_the_documented_keys(tiny_default: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Once upon a time"))
    assert main(["write", "continue", "--max-tokens", "8", "--temperature", "0", "--json", "--home", str(tiny_default)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["prompt"] == "Once upon a time"
    assert {"output", "model", "stats"} <= set(result)
    assert {"prompt_tokens", "tokens_reused", "generated_tokens", "ttft_ms", "tokens_per_s"} <= set(result["stats"])


def test_doc_generation_is_logged_with_the_document(tiny_default: Path, capsys) -> None:
    db = open_db(tiny_default)
    doc = create_document(db, "Draft", "The night was")
    assert main(["write", "continue", "--doc", str(doc.id), "--max-tokens", "6", "--home", str(tiny_default)]) == 0
    streamed = capsys.readouterr().out
    [logged] = list_generations(open_db(tiny_default), document_id=doc.id)
    assert logged.task == "continue" and logged.prompt == "The night was" and logged.status == "ok"
    assert logged.output and logged.output in streamed
    assert logged.stats["generated_tokens"] >= 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["write", "continue", "--doc", "99"], "No document with id 99"),
        (["write", "continue", "--text-file", "/nonexistent/file.txt"], "No file at"),
        (["write", "instruct", "--text-file", "-"], "needs an instruction"),
        (["write", "continue", "--model", "nosuchmodel"], "No model named"),
        (["models", "add", "/nonexistent.gguf"], "No model file"),
    ],
)
def test_failures_exit_non_zero_with_a_sentence(tiny_default: Path, capsys, monkeypatch, argv: list[str], message: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("text"))
    assert main(argv + ["--home", str(tiny_default)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_models_list_json(tiny_default: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["models", "list", "--json", "--home", str(tiny_default)]) == 0
    models = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in models if m["default"]] == ["tiny-llama"]


def test_write_doc_reuses_the_state_the_desk_left_for_that_document(tiny_default: Path, capsys) -> None:
    """The desk's request and `write --doc N` name the document's session cache the same way, so the CLI starts warm."""
    from app.desk.suggestion import make_ask
    from inference.client import WorkerClient

    body = "The lighthouse keeper climbed the stairs and looked out over the harbour. " * 12
    doc = create_document(open_db(tiny_default), "Harbour", body)
    ask = make_ask("continue", body, len(body), len(body), doc_id=doc.id)  # the cursor at the end, as the desk sends it
    with WorkerClient(home=tiny_default) as desk_worker:
        desk_worker.call("load_model", timeout=60)
        first = desk_worker.call("generate", timeout=60, **ask.params(), max_tokens=4, temperature=0, speculative="off")
    assert first["stats"]["tokens_reused"] == 0
    capsys.readouterr()
    argv = ["write", "continue", "--doc", str(doc.id), "--max-tokens", "4", "--temperature", "0", "--speculative", "off", "--json"]
    assert main(argv + ["--home", str(tiny_default)]) == 0
    stats = json.loads(capsys.readouterr().out)["stats"]
    assert stats["cache"] == "disk"  # a new worker process: the state came from cache.db
    assert stats["tokens_reused"] >= 128 and stats["prompt_tokens"] == first["stats"]["prompt_tokens"]
