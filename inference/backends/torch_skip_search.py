"""The skip-set search, a step at a time: which layers the drafter skips, chosen on the user's text against this device's costs.

A step is one short forward (one timed decode step, or one chunk of a teacher-forced sample), so the worker
can run the search while it is idle and hand the model to a request between any two steps. Every forward of
the search writes its keys and values into a scratch cache of its own, never into the live sequence's.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Generator, Iterator, Sequence

import numpy as np
import torch

from inference.backends.torch_model import KVCache, Transformer
from inference.speculative import MAX_K, expected_tokens

log = logging.getLogger(__name__)

MIN_SAMPLE = 16  # fewer teacher-forced positions than this say nothing about a skip set's acceptance
MIN_ALPHA = 0.2  # below this acceptance no k pays for a draft that costs a fifth of a step or more
PATIENCE = 3  # layers added in a row without beating the best set before the search stops
COST_REPEATS = 5  # timed forwards per cost figure; the median is kept (a burst from another process must not decide)
# What one agreement step should take: a request arriving mid-search waits for at most one step. Each step
# forwards a chunk of the sample, sized from the last step's time. Measured on the CPU (embedded model, f32, load
# about 6.5, python -m inference.bench.skip_idle): fixed 64-token chunks took a median 2.8 s a step and a request
# waited 2.2 s more; sized chunks bottom out at MIN_CHUNK there (each forward reads every weight once): a median
# 1.1 s a step, 0.53 s more for a request, and the whole search 2.6x longer (1789 s against 699 s). On a GPU a
# chunk grows to MAX_CHUNK.
STEP_TARGET_S = 0.25
MIN_CHUNK, MAX_CHUNK = 8, 256


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


def predicted_speedup(alpha: float, draft_cost: float, max_k: int = MAX_K) -> tuple[int, float]:
    """Best k and tokens per step over step cost, with a verify of k+1 tokens costing one step (batch-1 decode is memory-bound)."""
    return max(((k, expected_tokens(alpha, k) / (1.0 + k * draft_cost)) for k in range(1, max_k + 1)), key=lambda kv: kv[1])


def _choice(skip: frozenset[int], alpha: float, costs: StepCosts, sample: int, evaluated: int) -> SkipChoice:
    draft_cost = costs.draft(skip) / costs.full if costs.full > 0 else 1.0
    k, gain = predicted_speedup(alpha, draft_cost)
    return SkipChoice(skip, alpha, draft_cost, gain, k, sample, evaluated)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def scratch_cache(model: Transformer, caches: list[KVCache]) -> Iterator[None]:
    """Run the model over `caches` instead of its own for the duration of the block.

    Only the layers' cache attributes are swapped: a CUDA graph captured on the live cache keeps its own
    buffers, and nothing else runs the model while the block does (the worker serves one thing at a time).
    """
    live = [layer.attention.kv_cache for layer in model.layers]
    for layer, cache in zip(model.layers, caches):
        layer.attention.kv_cache = cache
    try:
        yield
    finally:
        for layer, cache in zip(model.layers, live):
            layer.attention.kv_cache = cache


class SkipSearch:
    """Greedily grow the skip set by the layer whose removal most raises predicted tokens per unit cost; stop when none does.

    Acceptance is measured teacher-forced on `tokens` (the user's own text): at each position the skipping
    model's greedy token against the full model's. Costs are this device's, timed as the first steps.
    The first and last layers are never skipped: the embedding and the head depend on them most.
    With `nonempty` the best set of at least one layer is returned even when none is predicted to pay
    (a benchmark measuring what skipping gives; the engine keeps the empty set and does not speculate).
    Call `step()` until it returns False; `result` then holds the choice.
    """

    def __init__(self, model: Transformer, tokens: Sequence[int], costs: StepCosts | None = None,
                 max_skip: int | None = None, nonempty: bool = False, chunk: int | None = None) -> None:
        if len(tokens) < MIN_SAMPLE:
            raise ValueError(f"a skip-set search needs at least {MIN_SAMPLE} tokens of text, got {len(tokens)}")
        if len(tokens) > model.max_seq:
            raise ValueError(f"a sample of {len(tokens)} tokens does not fit the model's {model.max_seq} positions")
        self.model, self.nonempty = model, nonempty
        self.chunk, self.fixed_chunk = chunk or MIN_CHUNK, chunk is not None  # chunk given: every step that long (tests)
        self.device = model.tok_embeddings.weight.device
        self.idx = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
        a, dtype = model.args, model.layers[0].attention.kv_cache.k.dtype
        self.caches = [KVCache(1, len(tokens), a.n_kv_head, a.head_dim, dtype).to(self.device) for _ in model.layers]
        self.limit = min(max_skip if max_skip is not None else a.n_layer - 2, a.n_layer - 2)
        self.evaluated = 0
        self.step_seconds: list[float] = []  # each step's wall time, for the benchmark and the status line
        self.result: SkipChoice | None = None
        self._steps = self._search(costs)

    @property
    def n_tokens(self) -> int:
        return self.idx.shape[1]

    def step(self) -> bool:
        """Run one step; False once the search is done (then `result` holds the choice)."""
        if self.result is not None:
            return False
        t0 = time.perf_counter()
        try:
            next(self._steps)
            return True
        except StopIteration as stop:
            self.result = stop.value
            self.caches = []  # the scratch cache is the search's only large allocation: give it back now
            return False
        finally:
            self.step_seconds.append(time.perf_counter() - t0)

    def run(self) -> SkipChoice:
        """Every remaining step at once (benchmarks, tests)."""
        while self.step():
            pass
        assert self.result is not None
        return self.result

    def _search(self, costs: StepCosts | None) -> Generator[None, None, SkipChoice]:
        n, sample = self.model.args.n_layer, self.n_tokens
        if costs is None:
            full = yield from self._time_step(frozenset())
            bare = yield from self._time_step(frozenset(range(n)))
            costs = StepCosts(fixed=bare, per_layer=max(full - bare, 0.0) / n, n_layer=n)
        reference = yield from self._argmax(frozenset())
        current = best = _choice(frozenset(), 1.0, costs, sample, 0)
        stale = 0
        # Grow one layer at a time (the best-predicted one): skipping one layer rarely pays for a draft, several
        # together may, so the search keeps the best set seen and goes PATIENCE layers past it before it stops.
        while len(current.skip) < self.limit and current.alpha >= MIN_ALPHA and stale < PATIENCE:
            tried = []
            for layer in range(1, n - 1):
                if layer not in current.skip:
                    self.evaluated += 1
                    skip = current.skip | {layer}
                    alpha = float(((yield from self._argmax(skip)) == reference).float().mean())
                    tried.append(_choice(skip, alpha, costs, sample, self.evaluated))
            current = max(tried, key=lambda c: c.predicted_speedup)
            log.info("skip set %s: alpha %.3f, draft cost %.2f, predicted %.3fx", sorted(current.skip), current.alpha,
                     current.draft_cost, current.predicted_speedup)
            if current.predicted_speedup > best.predicted_speedup or (self.nonempty and not best.skip):
                best, stale = current, 0
            else:
                stale += 1
        return SkipChoice(best.skip, best.alpha, best.draft_cost, best.predicted_speedup, best.best_k, sample, self.evaluated)

    @torch.inference_mode()
    def _argmax(self, skip: frozenset[int]) -> Generator[None, None, torch.Tensor]:
        """The greedy token at every position of the sample with `skip` bypassed, a chunk per step."""
        out, start = [], 0
        while start < self.n_tokens:
            end = min(start + self.chunk, self.n_tokens)
            t0 = time.perf_counter()
            with scratch_cache(self.model, self.caches):
                # kv_len given: on a GPU the default is the live cache's length, longer than the scratch one
                logits = self.model(self.idx[:, start:end], torch.arange(start, end, device=self.device), skip=skip, kv_len=end)
            out.append(logits[0].argmax(-1))
            _sync(self.device)
            self._fit_chunk(end - start, time.perf_counter() - t0)
            start = end
            yield
        return torch.cat(out)

    def _fit_chunk(self, n: int, seconds: float) -> None:
        """The next chunk: as many tokens as STEP_TARGET_S allows at the last step's seconds per token."""
        if not self.fixed_chunk and seconds > 0:
            self.chunk = int(min(MAX_CHUNK, max(MIN_CHUNK, STEP_TARGET_S * n / seconds)))

    @torch.inference_mode()
    def _time_step(self, skip: frozenset[int]) -> Generator[None, None, float]:
        """Median seconds of one decode step with `skip` bypassed, on this device, one timed forward per step."""
        step = self._decode_step(skip)
        yield  # building the step (a graph capture on a GPU) is a step of its own
        times = []
        for _ in range(COST_REPEATS + 1):
            _sync(self.device)
            t0 = time.perf_counter()
            step()
            _sync(self.device)
            times.append(time.perf_counter() - t0)
            yield
        return float(np.median(times[1:]))  # the first is a warm-up

    def _decode_step(self, skip: frozenset[int]) -> Callable[[], object]:
        """One decode step as the drafter and the verify run it: a captured graph on CUDA, eager on a CPU.

        Eager launches would make every GPU layer look far dearer than its bytes. The graph writes the live
        cache's last position, which no sequence holds (a prompt is shorter than the context, and a prefix
        is reused only below the prompt's last token), so whatever it leaves there is rewritten before it is read.
        """
        model = self.model
        if self.device.type == "cuda":
            from inference.backends.torch_skip import StepGraph

            graph = StepGraph(model, 1, skip)
            return lambda: graph([0], model.max_seq - 1)
        idx = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        pos = torch.tensor([self.n_tokens - 1], device=self.device)

        def step() -> object:
            with scratch_cache(model, self.caches):
                return model(idx, pos, skip=skip)

        return step


def search_skip_set(model: Transformer, tokens: Sequence[int], costs: StepCosts | None = None,
                    max_skip: int | None = None, nonempty: bool = False) -> SkipChoice:
    """The whole search at once (see SkipSearch)."""
    return SkipSearch(model, tokens, costs, max_skip, nonempty).run()
