"""The one module that touches llama-cpp-python's internals and its low-level C API.

Private attributes of `Llama` (`_input_ids`, `_batch`, `_ctx`, `_requires_eval`, `_model.vocab`), the C
functions it binds (state, memory, logits, abort callback, vocabulary) and the settings open_llama passes
are written against llama-cpp-python 0.3.36; its next release is a change to this file alone. Everything
else holds a `Llama` only to hand it back here (llama-cpp-python's own `_internals.py` is the pattern).
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
import psutil

from inference.backends.base import LoadOptions

if TYPE_CHECKING:
    from llama_cpp import Llama

BATCH = LoadOptions().n_batch


# -- loading --------------------------------------------------------------------------------------
def gpu_offload_supported() -> bool:
    """Whether the installed llama.cpp was built with a GPU backend."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def open_llama(path: Path | str, n_ctx: int = 2048, n_gpu_layers: int = -1, **kwargs: Any) -> "Llama":
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


def open_embedding_llama(path: Path | str, n_ctx: int, pooling_named: bool, n_threads: int) -> "Llama":
    """A GGUF in llama.cpp's embedding mode, one sequence's vector per input; mean pooling unless the GGUF names one.

    n_batch = n_ubatch = n_ctx: an encoder (BERT, XLM-R) must see a whole input in one micro-batch, and
    Llama.embed packs several short inputs into each batch and cuts a longer one at n_batch tokens.
    """
    import llama_cpp

    pooling = llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED if pooling_named else llama_cpp.LLAMA_POOLING_TYPE_MEAN
    return open_llama(path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=n_threads, embedding=True, pooling_type=pooling)


def embed(llm: "Llama", texts: list[str], cancel: threading.Event | None) -> tuple[np.ndarray, int]:
    """Pooled vectors [len(texts), n_embd] (not normalised) and the tokens read; a set `cancel` stops llama.cpp."""
    with abortable(llm, cancel):
        vectors, tokens = llm.embed(texts, normalize=False, truncate=True, return_count=True)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), llm.n_embd()), int(tokens)


def system_info() -> str:
    """llama.cpp's description of the CPU features and backends it was built with."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()


# -- the model ------------------------------------------------------------------------------------
def n_layers(llm: "Llama") -> int:
    import llama_cpp

    return int(llama_cpp.llama_model_n_layer(llm.model))


def n_swa(llm: "Llama") -> int:
    """The sliding-window size of the model's local-attention layers; 0 when it has none."""
    import llama_cpp

    return int(llama_cpp.llama_model_n_swa(llm.model))


def model_bytes(llm: "Llama") -> int:
    """llama.cpp's own count of the weight buffers."""
    import llama_cpp

    return int(llama_cpp.llama_model_size(llm.model))


def is_eog(llm: "Llama", token: int) -> bool:
    """Whether a token ends generation: end of sequence or turn, or any other control token.

    A base model sometimes samples a chat marker such as Gemma's `<start_of_turn>`: it renders as nothing, and
    what follows it is a made-up conversation, never the writer's text — so it ends the answer like an end token.
    """
    import llama_cpp

    vocab = llm._model.vocab
    return bool(llama_cpp.llama_vocab_is_eog(vocab, token) or llama_cpp.llama_vocab_is_control(vocab, token))


def token_text(llm: "Llama", token: int) -> bytes:
    """A token's text as the vocabulary stores it (before any detokenizing cleanup)."""
    import llama_cpp

    return llama_cpp.llama_vocab_get_text(llm._model.vocab, token)


def context_settings(llm: "Llama") -> tuple[str, str]:
    """(library version, every context setting a saved state depends on) for a state's identity."""
    import llama_cpp

    p = llm.context_params
    settings = (f"n_ctx={llm.n_ctx()};n_batch={p.n_batch};n_ubatch={p.n_ubatch};swa_full={int(p.swa_full)};"
                f"flash_attn={int(p.flash_attn_type)};type_k={p.type_k};type_v={p.type_v};"
                f"offload={int(llm.model_params.n_gpu_layers != 0 and llama_cpp.llama_supports_gpu_offload())}")
    return f"llama-cpp-python {llama_cpp.__version__}", settings


# -- logits ---------------------------------------------------------------------------------------
def logits(llm: "Llama", i: int) -> np.ndarray:
    """The logits at batch position i of the last decode (-1: the last), a view of llama.cpp's buffer."""
    import llama_cpp

    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, i), shape=(llm.n_vocab(),))


def batch_logits(llm: "Llama", n: int) -> np.ndarray:
    """The logits of every position of the last decode_batch of n tokens, [n, n_vocab], a view of llama.cpp's buffer."""
    import llama_cpp

    return np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm.ctx), shape=(n, llm.n_vocab()))


def all_logits(llm: "Llama", n: int) -> np.ndarray:
    """Logits of the first n positions of a model opened with logits_all=True, one row each."""
    return llm.scores[:n]


# -- the KV cache of sequence 0 ---------------------------------------------------------------------
def cached_tokens(llm: "Llama") -> np.ndarray:
    """The tokens whose positions the KV cache holds, in order."""
    return llm._input_ids


def seq_pos_min(llm: "Llama") -> int:
    """The lowest position the KV cache still holds (sliding-window layers forget older ones); 0 when empty."""
    import llama_cpp

    return max(0, int(llama_cpp.llama_memory_seq_pos_min(llama_cpp.llama_get_memory(llm.ctx), 0)))


def keep_prefix(llm: "Llama", n: int) -> None:
    """Let the next Llama.eval keep the first n cached positions: it removes every one from n_tokens on first."""
    llm.n_tokens = n


def decode_batch(llm: "Llama", tokens: Sequence[int]) -> None:
    """Decode tokens after the cached ones in one batch, with logits at every position."""
    llm._batch.set_batch(tokens, llm.n_tokens, logits_all=True)
    llm._ctx.decode(llm._batch)
    llm.input_ids[llm.n_tokens : llm.n_tokens + len(tokens)] = tokens
    llm.n_tokens += len(tokens)
    llm._requires_eval = True  # the logits buffer is laid out for this batch, not as Llama.generate expects


def truncate(llm: "Llama", n: int) -> None:
    """Drop every cached position from n on."""
    llm._ctx.kv_cache_seq_rm(-1, n, -1)
    llm.n_tokens = n


def save_state(llm: "Llama") -> np.ndarray:
    """Copy sequence 0's KV state into a fresh buffer with the state API (not Llama.save_state, which copies all logits)."""
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
    blob = np.empty(size, dtype=np.uint8)
    written = llama_cpp.llama_state_seq_get_data(llm.ctx, blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), size, 0)
    return blob[:written]


def load_state(llm: "Llama", blob: np.ndarray, tokens: np.ndarray) -> bool:
    """Load a saved state of `tokens` into sequence 0; False (with the cache cleared) when llama.cpp refuses it."""
    import llama_cpp

    blob = np.ascontiguousarray(blob, dtype=np.uint8)
    mem = llama_cpp.llama_get_memory(llm.ctx)
    read = llama_cpp.llama_state_seq_set_data(llm.ctx, blob.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), blob.nbytes, 0)
    n = len(tokens)
    # set_data reports a mismatch by returning 0, not by raising; a short read or a wrong length is just as wrong.
    if read != blob.nbytes or llama_cpp.llama_memory_seq_pos_max(mem, 0) != n - 1:
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        llm.n_tokens = 0
        return False
    # Llama keeps its own idea of the cache: without these it would re-read the whole document.
    llm.input_ids[:n] = tokens
    llm.n_tokens = n
    llm._requires_eval = True  # the state holds no logits: the last token must be decoded again
    return True


@contextmanager
def abortable(llm: "Llama", cancel: threading.Event | None) -> Iterator[None]:
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


# -- quantization ---------------------------------------------------------------------------------
def set_native_log_level(level: int) -> None:
    """llama-cpp-python's log callback prints native logs unless its logger's level hides them."""
    logging.getLogger("llama-cpp-python").setLevel(level)


def quantize_file(src: Path, dst: Path, ftype: int, threads: int, token_embedding_type: int | None = None,
                  output_tensor_type: int | None = None, tensor_types: Sequence[tuple[str, int]] = ()) -> int:
    """llama_model_quantize from src to dst (requantizing allowed); ggml type ids per tensor; returns its status code."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.allow_requantize = True
    params.nthread = threads
    if token_embedding_type is not None:
        params.token_embedding_type = token_embedding_type
    if output_tensor_type is not None:
        params.output_tensor_type = output_tensor_type
    keep_alive = _tensor_overrides(tensor_types)
    if keep_alive is not None:
        params.tt_overrides = ctypes.cast(keep_alive, ctypes.POINTER(llama_cpp.llama_model_tensor_override))
    return int(llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)))


def _tensor_overrides(pairs: Sequence[tuple[str, int]]) -> ctypes.Array | None:
    """A null-terminated C array of {regex, ggml_type} that llama.cpp matches with regex_search on tensor names."""
    if not pairs:
        return None
    import llama_cpp

    array = (llama_cpp.llama_model_tensor_override * (len(pairs) + 1))()
    for slot, (pattern, ggml_type) in zip(array, pairs):
        slot.pattern = pattern.encode()
        slot.type = ggml_type
    array[len(pairs)].pattern = None  # terminator: llama.cpp stops at the first null pattern
    return array
