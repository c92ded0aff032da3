"""Measure a compressed model against its reference: token agreement, KL divergence, perplexity, memory and speed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import psutil

from inference.backends.llama_adapter import all_logits, logits, model_bytes, open_llama
from inference.compress.errors import IncompatibleModels

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
# llama-perplexity's default window: long enough for real context, short enough that the all-position
# logits buffer (window x vocabulary x 4 bytes: 512 MiB for Gemma's 262k vocabulary) stays affordable.
WINDOW = 512
# Reference logits kept between candidates when they fit (a quarter of free memory, at most 2 GiB):
# each comparison then runs one model, not two.
CACHE_LIMIT = 2 * 1024**3
# Rows of logits turned into probabilities at once, to bound the float temporaries (64 x 262k x 4 = 64 MiB each).
_ROWS = 64


@dataclass(frozen=True)
class Fidelity:
    """How closely a candidate's next-token distributions follow the reference's over the same tokens."""

    tokens: int
    top1_agreement: float  # fraction of positions whose most likely next token is the same
    kl_mean: float  # mean KL(reference || candidate), nats
    kl_p99: float  # 99th percentile of the per-position KL, nats
    ppl_reference: float
    ppl_candidate: float

    @property
    def ppl_ratio(self) -> float:
        return self.ppl_candidate / self.ppl_reference


@dataclass(frozen=True)
class Performance:
    """Size, memory and speed of one model file as loaded by llama.cpp here."""

    file_bytes: int
    model_bytes: int  # llama.cpp's own count of the weight buffers
    rss_bytes: int  # resident-memory growth of this process from before loading to after prefill
    load_s: float
    prefill_tps: float
    decode_tps: float
    generated: tuple[int, ...]  # the greedy tokens of the decode run, proof the file generates


def _open(path: Path, n_ctx: int, logits_all: bool = False):
    """Load through the project's loader, with one batch as large as the context (one decode per window)."""
    return open_llama(path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=logits_all)


def tokenize(path: Path, text: str, max_tokens: int) -> list[int]:
    """The first `max_tokens` tokens of `text` under the model's tokenizer (no BOS; windows add their own)."""
    llm = _open(path, n_ctx=64)
    try:
        return llm.tokenize(text.encode("utf-8"), add_bos=False)[:max_tokens]
    finally:
        llm.close()


def windows(tokens: list[int], bos: int | None, size: int = WINDOW) -> list[list[int]]:
    """Split tokens into independent windows of at most `size`, each opened by BOS as llama-perplexity does."""
    step = size - 1 if bos is not None else size
    head = [bos] if bos is not None else []
    return [head + tokens[i : i + step] for i in range(0, len(tokens), step) if len(tokens[i : i + step]) > 1]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _compare_rows(ref: np.ndarray, cand: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per position: top-1 match, KL(ref||cand), and each model's negative log-likelihood of the real next token."""
    lp_ref, lp_cand = _log_softmax(ref), _log_softmax(cand)
    agree = ref.argmax(axis=1) == cand.argmax(axis=1)
    kl = np.maximum((np.exp(lp_ref) * (lp_ref - lp_cand)).sum(axis=1), 0.0)  # rounding can dip below zero
    rows = np.arange(len(targets))
    return agree, kl, -lp_ref[rows, targets], -lp_cand[rows, targets]


class Evaluator:
    """Keeps the reference loaded and compares candidates with it over the same windows of held-out tokens."""

    def __init__(self, reference: Path, tokens: list[int], window: int = WINDOW) -> None:
        self.reference = reference
        self.window = min(window, len(tokens) + 1)  # a short text needs no larger context or logits buffer
        self._ref = _open(reference, n_ctx=self.window, logits_all=True)
        bos = self._ref.token_bos()
        self.windows = windows(tokens, bos if bos >= 0 else None, self.window)
        if not self.windows:
            raise ValueError("the held-out text gives fewer than two tokens; give a longer text")
        positions = sum(len(w) for w in self.windows)
        budget = min(CACHE_LIMIT, psutil.virtual_memory().available // 4)
        self._cache: dict[int, np.ndarray] | None = {} if positions * self._ref.n_vocab() * 4 <= budget else None

    def close(self) -> None:
        """Free the reference model."""
        self._ref.close()

    def compare(self, candidate: Path, progress: ProgressFn | None = None) -> Fidelity:
        """Run both models over every window and aggregate the per-position statistics."""
        cand = _open(candidate, n_ctx=self.window, logits_all=True)
        try:
            if cand.n_vocab() != self._ref.n_vocab():
                raise IncompatibleModels(
                    f"{candidate.name} has {cand.n_vocab()} tokens in its vocabulary but the reference has "
                    f"{self._ref.n_vocab()}; compare models of the same family."
                )
            parts = [self._window_stats(cand, w, i, progress) for i, w in enumerate(self.windows)]
        finally:
            cand.close()
        agree, kl, nll_ref, nll_cand = (np.concatenate(p) for p in zip(*parts))
        return Fidelity(
            tokens=int(len(kl)),
            top1_agreement=float(agree.mean()),
            kl_mean=float(kl.mean()),
            kl_p99=float(np.percentile(kl, 99)),
            ppl_reference=float(np.exp(nll_ref.mean())),
            ppl_candidate=float(np.exp(nll_cand.mean())),
        )

    def _reference_logits(self, index: int, window: list[int]) -> np.ndarray:
        """The reference's logits for a window: from the cache, or evaluated now (and cached when they fit)."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        self._ref.reset()
        self._ref.eval(window)
        rows = all_logits(self._ref, len(window))
        if self._cache is not None:
            rows = self._cache.setdefault(index, rows.copy())
        return rows

    def _window_stats(self, cand, window: list[int], index: int, progress: ProgressFn | None) -> tuple[np.ndarray, ...]:
        """Evaluate one window on both models; position i's logits predict token i + 1."""
        n = len(window) - 1
        ref = self._reference_logits(index, window)
        cand.reset()
        cand.eval(window)
        scores = all_logits(cand, n)
        targets = np.asarray(window[1:], dtype=np.int64)
        chunks = [
            _compare_rows(ref[s : min(s + _ROWS, n)], scores[s : min(s + _ROWS, n)], targets[s : s + _ROWS])
            for s in range(0, n, _ROWS)
        ]
        if progress:
            progress("evaluate", (index + 1) / len(self.windows))
        return tuple(np.concatenate(c) for c in zip(*chunks))


def measure_performance(path: Path, prompt: list[int], n_decode: int = 32, repeats: int = 3) -> Performance:
    """Load a model, prefill `prompt` in one batch, then decode greedily; the best of `repeats` timings of each,
    because other processes on the machine only ever slow a run down, and the memory the first run took."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    start = time.perf_counter()
    llm = _open(path, n_ctx=max(64, len(prompt) + n_decode + 1))
    try:
        load_s = time.perf_counter() - start
        prefill_s, decode_s, rss = float("inf"), float("inf"), 0
        for _ in range(repeats):
            llm.reset()
            start = time.perf_counter()
            llm.eval(prompt)
            prefill_s = min(prefill_s, time.perf_counter() - start)
            rss = rss or process.memory_info().rss - rss_before
            generated, seconds = _greedy(llm, n_decode)
            decode_s = min(decode_s, seconds)
        weights = model_bytes(llm)
    finally:
        llm.close()
    return Performance(
        file_bytes=path.stat().st_size,
        model_bytes=weights,
        rss_bytes=max(rss, 0),
        load_s=load_s,
        prefill_tps=len(prompt) / prefill_s,
        decode_tps=len(generated) / decode_s if decode_s > 0 else 0.0,
        generated=tuple(generated),
    )


def _greedy(llm, n: int) -> tuple[list[int], float]:
    """Decode n tokens by argmax of the last logits (read straight from llama.cpp, no sampler in the timing)."""
    out: list[int] = []
    start = time.perf_counter()
    for _ in range(n):
        token = int(logits(llm, -1).argmax())
        out.append(token)
        llm.eval([token])
    return out, time.perf_counter() - start
