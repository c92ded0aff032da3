"""One row of `bench gpu`: one model in one precision at batch 1 — time to first token, decode speed, bandwidth, energy.

Why measured this way:
- Time to first token is one prefill forward of a fixed-length prompt and the read of its greedy token,
  median of repeats after a warm-up.
- Decode is the engine's own step: a CUDA graph of one token over the static cache (torch_decode.DecodeGraph;
  eager on the CPU), each token the argmax of the last, read back to the host as a generation does.
  Median over repeats of a fixed number of tokens.
- The bandwidth fraction is (bytes one step must read ÷ the copy bandwidth measured first) ÷ the time of a step.
- Energy per token is the energy meter's joules over a window of several seconds of decoding ÷ its tokens.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch

from inference.backends.torch_model import Transformer
from inference.bench.gpu_meter import EnergyMeter, sync, timed
from inference.bench.gpu_models import activation_dtype, bytes_per_token


@dataclass(frozen=True)
class RunPlan:
    """How long each measurement runs; --tiny shrinks it for the CPU pipeline check."""

    prompt_tokens: int = 512
    span: int = 256  # decode positions cycle within [prompt, prompt + span): the cache holds prompt + span
    decode_tokens: int = 64  # per timed repeat
    repeats: int = 5
    energy_window_s: float = 3.0


def _step(model: Transformer):
    """The decode step: the engine's CUDA graph on a GPU, the eager forward over the same cache length on the CPU."""
    if model.tok_embeddings.weight.device.type == "cuda":
        from inference.backends.torch_decode import DecodeGraph

        return DecodeGraph(model)
    device = model.tok_embeddings.weight.device

    def eager(token: int, pos: int) -> torch.Tensor:
        idx = torch.tensor([[token]], device=device)
        return model(idx, torch.tensor([pos], device=device), kv_len=model.max_seq)[0, -1]

    return eager


@torch.inference_mode()
def measure(model: Transformer, precision: str, plan: RunPlan, bandwidth: float, meter: EnergyMeter, prompt: list[int]) -> dict:
    """The row's figures; `prompt` holds plan.prompt_tokens token ids."""
    device = model.tok_embeddings.weight.device
    p = plan.prompt_tokens
    model.setup_caches(1, p + plan.span, activation_dtype(precision), device)
    step = _step(model)  # captured before the prompt is read: capture writes scratch KV at position 0
    idx, pos = torch.tensor([prompt[:p]], device=device), torch.arange(p, device=device)
    first: list[int] = []
    ttft = timed(lambda: first.append(int(model(idx, pos, last_only=True)[0, -1].argmax())), device, plan.repeats)

    def decode(n: int) -> bool:
        """n greedy steps from the prompt's first token; whether the last logits were finite."""
        token = first[-1]
        for i in range(n):
            logits = step(token, p + i % plan.span)
            token = int(logits.argmax())
        return bool(torch.isfinite(logits).all())

    finite = decode(8)  # warm-up
    per_token = statistics.median(timed(lambda: decode(plan.decode_tokens), device, plan.repeats, warmup=0)) / plan.decode_tokens
    joules, window_tokens, window_s = _energy(meter, decode, plan, device)
    need = bytes_per_token(model, model.max_seq)
    limit_s = need["total"] / bandwidth
    return {
        "precision": precision,
        "ttft_ms": statistics.median(ttft) * 1000,
        "decode_tps": 1 / per_token,
        "ms_per_token": per_token * 1000,
        "bytes_per_token": need["total"],
        "bytes": need,
        "limit_ms_per_token": limit_s * 1000,
        "bandwidth_fraction": limit_s / per_token,
        "energy_j_per_token": None if joules is None else joules / window_tokens,
        "power_w": None if joules is None else joules / window_s,
        "energy_window_s": window_s,
        "energy_tokens": window_tokens,
        "finite_logits": finite,
    }


def _energy(meter: EnergyMeter, decode, plan: RunPlan, device: torch.device) -> tuple[float | None, int, float]:
    """Joules, tokens and seconds of decoding for at least plan.energy_window_s."""
    tokens = 0
    sync(device)
    meter.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < plan.energy_window_s:
        decode(plan.decode_tokens)
        tokens += plan.decode_tokens
    sync(device)
    elapsed = time.perf_counter() - t0
    joules = meter.stop()
    if joules is not None and not (math.isfinite(joules) and joules > 0):
        joules = None  # a counter that did not move over seconds of work is no measurement
    return joules, tokens, elapsed
