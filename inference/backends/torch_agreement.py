"""How closely one model's next-token distributions follow a reference's: top-1 agreement and KL, per position.

Two forms: full logits on both sides (exact KL), and a reference kept as top-k logits plus logsumexp per
position (a compact fixture). For the latter the KL is that of the two distributions coarsened onto the
reference's top k tokens and one bin for the rest: a sound lower bound of the true KL (coarsening never
raises a KL), and equal to it up to the tail mass the reference leaves outside its top k.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Agreement:
    """Top-1 agreement, mean and 99th-percentile KL(reference ‖ candidate) in nats, over `positions`."""

    positions: int
    top1: float
    kl_mean: float
    kl_p99: float

    def line(self) -> str:
        return f"top-1 {self.top1:.4f}  mean KL {self.kl_mean:.3g}  p99 KL {self.kl_p99:.3g}  over {self.positions} positions"


def top_k_summary(logits: Tensor, k: int) -> dict[str, Tensor]:
    """Per row of logits [N, V]: the k largest (descending) as `logits`, their `ids`, and the row's `lse`."""
    x = logits.double()
    top = torch.topk(x, k, dim=-1)
    return {"ids": top.indices.int(), "logits": top.values.float(), "lse": torch.logsumexp(x, dim=-1).float()}


def kl_vs_summary(ids: Tensor, ref_logits: Tensor, ref_lse: Tensor, logits: Tensor) -> Tensor:
    """Per-position KL(reference ‖ candidate) over the coarsening {top-k tokens of the reference, the rest}."""
    x = logits.double()
    cand_lp = x.gather(1, ids.long()) - torch.logsumexp(x, dim=-1, keepdim=True)
    ref_lp = ref_logits.double() - ref_lse.double()[:, None]
    p = ref_lp.exp()
    rest_p = (1 - p.sum(1)).clamp(min=1e-300)
    rest_q = (1 - cand_lp.exp().sum(1)).clamp(min=1e-300)
    return (p * (ref_lp - cand_lp)).sum(1) + rest_p * (rest_p.log() - rest_q.log())


def kl_full(ref_logits: Tensor, logits: Tensor) -> Tensor:
    """Per-position KL(reference ‖ candidate) from full logits [N, V] on both sides."""
    ref_lp = torch.log_softmax(ref_logits.double(), dim=-1)
    return (ref_lp.exp() * (ref_lp - torch.log_softmax(logits.double(), dim=-1))).sum(-1)


def summarise(top1_ref: Tensor, logits: Tensor, kl: Tensor) -> Agreement:
    """An Agreement from the reference's top-1 ids [N], the candidate's logits [N, V] and per-position KL [N]."""
    top1 = (logits.argmax(-1) == top1_ref.long()).double().mean().item()
    return Agreement(int(kl.numel()), top1, kl.mean().item(), torch.quantile(kl.double(), 0.99).item())


def compare_full(ref_logits: Tensor, logits: Tensor) -> Agreement:
    """A candidate against a reference, both as full logits [N, V]."""
    return summarise(ref_logits.argmax(-1), logits, kl_full(ref_logits, logits))
