"""Self-speculation by skipping layers: the torch model drafts with some layers bypassed and verifies in one batch.

No second model and no training (the idea of SWIFT, CLaSp, Draft&Verify): the drafter is the same Transformer
run with a skip set, sharing the target's KV cache; the verify is inference.speculative's greedy loop over a
TorchTarget, so every emitted token is the full model's own greedy choice. The skip set is searched once per
model on the user's text (inference.backends.torch_skip_search) and kept by inference.backends.torch_skip_store.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from inference.backends.torch_model import Transformer
from inference.speculative import MAX_K


class StepGraph:
    """One forward of T tokens (a verify batch, or a draft step with a skip set) captured as a CUDA graph.

    Capture writes scratch keys and values at the cache's last T positions, which every query masks until a
    real token is written there: so, unlike a capture at position 0, it may happen after a prompt was read.
    """

    def __init__(self, model: Transformer, n: int, skip: frozenset[int] = frozenset()) -> None:
        device = model.tok_embeddings.weight.device
        self.idx = torch.zeros(1, n, dtype=torch.long, device=device)
        self.pos = torch.arange(model.max_seq - n, model.max_seq, device=device)
        step = lambda: model(self.idx, self.pos, skip=skip, kv_len=model.max_seq)  # noqa: E731
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up off the capture stream, as torch.cuda.graphs asks
            for _ in range(2):
                step()
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = step()

    def __call__(self, tokens: Sequence[int], start: int) -> torch.Tensor:
        """Logits [T, V] of `tokens` at positions start.. (the graph's output buffer: read it before the next call)."""
        self.idx.copy_(torch.tensor([list(tokens)], dtype=torch.long))  # into the captured buffers, never new ones
        self.pos.copy_(torch.arange(start, start + len(tokens)))
        self.graph.replay()
        return self.logits[0]


class TorchTarget:
    """A Transformer seen as inference.speculative's Target: decode a batch, logits at every position, cut back.

    The cache is static and indexed by position, so cutting back is only a smaller `n_tokens`: a later
    write at the same positions replaces the rejected drafts' keys and values, and the mask hides the rest.
    """

    def __init__(self, model: Transformer, is_end: Callable[[int], bool], n_ctx: int | None = None, graphs: bool = False) -> None:
        self.model = model
        self.n_ctx = min(n_ctx or model.max_seq, model.max_seq)
        self.n_tokens = 0
        self._is_end = is_end
        # On CUDA, decode steps and verify batches of up to MAX_K + 1 tokens replay captured graphs (launch gaps
        # would otherwise dominate a small model's step); prefill chunks stay eager.
        self.graphs = {n: StepGraph(model, n) for n in range(1, MAX_K + 2)} if graphs else {}
        self._logits: torch.Tensor | None = None  # [T, V] of the last batch, on the model's device
        self._argmax: list[int] = []

    @property
    def device(self) -> torch.device:
        return self.model.tok_embeddings.weight.device

    @torch.inference_mode()
    def decode(self, tokens: Sequence[int]) -> None:
        """Evaluate tokens at the next positions; their logits replace the last batch's (the argmax is read back, so this syncs)."""
        if len(tokens) in self.graphs:
            self._logits = self.graphs[len(tokens)](tokens, self.n_tokens)
        else:
            idx = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
            pos = torch.arange(self.n_tokens, self.n_tokens + len(tokens), device=self.device)
            self._logits = self.model(idx, pos)[0]
        self._argmax = self._logits.argmax(-1).tolist()
        self.n_tokens += len(tokens)

    def prefill(self, prompt: Sequence[int], chunk: int = 256) -> None:
        """Evaluate a prompt from position 0 in chunks; the last chunk's logits stay."""
        self.n_tokens = 0
        for start in range(0, len(prompt), chunk):
            self.decode(prompt[start : start + chunk])

    def resume(self, n_tokens: int, last_logits: torch.Tensor) -> None:
        """Continue a sequence another reader put in the cache: n_tokens positions, the last one's logits [V]."""
        self.n_tokens = n_tokens
        self._logits = last_logits[None]
        self._argmax = [int(last_logits.argmax())]

    def logits(self, i: int) -> np.ndarray:
        assert self._logits is not None, "decode first"
        return self._logits[i].float().cpu().numpy()

    def argmax(self, i: int) -> int:
        return self._argmax[i]

    def truncate(self, n: int) -> None:
        self.n_tokens = n

    def is_end(self, token: int) -> bool:
        return self._is_end(token)


class SkipDrafter:
    """inference.speculative's Drafter: k greedy tokens from the target's model with the layers in `skip` bypassed.

    It writes keys and values past the target's last position (only for the layers it runs); the verify
    batch then rewrites every layer at those positions, so the target never reads a drafted entry.
    """

    name = "skip"

    def __init__(self, target: TorchTarget, skip: frozenset[int]) -> None:
        self.target = target
        self.skip = frozenset(skip)
        self.graph = StepGraph(target.model, 1, self.skip) if target.graphs else None

    @torch.inference_mode()
    def __call__(self, token_ids: Sequence[int], k: int) -> list[int]:
        model, device = self.target.model, self.target.device
        pos = self.target.n_tokens  # token_ids[-1] is the token the target has not yet evaluated
        token, out = int(token_ids[-1]), []
        for _ in range(min(k, self.target.n_ctx - pos - 1)):
            if self.graph is not None:
                logits = self.graph([token], pos)[-1]
            else:
                logits = model(torch.tensor([[token]], dtype=torch.long, device=device), torch.tensor([pos], device=device), skip=self.skip)[0, -1]
            token = int(logits.argmax())
            if self.target.is_end(token):
                break
            out.append(token)
            pos += 1
        return out


# -- the engine's side: mode `skip` over a live decoder ------------------------------------------------------
class SkipSpeculation:
    """Mode `skip` for the torch backend: one target, drafter and controller per loaded model, over its Decoder's cache.

    `adopt_skip` takes the skip set (torch_skip_store.SkipSets: stored, or searched on the user's text);
    `generate` continues a prefilled prompt through inference.speculative's loop, so the adaptive controller
    measures what verifying costs here and turns drafting off (k = 0) where it does not pay.
    """

    def __init__(self, model: Transformer, is_end: Callable[[int], bool], n_ctx: int) -> None:
        from inference.speculative import Controller

        self.target = TorchTarget(model, is_end, n_ctx, graphs=model.tok_embeddings.weight.device.type == "cuda")
        self.controller = Controller()
        self.drafter: SkipDrafter | None = None

    def adopt_skip(self, skip: frozenset[int]) -> None:
        """Draft with these layers skipped from now on (an empty set: nothing to gain, `skip` decodes plainly)."""
        self.drafter = SkipDrafter(self.target, skip) if skip else None

    def generate(self, decoder_tokens: list[int], last_logits: torch.Tensor, params, stats, context) -> Iterator[int]:
        """Greedy tokens after a prompt the decoder has just read (its tokens and last logits); keeps decoder_tokens true.

        The decoder's list says which positions of the cache hold which tokens: after speculation it holds the
        prompt and every emitted token the target evaluated, so the next request's prefix reuse stays exact.
        """
        from inference.speculative import speculative_decode

        assert self.drafter is not None, "adopt_skip first"
        prompt = list(decoder_tokens)
        self.target.resume(len(prompt), last_logits)
        stats.speculative = self.drafter.name
        history = list(prompt)
        try:
            for token in speculative_decode(self.target, self.controller, prompt, self.drafter, params, stats, context):
                history.append(token)
                yield token
        finally:
            decoder_tokens[:] = history[: self.target.n_tokens]
