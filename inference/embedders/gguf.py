"""A user's GGUF embedding model (bge-m3, multilingual-e5 …) through llama.cpp's embedding mode."""

from __future__ import annotations

import threading

import numpy as np

from inference.backends import llama_adapter as adapter
from inference.embedders.base import Embedder, embed_threads
from inference.gguf_meta import read_header
from inference.models import ModelInfo
from inference.protocol import Cancelled, ModelError

N_CTX = 512  # tokens an input is cut at: a passage (at most 960 units, app/corpus/passages.py) takes fewer
# llama_pooling_type values a GGUF may name that give one vector per input: mean, CLS, last token.
_POOLED = {1: "mean", 2: "cls", 3: "last"}


class GGUFEmbedder(Embedder):
    """Vectors pooled as the GGUF's `{arch}.pooling_type` says (mean when it names none, as a causal LM does)."""

    kind = "gguf"

    def __init__(self, info: ModelInfo) -> None:
        fields = read_header(info.path).fields
        pooling = fields.get(f"{info.architecture}.pooling_type")
        self.pooling = _POOLED.get(pooling, "mean") if isinstance(pooling, int) else "mean"
        n_ctx = min(N_CTX, info.context_length or N_CTX)
        try:
            self.llm = adapter.open_embedding_llama(info.path, n_ctx, pooling in _POOLED, embed_threads())
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {info.path.name} for embedding ({exc}).") from None
        super().__init__(info.name, info.sha256, self.llm.n_embd(), n_ctx)

    def embed_batch(self, texts: list[str], cancel: threading.Event | None = None) -> tuple[np.ndarray, int]:
        try:
            vectors, tokens = adapter.embed(self.llm, texts, cancel)
        except RuntimeError:
            if cancel is not None and cancel.is_set():
                raise Cancelled("Embedding was cancelled.") from None
            raise
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12), tokens

    def describe(self) -> dict:
        return {**super().describe(), "pooling": self.pooling}

    def close(self) -> None:
        self.llm.close()
