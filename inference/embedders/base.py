"""The embedder interface: texts in, L2-normalised float32 vectors out, one batch at a time."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod

import numpy as np
import psutil


def embed_threads() -> int:
    """Threads for embedding: one per physical core but one, which the desktop and the store keep.

    Measured with MiniLM on 2 busy cores: 1 thread embedded 9.5 passages/s, 2 threads 6.3, since each of
    OpenMP's barriers waits for the core another process holds; hyperthreads only contend for the same units.
    """
    return max(1, (psutil.cpu_count(logical=False) or os.cpu_count() or 1) - 1)


class Embedder(ABC):
    """One loaded embedding model; `sha256` is its identity, the key its vectors are stored under."""

    kind: str = "abstract"

    def __init__(self, name: str, sha256: str, dim: int, max_tokens: int) -> None:
        self.name, self.sha256, self.dim, self.max_tokens = name, sha256, dim, max_tokens

    @abstractmethod
    def embed_batch(self, texts: list[str], cancel: threading.Event | None = None) -> tuple[np.ndarray, int]:
        """Vectors [len(texts), dim] (float32, unit length) and the tokens read; inputs past max_tokens are cut."""

    def describe(self) -> dict:
        """What the `embed` op reports of the embedder."""
        return {"name": self.name, "sha256": self.sha256, "dim": self.dim, "kind": self.kind, "max_tokens": self.max_tokens}

    def close(self) -> None:
        """Free the model's memory."""
