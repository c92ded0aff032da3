"""The self-speculation section of `bench gpu`: layer-skipping drafts against plain greedy decoding, side by side.

Why measured this way:
- The skip set is searched first on the held-out sample, as the engine does once per model, on this device
  and at this precision; then each prompt is decoded plain, with the skip drafter forced on, and under the
  controller's own choice (`auto`), in an order that rotates prompt by prompt so drift hits every mode alike.
- Decode speed is generated tokens over the time after the prompt was read (the prefill is the same in
  every mode). The figure is the median over prompts; the speed-up is skip ÷ plain of those medians.
- Every mode must give the very tokens of plain decoding; the report says whether it did.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

from inference.backends.base import GenerationStats, RequestContext, SamplingParams
from inference.backends.torch_model import Transformer
from inference.backends.torch_skip import SkipDrafter, TorchTarget
from inference.backends.torch_skip_search import search_skip_set
from inference.bench.gpu_models import activation_dtype
from inference.speculative import Controller, speculative_decode

MODES = ("plain", "skip", "auto")


def _plain(target: TorchTarget, prompt: list[int], n: int) -> list[int]:
    out: list[int] = []
    while len(out) < n and not target.is_end(cur := target.argmax(-1)):
        out.append(cur)
        target.decode([cur])
    return out


def _one(target: TorchTarget, drafter: SkipDrafter, ctl: Controller, prompt: list[int], n: int, mode: str) -> dict:
    """Decode n greedy tokens after the prompt in one mode; tokens/s counted after the prompt is read."""
    target.prefill(prompt)
    stats = GenerationStats(prompt_tokens=len(prompt), speculative="skip")  # as a backend sets it; auto may turn it off
    t0 = time.perf_counter()
    if mode == "plain":
        ids = _plain(target, prompt, n)
    else:
        ids = list(speculative_decode(target, ctl, prompt, drafter, SamplingParams(max_tokens=n, temperature=0.0), stats,
                                      RequestContext(speculative=mode)))
    seconds = time.perf_counter() - t0
    return {"ids": ids, "tps": len(ids) / seconds, "drafted": stats.drafted_tokens, "accepted": stats.accepted_tokens,
            "speculative": stats.speculative, "reason": stats.extra.get("speculative_reason")}


@torch.inference_mode()
def measure_skip(model: Transformer, precision: str, sample: list[int], prompts: list[list[int]], n_tokens: int,
                 is_end: Callable[[int], bool]) -> dict:
    """Search the skip set on `sample`, then decode each prompt in every mode; medians, acceptance, speed-up."""
    device = model.tok_embeddings.weight.device
    longest = max(len(sample), max(len(p) for p in prompts) + n_tokens + 8)
    model.setup_caches(1, longest, activation_dtype(precision), device)
    t0 = time.perf_counter()
    choice = search_skip_set(model, sample, nonempty=True)
    search_s = time.perf_counter() - t0
    target = TorchTarget(model, is_end, graphs=device.type == "cuda")
    drafter, ctl = SkipDrafter(target, choice.skip), Controller()
    _one(target, drafter, ctl, prompts[0], 8, "skip")  # graphs warm, the controller's one-off probe out of the figures
    runs: dict[str, list[dict]] = {m: [] for m in MODES}
    for i, prompt in enumerate(prompts):
        for mode in MODES[i % 3:] + MODES[: i % 3]:
            runs[mode].append(_one(target, drafter, ctl, prompt, n_tokens, mode))
    tps = {m: statistics.median(r["tps"] for r in rs) for m, rs in runs.items()}
    drafted = sum(r["drafted"] for r in runs["skip"])
    last_auto = runs["auto"][-1]
    return {
        "precision": precision,
        "skip": sorted(choice.skip), "n_layer": model.args.n_layer, "search": choice.to_dict(), "search_s": search_s,
        "prompts": len(prompts), "tokens": n_tokens,
        "plain_tps": tps["plain"], "skip_tps": tps["skip"], "auto_tps": tps["auto"],
        "speedup": tps["skip"] / tps["plain"], "auto_speedup": tps["auto"] / tps["plain"],
        "acceptance": sum(r["accepted"] for r in runs["skip"]) / drafted if drafted else None,
        "same_tokens": {m: all(r["ids"] == p["ids"] for r, p in zip(runs[m], runs["plain"])) for m in ("skip", "auto")},
        "auto_choice": last_auto["speculative"], "auto_reason": last_auto["reason"],
        "auto_drafted": sum(r["drafted"] for r in runs["auto"]),
        "controller": ctl.describe("continue", "skip"),
    }
