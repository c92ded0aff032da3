"""Low-level llama.cpp steps for the backend: sequence state save/restore and greedy speculative decoding."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from inference.backends.base import GenerationStats, RequestContext, SamplingParams
from inference.cache import Identity, SavedState
from inference.protocol import Cancelled
from inference.speculative import PROBE_SIZES, Drafter

if TYPE_CHECKING:
    from inference.backends.llama_cpp import LlamaCppBackend

log = logging.getLogger(__name__)


def state_identity(llm: Any, model_sha256: str) -> Identity:
    """Everything a state blob depends on besides its tokens; a blob is only offered to a context that matches."""
    import llama_cpp

    p = llm.context_params
    settings = (f"n_ctx={llm.n_ctx()};n_batch={p.n_batch};n_ubatch={p.n_ubatch};swa_full={int(p.swa_full)};"
                f"flash_attn={int(p.flash_attn_type)};type_k={p.type_k};type_v={p.type_v};"
                f"offload={int(llm.model_params.n_gpu_layers != 0 and llama_cpp.llama_supports_gpu_offload())}")
    return Identity(model_sha256, f"llama-cpp-python {llama_cpp.__version__}", settings)


def seq_pos_min(llm: Any) -> int:
    """The lowest position the KV cache still holds (sliding-window layers forget older ones); 0 when empty."""
    import llama_cpp

    return max(0, int(llama_cpp.llama_memory_seq_pos_min(llama_cpp.llama_get_memory(llm.ctx), 0)))


def snapshot_state(llm: Any, doc_key: str) -> SavedState:
    """Copy sequence 0's KV state into a fresh buffer with the state API (not Llama.save_state, which copies all logits)."""
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
    blob = np.empty(size, dtype=np.uint8)
    written = llama_cpp.llama_state_seq_get_data(llm.ctx, blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), size, 0)
    tokens = np.array(llm.input_ids[: llm.n_tokens], dtype=np.int32)
    return SavedState(doc_key, tokens, blob[:written], seq_pos_min(llm))


def restore_state(llm: Any, state: SavedState) -> bool:
    """Load a saved state into sequence 0; False (with the cache cleared) when llama.cpp refuses it."""
    import llama_cpp

    blob = np.ascontiguousarray(state.blob, dtype=np.uint8)
    mem = llama_cpp.llama_get_memory(llm.ctx)
    read = llama_cpp.llama_state_seq_set_data(llm.ctx, blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), blob.nbytes, 0)
    n = len(state.tokens)
    # set_data reports a mismatch by returning 0, not by raising; a short read or a wrong length is just as wrong.
    if read != blob.nbytes or llama_cpp.llama_memory_seq_pos_max(mem, 0) != n - 1:
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        llm.n_tokens = 0
        return False
    # Llama keeps its own idea of the cache: without these it would re-read the whole document.
    llm.input_ids[:n] = state.tokens
    llm.n_tokens = n
    llm._requires_eval = True  # the state holds no logits: the last token must be decoded again
    return True


# -- greedy speculative decoding ---------------------------------------------------------------------
class _Target:
    """The loaded model seen as a verifier: decode a batch with logits at every position, argmax, cut back."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.n_vocab = llm.n_vocab()

    def decode(self, tokens: Sequence[int]) -> None:
        llm = self.llm
        llm._batch.set_batch(tokens, llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens : llm.n_tokens + len(tokens)] = tokens
        llm.n_tokens += len(tokens)
        llm._requires_eval = True  # the logits buffer is laid out for this batch, not as Llama.generate expects

    def logits(self, i: int) -> np.ndarray:
        import llama_cpp

        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llm.ctx, i), shape=(self.n_vocab,))

    def argmax(self, i: int) -> int:
        return int(self.logits(i).argmax())

    def truncate(self, n: int) -> None:
        self.llm._ctx.kv_cache_seq_rm(-1, n, -1)
        self.llm.n_tokens = n


def prefill(backend: "LlamaCppBackend", prompt: list[int], stats: GenerationStats, doc_key: str | None,
            cancel: threading.Event | None = None) -> None:
    """Evaluate the prompt after its reusable prefix, in the batches a fresh run would use.

    The cache keeps a prefix ending on a batch boundary; the rest is evaluated from there in whole
    batches, so every position sees the arithmetic of a fresh run and the text cannot change. The
    document's state is snapshotted after the last whole batch: the point a longer prompt (the writer
    typed on) can resume from exactly. A cancel stops it mid-batch.
    """
    llm, size = backend.llm, backend.options.n_batch
    keep = backend.reusable_prefix(prompt)
    if keep == 0:
        llm.reset()
    stats.tokens_reused = keep
    llm.n_tokens = keep  # Llama.eval removes every cached position from n_tokens on first
    boundary = len(prompt) // size * size
    with _abortable(llm, cancel):
        try:
            if boundary > keep:
                llm.eval(prompt[keep:boundary])
                backend.remember(doc_key, stats)
            if boundary < len(prompt):
                llm.eval(prompt[max(keep, boundary):])
        except RuntimeError:
            if cancel is None or not cancel.is_set():
                raise
            # llama.cpp dropped the interrupted batch; whole batches before it stay usable.
            backend.exact_upto = llm.n_tokens
            raise Cancelled("Generation was stopped while reading the prompt.") from None
    backend.exact_upto = max(keep, boundary)


@contextmanager
def _abortable(llm: Any, cancel: threading.Event | None) -> Iterator[None]:
    """Let llama.cpp poll `cancel` between graph nodes while this block runs.

    Only around prefill: the callback is a Python call per node, about a percent of a long batch
    but several percent of a one-token decode, where the engine's per-token check is quick enough.
    """
    if cancel is None:
        yield
        return
    import llama_cpp

    callback = llama_cpp.ggml_abort_callback(lambda _data: cancel.is_set())
    llama_cpp.llama_set_abort_callback(llm.ctx, callback, None)
    try:
        yield
    finally:
        llama_cpp.llama_set_abort_callback(llm.ctx, llama_cpp.ggml_abort_callback(), None)


def probe(backend: "LlamaCppBackend", target: _Target, token: int) -> None:
    """Time target decodes of 1, 2, 3, 5, 9 tokens here, and whether a batch reproduces one-token logits exactly."""
    ctl, start = backend.controller, target.llm.n_tokens
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


def _plan(backend: "LlamaCppBackend", target: _Target, cur: int, context: RequestContext, stats: GenerationStats) -> bool:
    """Probe once per model; say whether this request speculates at all and why not."""
    ctl = backend.controller
    if not ctl.probed:
        probe(backend, target, cur)
    if context.speculative != "auto":
        return True
    reason = ctl.off_reason(stats.speculative)
    if reason:
        stats.extra["speculative_reason"] = reason
        stats.speculative = "off"
        return False
    return True


def speculative_decode(backend: "LlamaCppBackend", prompt: list[int], drafter: Drafter, params: SamplingParams,
                       stats: GenerationStats, context: RequestContext) -> Iterator[int]:
    """Greedy decoding where each step verifies the current token plus k drafted ones in one batch."""
    llm, ctl, target = backend.llm, backend.controller, _Target(backend.llm)
    budget = min(params.max_tokens, llm.n_ctx() - len(prompt) - 1)
    cur = target.argmax(-1)
    speculate = _plan(backend, target, cur, context, stats)
    history = list(prompt)
    forced = context.speculative != "auto"
    try:
        while not backend.is_end(cur) and stats.generated_tokens < budget:
            stats.generated_tokens += 1
            yield cur
            history.append(cur)
            room = min(budget - stats.generated_tokens, llm.n_ctx() - llm.n_tokens - 2)
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
                if backend.is_end(token):
                    return
                stats.generated_tokens += 1
                yield token
                history.append(token)
    finally:
        stats.extra.update(ctl.describe(context.task, drafter.name))


def _verify(target: _Target, ctl: Any, cur: int, draft: list[int]) -> tuple[int, int]:
    """Decode cur + draft in one batch; return how many drafted tokens stand and the token that follows them."""
    start = target.llm.n_tokens
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
