"""Pick the next token from float32 logits the way SamplingParams asks (llama.cpp's order of samplers)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from inference.backends.base import SamplingParams

# llama-cpp-python's Llama.generate penalises the last 64 tokens (last_n_tokens_size); the same window here.
PENALTY_WINDOW = 64


class Sampler:
    """One request's sampler: greedy is a plain argmax; otherwise penalty → top-k → top-p → min-p → temperature → draw."""

    def __init__(self, params: SamplingParams) -> None:
        self.params = params
        self.generator = torch.Generator()
        if params.seed is not None:
            self.generator.manual_seed(params.seed)
        else:
            self.generator.seed()

    def __call__(self, logits: Tensor, history: Sequence[int]) -> int:
        """The next token after `history` (prompt and answer so far) from logits [V] (any device)."""
        if self.params.greedy:
            return int(logits.argmax())
        p = self.params
        x = penalise(logits.float().cpu().clone(), history[-PENALTY_WINDOW:], p.repeat_penalty)
        if 0 < p.top_k < x.numel():
            kth = torch.topk(x, p.top_k).values[-1]
            x[x < kth] = float("-inf")
        probs = torch.softmax(x, dim=-1)  # before temperature, as llama.cpp filters
        order = torch.argsort(probs, descending=True)
        if p.top_p < 1.0:
            cum = probs[order].cumsum(0)
            drop = order[1:][cum[:-1] >= p.top_p]  # keep the smallest head whose mass reaches top_p
            x[drop] = float("-inf")
        if p.min_p > 0:
            x[probs < p.min_p * probs.max()] = float("-inf")
        final = torch.softmax(x / p.temperature, dim=-1)
        return int(torch.multinomial(final, 1, generator=self.generator))


def penalise(logits: Tensor, recent: Sequence[int], penalty: float) -> Tensor:
    """llama.cpp's repeat penalty, in place: a recent token's positive logit is divided by it, a negative one multiplied."""
    if penalty == 1.0 or not recent:
        return logits
    ids = torch.tensor(sorted(set(recent)), dtype=torch.long)
    seen = logits[ids]
    logits[ids] = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits
