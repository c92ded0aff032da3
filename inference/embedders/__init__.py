"""Embedding models for the worker's `embed` op: which one a name means, and a request embedded in batches.

  base.py     the Embedder interface (texts -> unit float32 vectors, one batch at a time)
  minilm.py   the embedded default, all-MiniLM-L6-v2, a small torch BERT read from its PyPI package's zip
  gguf.py     any GGUF the user registered, through llama.cpp's embedding mode (bge-m3, multilingual-e5 … for Chinese)
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from inference.embedders.base import Embedder
from inference.embedders.minilm import NAME as DEFAULT_EMBEDDER
from inference.models import Registry
from inference.protocol import BadRequest, Cancelled

ENCODINGS = ("base64", "list")
MAX_BATCH = 256


@dataclass(frozen=True)
class EmbedParams:
    """An `embed` request's parameters: no texts loads the embedder and reports it."""

    texts: tuple[str, ...] = ()
    model: str | None = None  # None: the embedded default (all-MiniLM-L6-v2); else a registered GGUF or a path
    batch_size: int = 32  # texts per forward pass; a progress event after each
    encoding: str = "base64"

    @classmethod
    def from_wire(cls, params: dict) -> "EmbedParams":
        unknown = sorted(set(params) - set(cls.__dataclass_fields__))
        if unknown:
            raise BadRequest(f"Unknown embed parameter(s): {', '.join(unknown)}.")
        texts = params.get("texts", [])
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise BadRequest("embed needs 'texts', a list of strings.")
        batch = params.get("batch_size", cls.batch_size)
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= MAX_BATCH:
            raise BadRequest(f"batch_size must be a whole number from 1 to {MAX_BATCH}, not {batch!r}.")
        encoding = params.get("encoding", cls.encoding)
        if encoding not in ENCODINGS:
            raise BadRequest(f"encoding must be {' or '.join(ENCODINGS)}, not {encoding!r}.")
        model = params.get("model")
        if model is not None and not isinstance(model, str):
            raise BadRequest(f"model must be a name or a path, not {model!r}.")
        return cls(tuple(texts), model or None, batch, encoding)


def encode_vectors(vectors: np.ndarray, encoding: str) -> str | list[list[float]]:
    """Vectors for the wire: base64 of the row-major little-endian float32 matrix, or lists of floats."""
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    return base64.b64encode(vectors.tobytes()).decode("ascii") if encoding == "base64" else vectors.tolist()


def decode_vectors(result: dict) -> np.ndarray:
    """The [count, dim] float32 matrix of an `embed` result, in either encoding."""
    count, dim, vectors = result["count"], result["model"]["dim"], result["vectors"]
    if result.get("encoding", "base64") == "list":
        return np.asarray(vectors, dtype=np.float32).reshape(count, dim)
    return np.frombuffer(base64.b64decode(vectors), dtype="<f4").reshape(count, dim)


class Embedders:
    """The worker's loaded embedder: one at a time, kept between requests, replaced when another is asked for."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.current: Embedder | None = None

    def get(self, name: str | None) -> Embedder:
        """The embedder a request names (None: the default), loading it unless it is the one loaded."""
        if name in (None, DEFAULT_EMBEDDER):
            if self.current is None or self.current.name != DEFAULT_EMBEDDER:
                from inference.embedders.minilm import MiniLM

                self._replace(lambda: MiniLM(home=self.registry.home))
            return self.current
        info = self.registry.get(name)
        if self.current is None or self.current.sha256 != info.sha256:
            from inference.embedders.gguf import GGUFEmbedder

            self._replace(lambda: GGUFEmbedder(info))
        return self.current

    def _replace(self, load: Callable[[], Embedder]) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
        self.current = load()

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


def embed_all(embedder: Embedder, texts: list[str], batch_size: int, progress: Callable[[int, int], None],
              cancel: threading.Event) -> tuple[np.ndarray, int]:
    """Every text's vector in request order, a batch at a time; `progress(done, total)` after each batch.

    Texts are batched by length (shortest first) so a batch pads little, then put back in order. `cancel` is
    checked before each batch (and by llama.cpp inside one); a set one raises Cancelled.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    tokens = 0
    for at in range(0, len(order), batch_size):
        if cancel.is_set():
            raise Cancelled(f"Embedding was cancelled after {at} of {len(texts)} texts.")
        rows = order[at:at + batch_size]
        vectors, n = embedder.embed_batch([texts[i] for i in rows], cancel)
        out[rows] = vectors
        tokens += n
        progress(min(at + batch_size, len(texts)), len(texts))
    return out, tokens


def run_embed(embedders: Embedders, params: EmbedParams, progress: Callable[[int, int], None], cancel: threading.Event) -> dict:
    """The `embed` op's result: the embedder, the vectors in the requested encoding, tokens and time."""
    embedder = embedders.get(params.model)
    t0 = time.perf_counter()
    vectors, tokens = embed_all(embedder, list(params.texts), params.batch_size, progress, cancel)
    return {
        "model": embedder.describe(), "count": len(params.texts), "encoding": params.encoding,
        "vectors": encode_vectors(vectors, params.encoding), "prompt_tokens": tokens,
        "seconds": round(time.perf_counter() - t0, 4),
    }
