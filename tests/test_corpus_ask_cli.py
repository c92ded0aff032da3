"""`scriptorium corpus similar` and `corpus ask` through the CLI root: modes, places, refusals that load no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.store import list_generations, open_db

TOWN = ("The mill by the river was built in 1820 by the Carter family. It ground corn for a century.\n\n"
        "In winter the river froze, and the children skated from the bridge to the church.")


@pytest.fixture
def town(home: Path, tmp_path: Path) -> Path:
    path = tmp_path / "town.txt"
    path.write_text(TOWN, encoding="utf-8")
    assert main(["corpus", "import", str(path), "--corpus", "town", "--home", str(home), "--json"]) == 0
    return home


def test_similar_gives_passages_with_their_place(town: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["corpus", "similar", "Who built the mill?", "--corpus", "town", "--json", "--home", str(town)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["asked"] == "hybrid" and found["mode"] == "bm25" and "No embeddings" in found["note"]
    best = found["passages"][0]
    assert TOWN[best["start"] : best["end"]] == best["text"] and "Carter" in best["text"]
    assert main(["corpus", "similar", "Who built the mill?", "--corpus", "town", "--mode", "bm25", "--home", str(town)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].endswith(" by BM25 (words):")
    assert f"characters {best['start']:,}–{best['end']:,}" in text


def test_ask_refuses_an_off_topic_question_without_a_model(town: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["corpus", "ask", "What is the capital of Australia?", "--corpus", "town", "--json", "--home", str(town)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["refused"] and answer["answer"] == "" and answer["sources"] == []
    assert list_generations(open_db(town)) == []  # nothing was generated, so nothing was logged


def test_ask_answers_and_logs_the_generation(town: Path, tiny_model: Path, capsys) -> None:
    assert main(["models", "add", str(tiny_model), "--home", str(town)]) == 0
    capsys.readouterr()
    argv = ["corpus", "ask", "Who built the mill?", "--corpus", "town", "--model", tiny_model.stem, "--home", str(town)]
    assert main([*argv, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert not answer["refused"] and answer["answer"].startswith("[")  # the random tiny model, begun with "["
    assert answer["sources"][0]["number"] == 1 and "Carter" in answer["sources"][0]["text"]
    [logged] = list_generations(open_db(town))
    assert logged.task == "answer" and logged.output == answer["answer"]
    assert main(argv) == 0
    assert "Sources:\n  [1] town" in capsys.readouterr().out
