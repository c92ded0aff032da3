"""Prefill and decode steps over a Transformer's static KV cache; on CUDA the decode step replays a captured graph."""

from __future__ import annotations

import logging
import threading
from typing import Sequence

import torch
from torch import Tensor

from inference.backends.torch_model import Transformer
from inference.cache import usable_prefix
from inference.protocol import Cancelled

log = logging.getLogger(__name__)

# Prefill chunk: also the alignment of a reusable prefix, so a kept prefix was computed in the very chunks
# a fresh run uses and the text cannot change (the rule of inference.cache.usable_prefix).
CHUNK = 256


class DecodeGraph:
    """One decode step (batch 1, one token) captured as a CUDA graph over static input buffers.

    The step attends over the whole cache (kv_len = max_seq): a host-side length would break the capture.
    Capture writes scratch KV at position 0, so it happens before any prompt is read.
    """

    def __init__(self, model: Transformer, skip: frozenset[int] = frozenset()) -> None:
        device = model.tok_embeddings.weight.device
        self.idx = torch.zeros(1, 1, dtype=torch.long, device=device)
        self.pos = torch.zeros(1, dtype=torch.long, device=device)
        step = lambda: model(self.idx, self.pos, skip=skip, kv_len=model.max_seq)  # noqa: E731
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.no_grad():
            with torch.cuda.stream(side):  # warm-up off the capture stream, as torch.cuda.graphs asks
                for _ in range(2):
                    step()
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.logits = step()

    def __call__(self, token: int, pos: int) -> Tensor:
        """Logits [V] of `token` at `pos` (a view of the graph's output buffer: read it before the next call)."""
        self.idx.fill_(token)
        self.pos.fill_(pos)
        self.graph.replay()
        return self.logits[0, -1]


class Decoder:
    """The live sequence of one model: which tokens its cache holds, prefill in aligned chunks, one decode step."""

    def __init__(self, model: Transformer, max_seq: int, dtype: torch.dtype, use_graph: bool) -> None:
        self.model = model
        self.device = model.tok_embeddings.weight.device
        model.setup_caches(1, max_seq, dtype, self.device)
        self.graph = DecodeGraph(model) if use_graph else None
        self.tokens: list[int] = []  # what the cache holds, position by position
        self.exact_upto = 0  # the prefix evaluated in CHUNK-aligned prefill chunks

    @torch.no_grad()
    def prefill(self, prompt: Sequence[int], cancel: threading.Event | None = None) -> tuple[Tensor, int]:
        """Read the prompt after its reusable prefix; the last position's logits [V] and how many tokens were kept."""
        keep = usable_prefix(self.tokens, 0, prompt, 0, CHUNK, self.exact_upto)
        self.tokens, self.exact_upto = list(prompt[:keep]), keep
        logits = None
        for start in range(keep, len(prompt), CHUNK):  # keep is a multiple of CHUNK
            if cancel is not None and cancel.is_set():
                raise Cancelled("Generation was stopped while reading the prompt.")
            chunk = list(prompt[start : start + CHUNK])
            logits = self._forward(chunk, start)
            self.tokens += chunk
            self.exact_upto = len(self.tokens) if len(chunk) == CHUNK else self.exact_upto
        assert logits is not None  # usable_prefix always leaves the last prompt token to read
        return logits, keep

    @torch.no_grad()
    def step(self, token: int) -> Tensor:
        """Append one token and return the logits [V] after it."""
        pos = len(self.tokens)
        self.tokens.append(token)
        if self.graph is not None:
            return self.graph(token, pos)
        return self._forward([token], pos)

    def _forward(self, tokens: list[int], start: int) -> Tensor:
        idx = torch.tensor([tokens], dtype=torch.long, device=self.device)
        pos = torch.arange(start, start + len(tokens), device=self.device)
        return self.model(idx, pos, last_only=True)[0, -1]

    def reset(self) -> None:
        self.tokens, self.exact_upto = [], 0
