"""`bench gpu`: the whole pipeline on tiny random shapes on the CPU, its figures real and consistent; no CUDA, a clear refusal."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
import torch

from inference.backends.torch_model import ModelArgs
from inference.bench import gpu, gpu_models
from inference.bench.gpu_report import targets


def _args(tmp_path: Path, **overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    gpu.add_arguments(parser)
    argv = ["--device", "cpu", "--tiny", "--out", str(tmp_path / "out")]
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}", value] if value is not True else [f"--{key.replace('_', '-')}"]
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench-gpu")
    threads = torch.get_num_threads()
    try:
        assert gpu.run(_args(out)) == 0
    finally:
        torch.set_num_threads(threads)
    return json.loads((out / "out" / "bench-gpu.json").read_text()), (out / "out" / "bench-gpu.md").read_text()


def _positive(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_every_row_is_a_real_consistent_measurement(tiny_result: tuple[dict, str]) -> None:
    result, _ = tiny_result
    assert _positive(result["bandwidth_bytes_per_s"])
    assert [(r["model"], r["precision"]) for r in result["rows"]] == [(m, p) for m in gpu.MODELS for p in gpu.PRECISIONS]
    for r in result["rows"]:
        assert "error" not in r and "skipped" not in r, r
        for key in ("ttft_ms", "decode_tps", "ms_per_token", "bytes_per_token", "limit_ms_per_token", "bandwidth_fraction"):
            assert _positive(r[key]), (key, r)
        assert r["decode_tps"] == pytest.approx(1000 / r["ms_per_token"])
        assert r["bandwidth_fraction"] == pytest.approx(r["limit_ms_per_token"] / r["ms_per_token"])
        assert r["limit_ms_per_token"] == pytest.approx(1000 * r["bytes_per_token"] / result["bandwidth_bytes_per_s"])
        assert r["bytes_per_token"] == sum(v for k, v in r["bytes"].items() if k != "total")
        assert r["finite_logits"] and r["energy_j_per_token"] is None and r["energy_tokens"] > 0
    assert result["energy_method"] is None  # no NVML on the CPU: no figure, and the card says so


def test_quantized_rows_read_fewer_bytes_in_the_ratio_of_their_weights(tiny_result: tuple[dict, str]) -> None:
    rows = {(r["model"], r["precision"]): r["bytes"] for r in tiny_result[0]["rows"]}
    for model in gpu.MODELS:
        bf16, int8, int4 = (rows[(model, p)]["weights"] for p in gpu.PRECISIONS)
        assert int8 == pytest.approx(bf16 / 2, rel=0.02)  # one bf16 scale a row
        assert int4 == pytest.approx(bf16 / 4 * (1 + 8 / gpu_models.INT4_GROUP), rel=0.02)  # a scale and a zero a group
        assert rows[(model, "int4")]["kv"] == rows[(model, "bf16")]["kv"] > 0


def test_self_speculation_section_decodes_the_plain_tokens(tiny_result: tuple[dict, str]) -> None:
    s = tiny_result[0]["skip"]
    assert s["same_tokens"] == {"skip": True, "auto": True}
    assert s["skip"] and all(0 < i < s["n_layer"] - 1 for i in s["skip"])
    assert _positive(s["plain_tps"]) and _positive(s["skip_tps"]) and s["speedup"] == pytest.approx(s["skip_tps"] / s["plain_tps"])
    assert 0 <= s["acceptance"] <= 1


def test_the_card_shows_the_rows_targets_and_sections(tiny_result: tuple[dict, str]) -> None:
    result, card = tiny_result
    assert card.count("| Llama 70B-shaped |") == 3 and "of bandwidth limit" in card
    assert "target 70b int4 ≥ 70%" in card and "target 8b int4 ≥ 50%" in card
    assert "Self-speculation (layer skipping)" in card and "llama.cpp CUDA: not measured" in card
    assert f"{result['rows'][0]['decode_tps']:.1f}" in card


def test_what_does_not_fit_is_skipped_with_its_arithmetic() -> None:
    args = ModelArgs.llama_shape("70b")
    assert 139e9 < gpu_models.weight_bytes(args, "bf16") < 145e9  # so 139 GiB cannot hold it
    assert 35e9 < gpu_models.weight_bytes(args, "int4") < 40e9
    rows = [{"model": "70b", "precision": "int4", "bandwidth_fraction": 0.71}]
    assert targets(rows)[0]["met"] is True and targets(rows)[1]["measured"] is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_it_needs_a_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    gpu.add_arguments(parser)
    assert gpu.run(parser.parse_args([])) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
