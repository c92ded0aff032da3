"""Quantize one model to every type and measure each against the same reference: the quality-against-size curve."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from inference.compress import pipeline
from inference.compress.quantize import QuantizeOptions, check_disk, estimate_size, quantize
from inference.compress.types import SWEEP_TYPES, quant_type
from inference.gguf_meta import parameter_count

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]


def run_sweep(
    model: Path,
    scratch: Path,
    types: tuple[str, ...] = SWEEP_TYPES,
    text_file: Path | None = None,
    eval_tokens: int = 1024,
    keep_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> dict:
    """Every type in `types`, plus the input itself when it is quantized, as rows of one report."""
    for name in types:
        quant_type(name)
    pipeline.validate_model(model)
    ws = pipeline.open_workspace(model, scratch, text_file, eval_tokens, progress)
    folder = keep_dir or ws.scratch / "candidates"
    folder.mkdir(parents=True, exist_ok=True)
    n_params = parameter_count(ws.reference)
    try:
        rows = []
        if ws.rebuilt:
            rows.append(pipeline.measure_candidate(ws, model, f"input {_file_type(model)}", progress))
        for name in types:
            rows.append(_one(ws, name, folder, n_params, keep_dir is not None, progress))
        ref_row = pipeline.reference_row(ws, rows[0]["ppl_reference"])
    finally:
        ws.close()
    return {
        "model": str(model),
        "sweep": list(types),
        "reference": {"path": str(ws.reference), "rebuilt": ws.rebuilt, "kept": not ws.rebuilt},
        "held_out": {"source": ws.text_source, "tokens": ref_row["tokens"]},
        "rows": [ref_row, *rows],
        "seed_claim": pipeline.SEED_CLAIM,
        "notes": ws.notes,
    }


def _one(ws: pipeline.Workspace, name: str, folder: Path, n_params: int, keep: bool, progress: ProgressFn | None) -> dict:
    """Quantize to one type, measure it, and delete the file unless the caller keeps the outputs."""
    out = pipeline.default_output(ws.model, name, folder)
    check_disk(folder, estimate_size(n_params, name))
    quantize(ws.reference, out, QuantizeOptions(name), estimate_size(n_params, name), progress)
    try:
        return pipeline.measure_candidate(ws, out, name, progress)
    finally:
        if not keep:
            out.unlink(missing_ok=True)


def _file_type(model: Path) -> str:
    """The input's quantization as its metadata names it (general.file_type)."""
    from inference.models import inspect_gguf

    return inspect_gguf(model, sha256="not computed").quantization
