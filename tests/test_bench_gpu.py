"""`bench gpu`: the whole pipeline on tiny random shapes on the CPU, its figures real and consistent; no CUDA, a clear refusal."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference.backends.torch_model import ModelArgs
from inference.bench import gpu, gpu_models
from inference.bench.gpu_report import targets


ROOT = Path(__file__).resolve().parents[1]


def _carry(folder: Path, parts: list[bytes]) -> Path:
    """A carry folder as make gpu-carry lays it out, with a small stand-in file split in parts."""
    (folder / "model").mkdir(parents=True)
    (folder / "meta").mkdir()
    names = [f"gemma.gguf.part{i:02d}" for i in range(len(parts))]
    for name, data in zip(names, parts):
        (folder / "model" / name).write_bytes(data)
    (folder / "meta" / "parts.txt").write_text("\n".join(names) + "\n")
    (folder / "meta" / "model.sha256").write_text(hashlib.sha256(b"".join(parts)).hexdigest() + "\n")
    return folder


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """packaging/gpu_check.sh as the GPU machine runs it, in its dry mode: bench gpu --device cpu --tiny."""
    tmp = tmp_path_factory.mktemp("gpu-check")
    carry = _carry(tmp / "carry", [os.urandom(1000), os.urandom(1000), os.urandom(17)])
    env = {**os.environ, "GPU_CHECK_DRY": "1", "GPU_CHECK_CARRY": str(carry), "OUT": str(tmp / "out"), "PY": sys.executable}
    done = subprocess.run(["bash", "packaging/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return tmp / "out", done


@pytest.fixture(scope="module")
def tiny_result(dry_run: tuple[Path, subprocess.CompletedProcess]) -> tuple[dict, str]:
    out, done = dry_run
    assert done.returncode == 0, done.stdout + done.stderr + (out / "bench.log").read_text()
    return json.loads((out / "bench-gpu.json").read_text()), (out / "bench-gpu.md").read_text()


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
        args = gpu_models.TINY[model]
        head = args.vocab_size * args.dim * 2  # in bf16; int4 models keep it in int8 (QuantConfig's default head)
        # a scale and a zero a group, the head at half its bf16 bytes
        assert int4 == pytest.approx((bf16 - head) / 4 * (1 + 8 / gpu_models.INT4_GROUP) + head / 2, rel=0.02)
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


def test_the_gpu_script_reassembles_the_model_and_keeps_to_its_clock(dry_run: tuple[Path, subprocess.CompletedProcess]) -> None:
    out, done = dry_run
    log = (out / "gpu-check.log").read_text()
    assert "model: reassembled from 3 parts, sha256 ok" in log
    assert "wheels: none in" in log and "llama.cpp: skipped (no sdist" in log
    assert "bench gpu: exit 0" in log and (out / "device.txt").is_file()
    seconds = int(log.strip().splitlines()[-1].split("done in ")[1].rstrip("s"))
    assert seconds < 460  # the script's own limit, under the 8 minutes of the device call
    assert len(list(out.iterdir())) <= 8  # the device tool returns at most 8 files


def _check_carry(carry: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "packaging/gpu_carry.sh", "--check"], cwd=ROOT, env={**os.environ, "GPU_CARRY": str(carry)},
                          capture_output=True, text=True, timeout=60)


def test_the_carry_check_refuses_a_call_over_64_mib(tmp_path: Path) -> None:
    carry = _carry(tmp_path / "carry", [b"x" * 1000])
    assert _check_carry(carry).returncode == 0
    with open(carry / "model" / "gemma.gguf.part01", "wb") as f:
        f.truncate(70 * 2**20)  # sparse: the check counts apparent bytes, as the device tool does
    done = _check_carry(carry)
    assert done.returncode != 0 and "over the device tool's 64 MiB: " in done.stdout


@pytest.mark.skipif(not (ROOT / ".gpu_carry" / "meta" / "parts.txt").is_file(), reason="no .gpu_carry here (make gpu-carry prepares it)")
def test_the_prepared_carry_fits_every_device_call() -> None:
    done = _check_carry(ROOT / ".gpu_carry")
    assert done.returncode == 0, done.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_it_needs_a_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    gpu.add_arguments(parser)
    assert gpu.run(parser.parse_args([])) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err
