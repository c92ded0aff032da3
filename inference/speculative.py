"""Speculative decoding: the drafter interface, prompt lookup, the adaptive controller and the greedy verify loop.

A drafter is one callable `(token_ids, k) -> draft_ids` (the draft-model one, which runs llama.cpp, is
inference.backends.draft_model). The controller measures, per loaded model on this machine, what a target
decode of n tokens costs against one, and per task and drafter how many drafted tokens are accepted; from
those it chooses k for the next step, where k = 0 means plain decoding. The loop verifies through any
`Target` (the llama.cpp one is inference.backends.llama_session.LlamaSession); nothing here imports llama_cpp.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterator, Protocol, Sequence

import numpy as np

from inference.backends.base import GenerationStats, RequestContext, SamplingParams

log = logging.getLogger(__name__)

MAX_K = 4  # verify batches of up to 5, the largest size the probe times
# Target batch sizes timed once per model: 1 + k drafted tokens. On the CPU build, a batch of 2 or more gives
# one-token logits bit for bit only while the context is under 256 tokens (flash attention splits longer KV
# differently for one query); the probe checks exactness where it runs, and `auto` never speculates without it.
PROBE_SIZES = (1, 2, 3, 5)
# Speculate only when the model predicts at least this gain: a wrong guess of acceptance must not cost more than ~3%.
MIN_GAIN = 1.05
EXPLORE_EVERY = 16  # when acceptance alone says no, try k = 2 once in this many steps so a better task is noticed
DECAY = 0.97  # acceptance counts fade so a document that changes character is followed


class Drafter(Protocol):
    """Proposes up to k tokens that might follow `token_ids`."""

    name: str

    def __call__(self, token_ids: Sequence[int], k: int) -> list[int]: ...


class PromptLookup:
    """Drafts by finding the latest earlier occurrence of the last n tokens and copying what followed it.

    Ideal for proofreading and rewriting, where the output copies long runs of the input; free to run.
    """

    name = "lookup"

    def __init__(self, max_ngram: int = 3, min_ngram: int = 1) -> None:
        self.max_ngram = max_ngram
        self.min_ngram = min_ngram

    def __call__(self, token_ids: Sequence[int], k: int) -> list[int]:
        ids = np.asarray(token_ids, dtype=np.int64)
        for n in range(self.max_ngram, self.min_ngram - 1, -1):
            if k <= 0 or len(ids) <= n:
                continue
            tail = ids[-n:]
            # positions i where ids[i:i+n] == tail, excluding the tail itself
            windows = np.lib.stride_tricks.sliding_window_view(ids[:-1], n)
            hits = np.flatnonzero((windows == tail).all(axis=1))
            if hits.size:
                start = int(hits[-1]) + n
                return ids[start : start + k].tolist()
        return []


def expected_tokens(alpha: float, k: int) -> float:
    """Tokens one verify step yields when each drafted token is accepted with probability alpha, given the ones before."""
    if alpha >= 1.0:
        return k + 1.0
    return (1 - alpha ** (k + 1)) / (1 - alpha)


@dataclass
class Controller:
    """Chooses k per step from measured verify costs and per-(task, drafter) acceptance; see `choose_k`."""

    max_k: int = MAX_K
    costs: dict[int, float] = field(default_factory=dict)  # target batch size -> seconds (moving average)
    draft_costs: dict[str, float] = field(default_factory=dict)  # drafter -> seconds per drafted token
    accepts: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (task, drafter) -> [accepted, rejected]
    exact: bool | None = None  # whether a batched verify reproduces one-token logits bit for bit (probed)
    _steps: int = 0

    @property
    def probed(self) -> bool:
        return all(n in self.costs for n in PROBE_SIZES)

    def record_cost(self, n: int, seconds: float) -> None:
        """A target decode of n tokens took `seconds`."""
        old = self.costs.get(n)
        self.costs[n] = seconds if old is None else 0.8 * old + 0.2 * seconds

    def record_draft(self, drafter: str, seconds: float, k: int) -> None:
        if k > 0:
            old = self.draft_costs.get(drafter)
            per = seconds / k
            self.draft_costs[drafter] = per if old is None else 0.8 * old + 0.2 * per

    def record_step(self, task: str, drafter: str, drafted: int, accepted: int) -> None:
        """Count accepted tokens and the one rejection (if any) of a verify step."""
        if drafted <= 0:
            return
        counts = self.accepts.setdefault((task, drafter), [1.0, 1.0])  # prior: alpha = 0.5 worth two tokens
        counts[0] = counts[0] * DECAY**drafted + accepted
        counts[1] = counts[1] * DECAY**drafted + (1 if accepted < drafted else 0)

    def alpha(self, task: str, drafter: str) -> float:
        accepted, rejected = self.accepts.get((task, drafter), [1.0, 1.0])
        return accepted / (accepted + rejected)

    def cost(self, n: int) -> float:
        """Seconds for a target decode of n tokens, interpolated between measured batch sizes."""
        sizes = sorted(self.costs)
        return float(np.interp(n, sizes, [self.costs[s] for s in sizes]))

    def speedup(self, k: int, alpha: float, drafter: str) -> float:
        """Tokens per second with k drafted tokens relative to plain decoding."""
        if k == 0:
            return 1.0
        step = self.cost(k + 1) + k * self.draft_costs.get(drafter, 0.0)
        return expected_tokens(alpha, k) * self.cost(1) / step

    def best_k(self, alpha: float, drafter: str, limit: int | None = None) -> tuple[int, float]:
        """The k in 1..max_k with the highest predicted speedup, and that speedup."""
        ks = range(1, (limit or self.max_k) + 1)
        return max(((k, self.speedup(k, alpha, drafter)) for k in ks), key=lambda kv: kv[1])

    def can_pay(self, drafter: str) -> bool:
        """Whether any k could pay even if almost every drafted token were accepted (else never speculate here)."""
        return bool(self.costs) and self.best_k(0.95, drafter)[1] >= MIN_GAIN

    def off_reason(self, drafter: str) -> str | None:
        """Why `auto` must not speculate on this machine with this model at all, or None when it may."""
        if self.exact is False:
            return "a batched verify changes the logits on this build, and auto never changes the text"
        if self.costs and not self.can_pay(drafter):
            return f"verifying 2 tokens costs {self.cost(2) / self.cost(1):.2f}x one here"
        return None

    def choose_k(self, task: str, drafter: str, forced: bool = False) -> int:
        """k for the next step: the best predicted k, or 0 when it would not gain MIN_GAIN (unless forced)."""
        if not self.costs:
            return 2 if forced else 0
        k, gain = self.best_k(self.alpha(task, drafter), drafter)
        if forced or gain >= MIN_GAIN:
            return k
        self._steps += 1
        if self.can_pay(drafter) and self._steps % EXPLORE_EVERY == 0:
            return 2
        return 0

    def describe(self, task: str, drafter: str) -> dict:
        """The controller's view for `done` stats and benchmarks."""
        alpha = self.alpha(task, drafter)
        k, gain = self.best_k(alpha, drafter) if self.costs else (0, 1.0)
        return {
            "alpha": round(alpha, 3),
            "best_k": k if gain >= MIN_GAIN else 0,
            "predicted_speedup": round(max(gain, 1.0) if gain >= MIN_GAIN else 1.0, 3),
            "verify_cost_ratio": {n: round(self.cost(n) / self.cost(1), 2) for n in PROBE_SIZES} if self.costs else {},
            "exact": self.exact,
        }


# -- greedy speculative decoding ---------------------------------------------------------------------
class Target(Protocol):
    """The model being decoded, seen as a verifier: decode a batch with logits at every position, argmax, cut back."""

    n_ctx: int
    n_tokens: int

    def decode(self, tokens: Sequence[int]) -> None: ...

    def logits(self, i: int) -> np.ndarray: ...

    def argmax(self, i: int) -> int: ...

    def truncate(self, n: int) -> None: ...

    def is_end(self, token: int) -> bool: ...


def probe(ctl: Controller, target: Target, token: int) -> None:
    """Time target decodes of 1, 2, 3, 5 tokens here, and whether a batch reproduces one-token logits exactly."""
    start = target.n_tokens
    reference, exact = None, True
    best = {n: float("inf") for n in PROBE_SIZES}
    for _ in range(2):  # sizes interleaved, the faster of two kept: a burst from another process must not decide
        for n in PROBE_SIZES:
            t0 = time.perf_counter()
            target.decode([token] * n)
            best[n] = min(best[n], time.perf_counter() - t0)
            row = target.logits(0).copy()
            target.truncate(start)
            reference = row if reference is None else reference
            exact = exact and bool(np.array_equal(row, reference))
    ctl.costs.update(best)
    ctl.exact = exact


def _plan(ctl: Controller, target: Target, cur: int, context: RequestContext, stats: GenerationStats) -> bool:
    """Probe once per model; say whether this request speculates at all and why not."""
    if not ctl.probed:
        probe(ctl, target, cur)
    if context.speculative != "auto":
        return True
    reason = ctl.off_reason(stats.speculative)
    if reason:
        stats.extra["speculative_reason"] = reason
        stats.speculative = "off"
        return False
    return True


def speculative_decode(target: Target, ctl: Controller, prompt: list[int], drafter: Drafter, params: SamplingParams,
                       stats: GenerationStats, context: RequestContext) -> Iterator[int]:
    """Greedy decoding where each step verifies the current token plus k drafted ones in one batch.

    The prompt is already evaluated in `target`; its last logits give the first token.
    """
    budget = min(params.max_tokens, target.n_ctx - len(prompt) - 1)
    cur = target.argmax(-1)
    speculate = _plan(ctl, target, cur, context, stats)
    history = list(prompt)
    forced = context.speculative != "auto"
    try:
        while not target.is_end(cur) and stats.generated_tokens < budget:
            stats.generated_tokens += 1
            yield cur
            history.append(cur)
            room = min(budget - stats.generated_tokens, target.n_ctx - target.n_tokens - 2)
            if room <= 0:
                return
            k = min(ctl.choose_k(context.task, drafter.name, forced) if speculate else 0, room)
            t0 = time.perf_counter()
            draft = drafter(history, k) if k else []
            ctl.record_draft(drafter.name, time.perf_counter() - t0, len(draft))
            accepted, cur = _verify(target, ctl, cur, draft)
            stats.drafted_tokens += len(draft)
            stats.accepted_tokens += accepted
            ctl.record_step(context.task, drafter.name, len(draft), accepted)
            for token in draft[:accepted]:
                if target.is_end(token):
                    return
                stats.generated_tokens += 1
                yield token
                history.append(token)
    finally:
        stats.extra.update(ctl.describe(context.task, drafter.name))


def _verify(target: Target, ctl: Controller, cur: int, draft: list[int]) -> tuple[int, int]:
    """Decode cur + draft in one batch; return how many drafted tokens stand and the token that follows them."""
    start = target.n_tokens
    t0 = time.perf_counter()
    target.decode([cur, *draft])
    ctl.record_cost(len(draft) + 1, time.perf_counter() - t0)
    # Acceptance rule (greedy): logits at batch position i are the target's prediction after cur + draft[:i];
    # a drafted token stands while it equals that argmax, and the first mismatch is replaced by the argmax itself.
    # Every emitted token is thus the target's own greedy choice: the text equals plain greedy decoding's.
    accepted = 0
    while accepted < len(draft) and target.argmax(accepted) == draft[accepted]:
        accepted += 1
    following = target.argmax(accepted)
    target.truncate(start + 1 + accepted)  # keep cur and the accepted drafts; the rest of the batch is dropped
    return accepted, following
