"""Compression on the tiny model: reference rebuild, quantization knobs, fidelity, failure handling, report."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import pytest

from inference.compress import fidelity, reference, report
from inference.compress.errors import CompressError, NotEnoughDisk, UnknownQuantType
from inference.compress.pipeline import CompressRequest, compress_model, read_held_out
from inference.compress.quantize import QuantizeOptions, check_disk, quantize
from inference.compress.sweep import run_sweep
from inference.compress.types import quant_type
from inference.protocol import ModelError


def _types(path: Path) -> dict[str, str]:
    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path), "r").tensors}


@pytest.fixture(scope="module")
def tokens(tiny_model: Path) -> list[int]:
    return fidelity.tokenize(tiny_model, read_held_out(None)[0], 200)


def test_same_precision_agrees_fully_and_registers_nothing_itself(tiny_model: Path, tmp_path: Path) -> None:
    req = CompressRequest(tiny_model, QuantizeOptions("F32"), tmp_path / "same.gguf", eval_tokens=200)
    result = compress_model(req, tmp_path / "scratch")
    row = result["rows"][1]
    assert row["top1_agreement"] == 1.0
    assert row["kl_mean"] == pytest.approx(0.0, abs=1e-9)
    assert row["ppl_ratio"] == pytest.approx(1.0)
    assert row["generates"]
    assert result["reference"]["rebuilt"] is False
    assert "bundled public-domain sample" in result["held_out"]["source"]


def test_agreement_falls_as_bits_fall(tiny_model: Path, tokens: list[int], tmp_path: Path) -> None:
    evaluator = fidelity.Evaluator(tiny_model, tokens)
    try:
        scores = {}
        for qtype in ("F16", "Q8_0", "Q2_K"):
            out = quantize(tiny_model, tmp_path / f"{qtype}.gguf", QuantizeOptions(qtype), 10**6)
            scores[qtype] = evaluator.compare(out)
    finally:
        evaluator.close()
    assert scores["F16"].top1_agreement >= scores["Q8_0"].top1_agreement >= scores["Q2_K"].top1_agreement
    assert scores["F16"].kl_mean < scores["Q8_0"].kl_mean < scores["Q2_K"].kl_mean
    assert scores["Q2_K"].top1_agreement < 0.9


def test_quantized_output_loads_and_generates(tiny_model: Path, tokens: list[int], tmp_path: Path) -> None:
    out = quantize(tiny_model, tmp_path / "q8.gguf", QuantizeOptions("Q8_0"), 10**6)
    perf = fidelity.measure_performance(out, tokens[:32], n_decode=4, repeats=1)
    assert len(perf.generated) == 4
    assert perf.file_bytes < tiny_model.stat().st_size
    assert perf.prefill_tps > 0 and perf.decode_tps > 0


def test_reference_rebuilt_from_quantized_copies_metadata(tiny_model: Path, tokens: list[int], tmp_path: Path) -> None:
    q8 = quantize(tiny_model, tmp_path / "q8.gguf", QuantizeOptions("Q8_0"), 10**6)
    assert not reference.is_full_precision(q8)
    ref = reference.rebuild_reference(q8, tmp_path / "ref.gguf")
    assert reference.is_full_precision(ref)
    src_keys = {k for k in gguf.GGUFReader(str(q8), "r").fields if not k.startswith("GGUF.")}
    assert src_keys <= set(gguf.GGUFReader(str(ref), "r").fields)
    evaluator = fidelity.Evaluator(ref, tokens)
    try:
        assert evaluator.compare(q8).top1_agreement > 0.9  # the rebuilt weights are the quantized ones, dequantized
    finally:
        evaluator.close()


def test_embedding_output_and_per_tensor_types_are_applied(tiny_model: Path, tmp_path: Path) -> None:
    options = QuantizeOptions("Q4_0", embedding_type="F16", tensor_types=((r"\.attn_v\.weight$", "Q8_0"),))
    types = _types(quantize(tiny_model, tmp_path / "mixed.gguf", options, 10**6))
    assert types["token_embd.weight"] == "F16"
    assert all(t == "Q8_0" for name, t in types.items() if name.endswith("attn_v.weight"))
    assert types["blk.0.attn_q.weight"] == "Q4_0"


def test_mixed_precision_promotes_the_most_sensitive_group(tiny_model: Path, tmp_path: Path) -> None:
    req = CompressRequest(tiny_model, QuantizeOptions("Q2_K"), tmp_path / "mixed.gguf", eval_tokens=100, mixed=1)
    result = compress_model(req, tmp_path / "scratch")
    ranking = result["sensitivity"]
    assert ranking and ranking[0]["kl_removed"] >= ranking[-1]["kl_removed"]
    assert result["knobs"]["tensor_types"] == [[ranking[0]["pattern"], "Q8_0"]]


def test_unknown_type_is_refused_with_the_valid_names(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(UnknownQuantType, match="Q4_K_M"):
        quant_type("Q9_X")
    with pytest.raises(UnknownQuantType):
        compress_model(CompressRequest(tiny_model, QuantizeOptions("Q9_X"), tmp_path / "x.gguf"), tmp_path / "s")
    assert not list(tmp_path.glob("*.gguf*"))


@pytest.mark.parametrize("kind, code", [("not_gguf", "not_gguf"), ("truncated", "truncated_model"), ("missing", "model_not_found")])
def test_bad_input_is_refused_and_nothing_written(bad_models: dict[str, Path], tmp_path: Path, kind: str, code: str) -> None:
    with pytest.raises(ModelError) as info:
        compress_model(CompressRequest(bad_models[kind], QuantizeOptions("Q8_0"), tmp_path / "x.gguf"), tmp_path / "s")
    assert info.value.code == code
    assert not list(tmp_path.glob("x.gguf*"))


def test_native_failure_leaves_no_partial(bad_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "broken.gguf"
    with pytest.raises(CompressError):
        quantize(bad_models["truncated"], out, QuantizeOptions("Q8_0"), 10**6)
    assert not list(tmp_path.iterdir())


def test_interrupt_removes_the_partial_output(tiny_model: Path, tmp_path: Path) -> None:
    def interrupt(stage: str, fraction: float | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        quantize(tiny_model, tmp_path / "cut.gguf", QuantizeOptions("Q8_0"), 10**6, interrupt)
    assert not list(tmp_path.iterdir())


def test_disk_check_refuses_what_cannot_fit(tmp_path: Path) -> None:
    with pytest.raises(NotEnoughDisk, match="free"):
        check_disk(tmp_path, 10**18)
    check_disk(tmp_path, 1024)


def test_sweep_report_table_and_chart(tiny_model: Path, tmp_path: Path) -> None:
    result = run_sweep(tiny_model, tmp_path / "scratch", ("Q8_0", "Q2_K"), eval_tokens=100)
    assert [r["type"] for r in result["rows"]] == ["reference", "Q8_0", "Q2_K"]
    text = report.table(result)
    assert "98.7% of the quality at 76% less memory" in text and "Q2_K" in text
    chart = report.write_chart(result, tmp_path / "sweep.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(report.write_json(result, tmp_path / "sweep.json").read_text())
    assert saved["rows"][1]["top1_agreement"] >= saved["rows"][2]["top1_agreement"]
    assert not (tmp_path / "scratch" / "candidates").exists()
