"""The llama.cpp backend (through llama-cpp-python): CPU by default, every layer on the GPU when the build has CUDA."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import psutil

from inference.backends import llama_adapter as adapter
from inference.backends.base import Backend, GenerationStats, LoadOptions, RequestContext, SamplingParams, ScoreStats
from inference.backends.draft_model import DraftModel, same_vocabulary
from inference.backends.llama_session import LlamaSession, SessionTokens
from inference.cache import DEFAULT_MEMORY_MB, SessionCache, budget_bytes
from inference.cache import clear as clear_states
from inference.gpu import gpu_names
from inference.models import inspect_gguf
from inference.protocol import BadRequest, ErrorCode, ModelError, NoModel
from inference.speculative import Controller, Drafter, PromptLookup, speculative_decode

log = logging.getLogger(__name__)


def _check_memory(size_bytes: int, path: Path) -> None:
    """Refuse a model whose weights cannot fit in the memory that is free now (mmap would thrash, then die)."""
    available = psutil.virtual_memory().available
    if not adapter.gpu_offload_supported() and size_bytes > available:
        raise ModelError(
            f"{path.name} needs {size_bytes / 2**30:.1f} GiB but only {available / 2**30:.1f} GiB of memory is free; "
            "close other programs or choose a smaller or more compressed model (`scriptorium models advise`).",
            code=ErrorCode.OUT_OF_MEMORY,
        )


class LlamaCppBackend(SessionTokens, Backend):
    """Generation through a LlamaSession, with session caches (inference.cache) and speculative decoding (inference.speculative)."""

    name = "llama_cpp"

    def __init__(self) -> None:
        self._session: LlamaSession | None = None
        self.options = LoadOptions()
        self.cache: SessionCache | None = None
        self.controller = Controller()
        self.drafters: dict[str, Drafter] = {"lookup": PromptLookup()}

    def load(self, path: Path, options: LoadOptions) -> dict:
        info = inspect_gguf(path, sha256="-")  # validate before native code sees the file
        _check_memory(info.size_bytes, path)
        self.unload()
        n_ctx = min(options.n_ctx, info.context_length or options.n_ctx)
        try:
            threads = {"n_threads": options.n_threads} if options.n_threads else {}
            session = LlamaSession.open(path, n_ctx=n_ctx, n_batch=options.n_batch, n_gpu_layers=options.n_gpu_layers, **threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {Path(path).name} ({exc}); the file may be damaged or of an unsupported variant.") from None
        self.options = options
        self._session = session
        gpu = adapter.gpu_offload_supported() and options.n_gpu_layers != 0
        return {
            "backend": self.name,
            "device": _gpu_name() if gpu else "cpu",
            "n_ctx": session.n_ctx,
            "n_gpu_layers": session.n_layers if gpu else 0,
            "n_threads": session.n_threads,
            "system_info": adapter.system_info(),
        }

    def attach_cache(self, db_path: Path | None, model_sha256: str) -> None:
        """Keep document states for this model in memory and, when db_path is given, in cache.db."""
        if self.cache is not None:
            self.cache.close()
        budget = budget_bytes(self.options.cache_budget_mb)
        memory = budget_bytes(None, "SCRIPTORIUM_CACHE_MEMORY_MB", DEFAULT_MEMORY_MB)
        self.cache = SessionCache(self.session.identity(model_sha256), db_path, budget, memory)

    @property
    def session(self) -> LlamaSession:
        """The loaded model's session; NoModel before load_model."""
        if self._session is None:
            raise NoModel("No model is loaded; send load_model first.")
        return self._session

    @property
    def n_ctx(self) -> int:
        return self.session.n_ctx

    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        session = self.session
        if len(prompt) >= session.n_ctx:
            raise ModelError(f"The prompt has {len(prompt)} tokens but the context holds {session.n_ctx}.", code=ErrorCode.CONTEXT_OVERFLOW)
        stats.prompt_tokens = len(prompt)
        self._restore_best(prompt, context.doc_key, stats)
        drafter = self._drafter(params, context, stats)
        session.prefill(prompt, stats, context.cancel, at_boundary=lambda: self.remember(context.doc_key, stats))
        if drafter is None:
            return self._plain(prompt, params, stats)
        return speculative_decode(session, self.controller, prompt, drafter, params, stats, context)

    def check_scoring(self) -> None:
        """llama.cpp gives the logits of every position it reads: every text can be scored."""

    def score(self, tokens: list[int], stats: ScoreStats, cancel: threading.Event | None = None) -> list[float]:
        return self.session.score(tokens, stats, cancel)

    def _plain(self, prompt: list[int], params: SamplingParams, stats: GenerationStats) -> Iterator[int]:
        """Decoding one token at a time through Llama.generate, which finds the prompt already evaluated."""
        session = self.session
        budget = min(params.max_tokens, session.n_ctx - len(prompt))
        for token in session.sample(prompt, params.seed, **_sampling_kwargs(params)):
            if self.is_end(token):
                return
            stats.generated_tokens += 1
            yield token
            if stats.generated_tokens >= budget:
                return

    # -- session caches ------------------------------------------------------------------------
    def _restore_best(self, prompt: list[int], doc_key: str | None, stats: GenerationStats) -> None:
        """Switch the live context to the document's saved state when it keeps more of the prompt."""
        live = self.session.reusable_prefix(prompt)
        stats.extra["cache"] = "live" if live else "cold"
        if self.cache is None or doc_key is None:
            return
        found = self.cache.best(doc_key, prompt, self.session.n_swa, better_than=live, align=self.options.n_batch)
        if found is None:
            return
        state, _n, where = found
        t0 = time.perf_counter()
        if self.session.restore(state):
            stats.extra["cache"] = where
            stats.extra["cache_restore_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        else:
            log.warning("discarding a session cache of %s that llama.cpp refused (mismatched state)", doc_key)
            self.cache.discard(state)
            stats.extra["cache"] = "cold"

    def remember(self, doc_key: str | None, stats: GenerationStats) -> None:
        """Snapshot the document's state into memory; cache.db is written by a background thread."""
        if self.cache is None or doc_key is None or self._session is None or self._session.n_tokens == 0:
            return
        t0 = time.perf_counter()
        self.cache.remember(self._session.snapshot(doc_key))
        stats.extra["cache_save_ms"] = round((time.perf_counter() - t0) * 1000, 1)

    def cache_stats(self) -> dict:
        return self.cache.stats() if self.cache is not None else {}

    def cache_clear(self) -> dict:
        """Forget every saved state of every model, in memory and in cache.db."""
        if self.cache is None:
            return {"deleted": 0}
        self.cache.memory.items.clear()
        store = self.cache.store
        if store is None:
            return {"deleted": 0}
        store.flush()
        return {"deleted": clear_states(store.path)}

    def set_cache_budget(self, budget_mb: int) -> dict:
        """cache.db's budget from now on, for this model and the next one loaded; evicts at once."""
        self.options = replace(self.options, cache_budget_mb=budget_mb)
        if self.cache is not None:
            self.cache.set_budget(budget_bytes(budget_mb))
        return self.cache_stats()

    # -- speculation ---------------------------------------------------------------------------
    def _drafter(self, params: SamplingParams, context: RequestContext, stats: GenerationStats) -> Drafter | None:
        """The drafter to use for this request, or None for plain decoding (see README: greedy only)."""
        mode = context.speculative or "off"
        if mode == "off":
            return None
        if not params.greedy:
            stats.extra["speculative_note"] = "speculation runs only for greedy decoding (temperature 0)"
            return None
        if mode == "skip":
            raise BadRequest("Speculation by skipping layers runs on the torch engine; this model runs on llama.cpp "
                             "(`scriptorium models set-engine NAME torch` moves it), or use --speculative auto.")
        drafter = self.drafters["lookup"] if mode in ("auto", "lookup") else self._draft_model(mode.removeprefix("draft:"))
        reason = self.controller.off_reason(drafter.name) if mode == "auto" and self.controller.probed else None
        if reason:  # decided once per model by the probe: plain decoding, the very code path of `off`
            stats.extra.update(self.controller.describe(context.task, drafter.name), speculative_reason=reason)
            return None
        stats.speculative = drafter.name
        return drafter

    def _draft_model(self, path: str) -> Drafter:
        """A draft model by path (the worker resolves registered names), loaded once and checked for the same vocabulary."""
        key = f"draft:{path}"
        if key not in self.drafters:
            if not Path(path).is_file():
                raise BadRequest(f"No draft model at {path}; name a registered model or a GGUF file.")
            draft = LlamaSession.open(path, n_ctx=self.session.n_ctx, n_batch=self.options.n_batch)
            if not same_vocabulary(self.session, draft):
                draft.close()
                raise BadRequest(f"{Path(path).name} does not share the loaded model's tokenizer; a draft model must come from the same family.")
            self.drafters[key] = DraftModel(draft, Path(path).stem)
        return self.drafters[key]

    def unload(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        for drafter in self.drafters.values():
            if isinstance(drafter, DraftModel):
                drafter.close()
        self.drafters = {"lookup": PromptLookup()}
        self.controller = Controller()
        if self._session is not None:
            self._session.close()
            self._session = None


def _sampling_kwargs(params: SamplingParams) -> dict[str, Any]:
    """Map our sampling settings onto Llama.generate's; greedy means temp 0 and no penalty at all."""
    if params.greedy:
        return dict(temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
    return dict(temp=params.temperature, top_k=params.top_k, top_p=params.top_p, min_p=params.min_p, repeat_penalty=params.repeat_penalty)


def _gpu_name() -> str:
    """A readable GPU name from nvidia-smi, else the CUDA runtime's environment, else a generic label."""
    names = gpu_names()
    if names:
        return f"cuda:{names[0]}"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"cuda{':' + visible if visible else ''}"
