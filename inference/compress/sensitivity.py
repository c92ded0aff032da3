"""Mixed precision: find the tensor groups whose quantization hurts most, and keep them at a higher type."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import gguf

from inference.compress.quantize import QuantizeOptions, quantize

if TYPE_CHECKING:
    from inference.compress.pipeline import Workspace

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
# Tensor groups as llama.cpp names them in every architecture it converts; each regex is matched with regex_search.
GROUPS = {
    "token_embd": r"^token_embd\.weight$",
    "attn_q": r"\.attn_q\.weight$",
    "attn_k": r"\.attn_k\.weight$",
    "attn_v": r"\.attn_v\.weight$",
    "attn_output": r"\.attn_output\.weight$",
    "ffn_gate": r"\.ffn_gate\.weight$",
    "ffn_up": r"\.ffn_up\.weight$",
    "ffn_down": r"\.ffn_down\.weight$",
    "output": r"^output\.weight$",
}


def present_groups(model: Path) -> dict[str, str]:
    """The groups that exist in this model's tensors."""
    import re

    names = [t.name for t in gguf.GGUFReader(str(model), "r").tensors]
    return {g: rx for g, rx in GROUPS.items() if any(re.search(rx, n) for n in names)}


def rank_groups(ws: "Workspace", quant: QuantizeOptions, promote_type: str, progress: ProgressFn | None = None) -> list[dict]:
    """Quantize once at the target type, then once per group with only that group at `promote_type`;
    the KL each promotion removes is that group's sensitivity. Most sensitive first."""
    folder = ws.scratch / "candidates"
    folder.mkdir(parents=True, exist_ok=True)
    base = _kl(ws, quant, folder / "base.gguf", progress)
    ranking = []
    for group, pattern in present_groups(ws.reference).items():
        trial = replace(quant, tensor_types=quant.tensor_types + ((pattern, promote_type),))
        kl = _kl(ws, trial, folder / f"{group}.gguf", progress)
        ranking.append({"group": group, "pattern": pattern, "kl_mean": kl, "kl_removed": base - kl})
        log.info("sensitivity of %s at %s: KL %.4f -> %.4f", group, quant.qtype, base, kl)
    return sorted(ranking, key=lambda r: -r["kl_removed"])


def promote(quant: QuantizeOptions, groups: list[dict], promote_type: str) -> QuantizeOptions:
    """The options with the given groups overridden to `promote_type` (via llama.cpp's per-tensor type patterns)."""
    extra = tuple((g["pattern"], promote_type) for g in groups if g["kl_removed"] > 0)
    return replace(quant, tensor_types=quant.tensor_types + extra)


def _kl(ws: "Workspace", quant: QuantizeOptions, out: Path, progress: ProgressFn | None) -> float:
    """Mean KL of one trial quantization against the reference; the trial file is deleted afterwards."""
    try:
        quantize(ws.reference, out, quant, ws.reference.stat().st_size // 4, None)
        if progress:
            progress(f"sensitivity {out.stem}", None)
        return ws.evaluator.compare(out).kl_mean
    finally:
        out.unlink(missing_ok=True)
