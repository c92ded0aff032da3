"""Compression of the real embedded model, against the shipped file, over 128 held-out tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.compress import fidelity
from inference.compress.pipeline import read_held_out
from inference.compress.quantize import QuantizeOptions, quantize

pytestmark = pytest.mark.embedded


def test_requantizing_the_embedded_model(embedded_model: Path, tmp_path: Path) -> None:
    # The shipped Q4_K_M is the reference here (rebuilding the F32 one takes 12-50 s; the sweep does that):
    # its own type must agree fully, and agreement must fall as bits fall.
    tokens = fidelity.tokenize(embedded_model, read_held_out(None)[0], 128)
    evaluator = fidelity.Evaluator(embedded_model, tokens)
    try:
        scores = {}
        for qtype in ("Q4_K_M", "Q8_0", "Q2_K"):
            out = quantize(embedded_model, tmp_path / f"{qtype}.gguf", QuantizeOptions(qtype), 250_000_000)
            scores[qtype] = evaluator.compare(out).top1_agreement
    finally:
        evaluator.close()
    assert scores["Q4_K_M"] == 1.0
    assert scores["Q8_0"] >= scores["Q2_K"] + 0.1
    assert scores["Q2_K"] < 0.9
    perf = fidelity.measure_performance(tmp_path / "Q2_K.gguf", tokens[:32], n_decode=4, repeats=1)
    assert len(perf.generated) == 4
