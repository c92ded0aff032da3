"""`scriptorium compress` and `scriptorium models advise` through the CLI root, on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from inference.models import Registry


def test_compress_registers_and_writes_report(tiny_model: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", str(tiny_model), "--type", "q8_0", "--tokens", "100", "--home", str(home), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    out = Path(result["output"])
    assert out.is_file() and out.parent == home / "models"
    assert Registry(home).get(result["registered"]).path == out.resolve()
    assert Path(result["chart_path"]).read_bytes()[:4] == b"\x89PNG"
    assert json.loads(Path(result["report_path"]).read_text())["type"] == "Q8_0"


def test_progress_json_lines_then_result(tiny_model: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny-q4.gguf"
    args = ["compress", str(tiny_model), "--type", "Q4_0", "--out", str(out), "--tokens", "100", "--progress-json", "--home", str(home)]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["kind"] for line in lines[:-1]} == {"progress"}
    assert any(line["stage"] == "quantize Q4_0" for line in lines[:-1])
    assert lines[-1]["kind"] == "result" and lines[-1]["output"] == str(out)


def test_existing_output_needs_force(tiny_model: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "taken.gguf"
    out.write_bytes(b"keep me")
    assert main(["compress", str(tiny_model), "--type", "Q8_0", "--out", str(out), "--home", str(home)]) == 1
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"


def test_bad_input_exits_1_and_registers_nothing(bad_models: dict[str, Path], tiny_model: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", str(bad_models["not_gguf"]), "--type", "Q8_0", "--home", str(home)]) == 1
    assert "not a GGUF" in capsys.readouterr().err
    assert main(["compress", str(tiny_model), "--type", "Q7_Z", "--home", str(home)]) == 1
    assert "choose one of" in capsys.readouterr().err
    registry_file = home / "models.json"
    assert not registry_file.exists() or json.loads(registry_file.read_text())["models"] == {}
    assert not list(home.rglob("*.gguf*"))


def test_advise_70b_on_one_h100(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "advise", "llama-70b", "--gpu", "80", "--ctx", "8192", "--json", "--home", str(home)]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert advice["recommendation"]["type"] == "Q8_0"
    assert not next(r for r in advice["rows"] if r["type"] == "F16" and r["kv"] == "f16")["fits_gpu"]


def test_advise_reads_a_gguf(tiny_model: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "advise", str(tiny_model), "--ram", "8", "--gpu", "0", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "recommended: F16" in out and "RAM usable" in out


def test_compress_tasks_reports_task_accuracy_kept_beside_agreement(tiny_model: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compress", str(tiny_model), "--type", "Q8_0", "--tokens", "100", "--tasks", "--task-limit", "1", "--home", str(home), "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    tasks = result["tasks"]
    assert tasks["top1_agreement"] == result["rows"][1]["top1_agreement"]
    assert set(tasks["kept"]["tasks"]) == set(tasks["candidate"]["tasks"]) and tasks["candidate"]["all"]["total"] == 8
    assert tasks["reference"]["sha256"] != tasks["candidate"]["sha256"]
    assert Path(result["reference"]["path"]).is_file()  # the tiny model is full precision: its own reference, never removed
