"""Self-speculation by skipping layers: the torch model drafts with some layers bypassed and verifies in one batch.

No second model and no training (the idea of SWIFT, CLaSp, Draft&Verify): the drafter is the same Transformer
run with a skip set, sharing the target's KV cache; the verify is inference.speculative's greedy loop over a
TorchTarget, so every emitted token is the full model's own greedy choice. The skip set is searched once per
model on the user's text (`search_skip_set`) and kept by inference.backends.torch_skip_store.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from inference.backends.torch_model import Transformer
from inference.speculative import MAX_K, expected_tokens

log = logging.getLogger(__name__)

MIN_SAMPLE = 16  # fewer teacher-forced positions than this say nothing about a skip set's acceptance
MIN_ALPHA = 0.2  # below this acceptance no k pays for a draft that costs a fifth of a step or more
PATIENCE = 3  # layers added in a row without beating the best set before the search stops
COST_REPEATS = 5  # timed forwards per cost figure; the median is kept (a burst from another process must not decide)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepGraph:
    """One forward of T tokens (a verify batch, or a draft step with a skip set) captured as a CUDA graph.

    Capture writes scratch keys and values at the cache's last T positions, which every query masks until a
    real token is written there: so, unlike a capture at position 0, it may happen after a prompt was read.
    """

    def __init__(self, model: Transformer, n: int, skip: frozenset[int] = frozenset()) -> None:
        device = model.tok_embeddings.weight.device
        self.idx = torch.zeros(1, n, dtype=torch.long, device=device)
        self.pos = torch.arange(model.max_seq - n, model.max_seq, device=device)
        step = lambda: model(self.idx, self.pos, skip=skip, kv_len=model.max_seq)  # noqa: E731
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up off the capture stream, as torch.cuda.graphs asks
            for _ in range(2):
                step()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = step()

    def __call__(self, tokens: Sequence[int], start: int) -> torch.Tensor:
        """Logits [T, V] of `tokens` at positions start.. (the graph's output buffer: read it before the next call)."""
        self.idx.copy_(torch.tensor([list(tokens)], dtype=torch.long))  # into the captured buffers, never new ones
        self.pos.copy_(torch.arange(start, start + len(tokens)))
        self.graph.replay()
        return self.logits[0]


class TorchTarget:
    """A Transformer seen as inference.speculative's Target: decode a batch, logits at every position, cut back.

    The cache is static and indexed by position, so cutting back is only a smaller `n_tokens`: a later
    write at the same positions replaces the rejected drafts' keys and values, and the mask hides the rest.
    """

    def __init__(self, model: Transformer, is_end: Callable[[int], bool], n_ctx: int | None = None, graphs: bool = False) -> None:
        self.model = model
        self.n_ctx = min(n_ctx or model.max_seq, model.max_seq)
        self.n_tokens = 0
        self._is_end = is_end
        # On CUDA, decode steps and verify batches of up to MAX_K + 1 tokens replay captured graphs (launch gaps
        # would otherwise dominate a small model's step); prefill chunks stay eager.
        self.graphs = {n: StepGraph(model, n) for n in range(1, MAX_K + 2)} if graphs else {}
        self._logits: torch.Tensor | None = None  # [T, V] of the last batch, on the model's device
        self._argmax: list[int] = []

    @property
    def device(self) -> torch.device:
        return self.model.tok_embeddings.weight.device

    @torch.inference_mode()
    def decode(self, tokens: Sequence[int]) -> None:
        """Evaluate tokens at the next positions; their logits replace the last batch's (the argmax is read back, so this syncs)."""
        if len(tokens) in self.graphs:
            self._logits = self.graphs[len(tokens)](tokens, self.n_tokens)
        else:
            idx = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
            pos = torch.arange(self.n_tokens, self.n_tokens + len(tokens), device=self.device)
            self._logits = self.model(idx, pos)[0]
        self._argmax = self._logits.argmax(-1).tolist()
        self.n_tokens += len(tokens)

    def prefill(self, prompt: Sequence[int], chunk: int = 256) -> None:
        """Evaluate a prompt from position 0 in chunks; the last chunk's logits stay."""
        self.n_tokens = 0
        for start in range(0, len(prompt), chunk):
            self.decode(prompt[start : start + chunk])

    def resume(self, n_tokens: int, last_logits: torch.Tensor) -> None:
        """Continue a sequence another reader put in the cache: n_tokens positions, the last one's logits [V]."""
        self.n_tokens = n_tokens
        self._logits = last_logits[None]
        self._argmax = [int(last_logits.argmax())]

    def logits(self, i: int) -> np.ndarray:
        assert self._logits is not None, "decode first"
        return self._logits[i].float().cpu().numpy()

    def argmax(self, i: int) -> int:
        return self._argmax[i]

    def truncate(self, n: int) -> None:
        self.n_tokens = n

    def is_end(self, token: int) -> bool:
        return self._is_end(token)


class SkipDrafter:
    """inference.speculative's Drafter: k greedy tokens from the target's model with the layers in `skip` bypassed.

    It writes keys and values past the target's last position (only for the layers it runs); the verify
    batch then rewrites every layer at those positions, so the target never reads a drafted entry.
    """

    name = "skip"

    def __init__(self, target: TorchTarget, skip: frozenset[int]) -> None:
        self.target = target
        self.skip = frozenset(skip)
        self.graph = StepGraph(target.model, 1, self.skip) if target.graphs else None

    @torch.inference_mode()
    def __call__(self, token_ids: Sequence[int], k: int) -> list[int]:
        model, device = self.target.model, self.target.device
        pos = self.target.n_tokens  # token_ids[-1] is the token the target has not yet evaluated
        token, out = int(token_ids[-1]), []
        for _ in range(min(k, self.target.n_ctx - pos - 1)):
            if self.graph is not None:
                logits = self.graph([token], pos)[-1]
            else:
                logits = model(torch.tensor([[token]], dtype=torch.long, device=device), torch.tensor([pos], device=device), skip=self.skip)[0, -1]
            token = int(logits.argmax())
            if self.target.is_end(token):
                break
            out.append(token)
            pos += 1
        return out


# -- searching the skip set ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepCosts:
    """Seconds of one decode step: the fixed part (embedding, final norm, output head) and each layer's share."""

    fixed: float
    per_layer: float
    n_layer: int

    def draft(self, skip: frozenset[int]) -> float:
        return self.fixed + self.per_layer * (self.n_layer - len(skip))

    @property
    def full(self) -> float:
        return self.draft(frozenset())


@dataclass(frozen=True)
class SkipChoice:
    """A searched skip set and what the search measured for it."""

    skip: frozenset[int]
    alpha: float  # share of teacher-forced positions where the skipping model's argmax equals the full model's
    draft_cost: float  # a drafted token's cost relative to one full decode step
    predicted_speedup: float  # with the best k, verify cost taken as one step's (the controller measures the real one)
    best_k: int
    sample_tokens: int
    evaluated: int  # skip sets tried

    def to_dict(self) -> dict:
        return {"skip": sorted(self.skip), "alpha": round(self.alpha, 4), "draft_cost": round(self.draft_cost, 4),
                "predicted_speedup": round(self.predicted_speedup, 4), "best_k": self.best_k,
                "sample_tokens": self.sample_tokens, "evaluated": self.evaluated}


def _median_time(fn: Callable[[], object], device: torch.device) -> float:
    times = []
    for _ in range(COST_REPEATS + 1):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))  # the first is a warm-up


@torch.inference_mode()
def measure_step_costs(model: Transformer, position: int) -> StepCosts:
    """Time one decode step with every layer and with none, on this device: a draft's cost is linear between them.

    On CUDA both are captured graphs, as the drafter and the verify run: eager launches would make every
    layer look far dearer than its bytes.
    """
    device = model.tok_embeddings.weight.device
    n = model.args.n_layer
    if device.type == "cuda":
        full_step, bare_step = StepGraph(model, 1), StepGraph(model, 1, frozenset(range(n)))
        full = _median_time(lambda: full_step([0], position), device)
        bare = _median_time(lambda: bare_step([0], position), device)
    else:
        idx, pos = torch.zeros((1, 1), dtype=torch.long, device=device), torch.tensor([position], device=device)
        full = _median_time(lambda: model(idx, pos), device)
        bare = _median_time(lambda: model(idx, pos, skip=frozenset(range(n))), device)
    return StepCosts(fixed=bare, per_layer=max(full - bare, 0.0) / n, n_layer=n)


def predicted_speedup(alpha: float, draft_cost: float, max_k: int = MAX_K) -> tuple[int, float]:
    """Best k and tokens per step over step cost, with a verify of k+1 tokens costing one step (batch-1 decode is memory-bound)."""
    return max(((k, expected_tokens(alpha, k) / (1.0 + k * draft_cost)) for k in range(1, max_k + 1)), key=lambda kv: kv[1])


class _Agreement:
    """Teacher-forced greedy agreement with the full model over one sample: a skip set's acceptance, in one batch forward."""

    def __init__(self, model: Transformer, tokens: Sequence[int]) -> None:
        self.model = model
        device = model.tok_embeddings.weight.device
        self.idx = torch.tensor([list(tokens)], dtype=torch.long, device=device)
        self.pos = torch.arange(len(tokens), device=device)
        self.reference = self._argmax(frozenset())

    @torch.inference_mode()
    def _argmax(self, skip: frozenset[int]) -> torch.Tensor:
        return self.model(self.idx, self.pos, skip=skip)[0].argmax(-1)

    def alpha(self, skip: frozenset[int]) -> float:
        return float((self._argmax(skip) == self.reference).float().mean())


def search_skip_set(model: Transformer, tokens: Sequence[int], costs: StepCosts | None = None,
                    max_skip: int | None = None, nonempty: bool = False) -> SkipChoice:
    """Greedily grow the skip set by the layer whose removal most raises predicted tokens per unit cost; stop when none does.

    Acceptance is measured teacher-forced on `tokens` (the user's own text): at each position the skipping
    model's greedy token against the full model's. Costs are this device's (measure_step_costs).
    The first and last layers are never skipped: the embedding and the head depend on them most.
    With `nonempty` the best set of at least one layer is returned even when none is predicted to pay
    (a benchmark measuring what skipping gives; the engine keeps the empty set and does not speculate).
    """
    if len(tokens) < MIN_SAMPLE:
        raise ValueError(f"a skip-set search needs at least {MIN_SAMPLE} tokens of text, got {len(tokens)}")
    n = model.args.n_layer
    costs = costs or measure_step_costs(model, len(tokens) - 1)
    agreement = _Agreement(model, tokens)
    candidates = list(range(1, n - 1))
    limit = min(max_skip if max_skip is not None else len(candidates), len(candidates))
    current = best = _choice(frozenset(), 1.0, costs, len(tokens), 0)
    evaluated = stale = 0
    # Grow one layer at a time (the best-predicted one): skipping one layer rarely pays for a draft, several
    # together may, so the search keeps the best set seen and goes PATIENCE layers past it before it stops.
    while len(current.skip) < limit and current.alpha >= MIN_ALPHA and stale < PATIENCE:
        tried = []
        for layer in candidates:
            if layer not in current.skip:
                evaluated += 1
                skip = current.skip | {layer}
                tried.append(_choice(skip, agreement.alpha(skip), costs, len(tokens), evaluated))
        current = max(tried, key=lambda c: c.predicted_speedup)
        log.info("skip set %s: alpha %.3f, draft cost %.2f, predicted %.3fx", sorted(current.skip), current.alpha,
                 current.draft_cost, current.predicted_speedup)
        if current.predicted_speedup > best.predicted_speedup or (nonempty and not best.skip):
            best, stale = current, 0
        else:
            stale += 1
    return SkipChoice(best.skip, best.alpha, best.draft_cost, best.predicted_speedup, best.best_k, len(tokens), evaluated)


def _choice(skip: frozenset[int], alpha: float, costs: StepCosts, sample: int, evaluated: int) -> SkipChoice:
    draft_cost = costs.draft(skip) / costs.full if costs.full > 0 else 1.0
    k, gain = predicted_speedup(alpha, draft_cost)
    return SkipChoice(skip, alpha, draft_cost, gain, k, sample, evaluated)


# -- the engine's side: mode `skip` over a live decoder ------------------------------------------------------
class SkipSpeculation:
    """Mode `skip` for the torch backend: one target, drafter and controller per loaded model, over its Decoder's cache.

    `adopt_skip` takes the skip set (torch_skip_store.skip_set_for: stored, or searched once on the user's text);
    `generate` continues a prefilled prompt through inference.speculative's loop, so the adaptive controller
    measures what verifying costs here and turns drafting off (k = 0) where it does not pay.
    """

    def __init__(self, model: Transformer, is_end: Callable[[int], bool], n_ctx: int) -> None:
        from inference.speculative import Controller

        self.target = TorchTarget(model, is_end, n_ctx, graphs=model.tok_embeddings.weight.device.type == "cuda")
        self.controller = Controller()
        self.drafter: SkipDrafter | None = None

    def adopt_skip(self, skip: frozenset[int]) -> None:
        """Draft with these layers skipped from now on (an empty set: nothing to gain, `skip` decodes plainly)."""
        self.drafter = SkipDrafter(self.target, skip) if skip else None

    def generate(self, decoder_tokens: list[int], last_logits: torch.Tensor, params, stats, context) -> Iterator[int]:
        """Greedy tokens after a prompt the decoder has just read (its tokens and last logits); keeps decoder_tokens true.

        The decoder's list says which positions of the cache hold which tokens: after speculation it holds the
        prompt and every emitted token the target evaluated, so the next request's prefix reuse stays exact.
        """
        from inference.speculative import speculative_decode

        assert self.drafter is not None, "adopt_skip first"
        prompt = list(decoder_tokens)
        self.target.resume(len(prompt), last_logits)
        stats.speculative = self.drafter.name
        history = list(prompt)
        try:
            for token in speculative_decode(self.target, self.controller, prompt, self.drafter, params, stats, context):
                history.append(token)
                yield token
        finally:
            decoder_tokens[:] = history[: self.target.n_tokens]
