"""The llama.cpp backend (through llama-cpp-python): CPU by default, every layer on the GPU when the build has CUDA."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator

import psutil

from inference.backends.base import Backend, GenerationStats, LoadOptions, RequestContext, SamplingParams
from inference.backends.llama_session import prefill, restore_state, seq_pos_min, snapshot_state, speculative_decode, state_identity
from inference.cache import DEFAULT_MEMORY_MB, SessionCache, budget_bytes, usable_prefix
from inference.cache import clear as clear_states
from inference.models import inspect_gguf
from inference.protocol import BadRequest, ErrorCode, ModelError, NoModel
from inference.speculative import Controller, DraftModel, Drafter, PromptLookup, same_vocabulary

log = logging.getLogger(__name__)


BATCH = LoadOptions().n_batch


def gpu_offload_supported() -> bool:
    """Whether the installed llama.cpp was built with a GPU backend."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def open_llama(path: Path | str, n_ctx: int = 2048, n_gpu_layers: int = -1, **kwargs: Any) -> "llama_cpp.Llama":  # noqa: F821
    """Load a GGUF with the settings this project relies on; every other module loads models through here.

    - swa_full=False: for sliding-window models (Gemma 3) prefill is 1.7x faster and the saved
      state 3.6x smaller, and a restored state continues bit-exactly (DESIGN.md, measured).
    - n_gpu_layers=-1 offloads every layer when the build supports it; on a CPU build it is ignored.
    - flash_attn=True: as fast or faster here (prefill 628 vs 594 tokens/s, decode 87 vs 84).
    - n_batch = n_ubatch = BATCH: batches start on multiples of it, which is what lets a cached prefix be
      reused with the text unchanged (inference.cache.usable_prefix); 128 prefills as fast as 512 here.
    """
    import llama_cpp

    params: dict[str, Any] = dict(
        model_path=str(path),
        # llama-cpp-python defaults to half the logical CPUs; decoding is memory-bound, and one
        # thread per physical core is what llama.cpp's own tools use.
        n_threads=psutil.cpu_count(logical=False) or os.cpu_count() or 1,
        n_ctx=n_ctx,
        n_gpu_layers=n_gpu_layers if gpu_offload_supported() else 0,
        swa_full=False,
        flash_attn=True,
        n_batch=BATCH,
        n_ubatch=BATCH,
        verbose=False,
    )
    if "n_batch" in kwargs and "n_ubatch" not in kwargs:
        params["n_ubatch"] = kwargs["n_batch"]
    params.update(kwargs)
    return llama_cpp.Llama(**params)


def _check_memory(size_bytes: int, path: Path) -> None:
    """Refuse a model whose weights cannot fit in the memory that is free now (mmap would thrash, then die)."""
    available = psutil.virtual_memory().available
    if not gpu_offload_supported() and size_bytes > available:
        raise ModelError(
            f"{path.name} needs {size_bytes / 2**30:.1f} GiB but only {available / 2**30:.1f} GiB of memory is free; "
            "close other programs or choose a smaller or more compressed model (`scriptorium models advise`).",
            code=ErrorCode.OUT_OF_MEMORY,
        )


class LlamaCppBackend(Backend):
    """Generation through llama.cpp with session caches (inference.cache) and speculative decoding (inference.speculative)."""

    name = "llama_cpp"

    def __init__(self) -> None:
        self.llm: Any = None
        self._n_swa = 0
        self.exact_upto = 0  # the live cache's prefix evaluated in batches aligned as a fresh run's would be
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
            self.llm = open_llama(path, n_ctx=n_ctx, n_gpu_layers=options.n_gpu_layers, n_batch=options.n_batch, **threads)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {Path(path).name} ({exc}); the file may be damaged or of an unsupported variant.") from None
        import llama_cpp

        self.options = options
        self.exact_upto = 0
        self._n_swa = int(llama_cpp.llama_model_n_swa(self.llm.model))
        gpu = gpu_offload_supported() and options.n_gpu_layers != 0
        return {
            "backend": self.name,
            "device": _gpu_name() if gpu else "cpu",
            "n_ctx": self.llm.n_ctx(),
            "n_gpu_layers": int(llama_cpp.llama_model_n_layer(self.llm.model)) if gpu else 0,
            "n_threads": self.llm.n_threads,
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        }

    def attach_cache(self, db_path: Path | None, model_sha256: str) -> None:
        """Keep document states for this model in memory and, when db_path is given, in cache.db."""
        if self.cache is not None:
            self.cache.close()
        budget = budget_bytes(self.options.cache_budget_mb)
        memory = budget_bytes(None, "SCRIPTORIUM_CACHE_MEMORY_MB", DEFAULT_MEMORY_MB)
        self.cache = SessionCache(state_identity(self._model, model_sha256), db_path, budget, memory)

    @property
    def _model(self) -> Any:
        if self.llm is None:
            raise NoModel("No model is loaded; send load_model first.")
        return self.llm

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return self._model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def token_bytes(self, token_id: int) -> bytes:
        return self._model.detokenize([token_id])

    def is_end(self, token_id: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._model._model.vocab, token_id))

    @property
    def n_ctx(self) -> int:
        return int(self._model.n_ctx())

    def reusable_prefix(self, prompt: list[int]) -> int:
        """How many leading prompt tokens the live KV cache can keep with the text unchanged (see usable_prefix)."""
        llm = self._model
        return usable_prefix(llm._input_ids, seq_pos_min(llm), prompt, self._n_swa, self.options.n_batch, self.exact_upto)

    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        llm = self._model
        if len(prompt) >= llm.n_ctx():
            raise ModelError(f"The prompt has {len(prompt)} tokens but the context holds {llm.n_ctx()}.", code=ErrorCode.CONTEXT_OVERFLOW)
        stats.prompt_tokens = len(prompt)
        self._restore_best(prompt, context.doc_key, stats)
        drafter = self._drafter(params, context, stats)
        prefill(self, prompt, stats, context.doc_key, context.cancel)
        if drafter is None:
            return self._plain(prompt, params, stats)
        return speculative_decode(self, prompt, drafter, params, stats, context)

    def _plain(self, prompt: list[int], params: SamplingParams, stats: GenerationStats) -> Iterator[int]:
        """Decoding one token at a time through Llama.generate, which finds the prompt already evaluated."""
        llm = self._model
        if params.seed is not None:
            llm.set_seed(params.seed)
        budget = min(params.max_tokens, llm.n_ctx() - len(prompt))
        for token in llm.generate(prompt, reset=True, **_sampling_kwargs(params)):
            if self.is_end(token):
                return
            stats.generated_tokens += 1
            yield token
            if stats.generated_tokens >= budget:
                return

    # -- session caches ------------------------------------------------------------------------
    def _restore_best(self, prompt: list[int], doc_key: str | None, stats: GenerationStats) -> None:
        """Switch the live context to the document's saved state when it keeps more of the prompt."""
        live = self.reusable_prefix(prompt)
        stats.extra["cache"] = "live" if live else "cold"
        if self.cache is None or doc_key is None:
            return
        found = self.cache.best(doc_key, prompt, self._n_swa, better_than=live, align=self.options.n_batch)
        if found is None:
            return
        state, _n, where = found
        t0 = time.perf_counter()
        if restore_state(self._model, state):
            self.exact_upto = len(state.tokens)  # states are taken at batch boundaries (prefill)
            stats.extra["cache"] = where
            stats.extra["cache_restore_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        else:
            log.warning("discarding a session cache of %s that llama.cpp refused (mismatched state)", doc_key)
            self.cache.discard(state)
            self._model.reset()
            self.exact_upto = 0
            stats.extra["cache"] = "cold"

    def remember(self, doc_key: str | None, stats: GenerationStats) -> None:
        """Snapshot the document's state into memory; cache.db is written by a background thread."""
        if self.cache is None or doc_key is None or self.llm is None or self.llm.n_tokens == 0:
            return
        t0 = time.perf_counter()
        self.cache.remember(snapshot_state(self.llm, doc_key))
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

    # -- speculation ---------------------------------------------------------------------------
    def _drafter(self, params: SamplingParams, context: RequestContext, stats: GenerationStats) -> Drafter | None:
        """The drafter to use for this request, or None for plain decoding (see README: greedy only)."""
        mode = context.speculative or "off"
        if mode == "off":
            return None
        if not params.greedy:
            stats.extra["speculative_note"] = "speculation runs only for greedy decoding (temperature 0)"
            return None
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
            draft = open_llama(path, n_ctx=self._model.n_ctx(), n_batch=self.options.n_batch)
            if not same_vocabulary(self._model, draft):
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
        if self.llm is not None:
            self.llm.close()
            self.llm = None


def _sampling_kwargs(params: SamplingParams) -> dict[str, Any]:
    """Map our sampling settings onto Llama.generate's; greedy means temp 0 and no penalty at all."""
    if params.greedy:
        return dict(temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
    return dict(temp=params.temperature, top_k=params.top_k, top_p=params.top_p, min_p=params.min_p, repeat_penalty=params.repeat_penalty)


def _gpu_name() -> str:
    """A readable GPU name from the CUDA runtime's environment, or a generic label."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=5)
        names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
        if names:
            return f"cuda:{names[0]}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"cuda{':' + visible if visible else ''}"

