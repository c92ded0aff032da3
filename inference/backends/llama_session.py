"""LlamaSession: one loaded llama.cpp model and what its KV cache holds exactly.

It owns the `Llama` and its exactness bookkeeping: the aligned prefill, state snapshot and restore, the
prefix a new prompt may reuse with the text unchanged, and the verify batches of speculative decoding.
Every call into llama-cpp-python goes through inference.backends.llama_adapter.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from inference.backends import llama_adapter as adapter
from inference.backends.base import GenerationStats, ScoreStats
from inference.cache import Identity, SavedState, common_prefix, usable_prefix
from inference.protocol import Cancelled


class LlamaSession:
    """A loaded model and its live KV cache (sequence 0)."""

    def __init__(self, llm: Any, n_batch: int) -> None:
        self.llm = llm
        self.n_batch = n_batch  # prefill's batch size, hence the alignment of reusable prefixes
        self.n_swa = adapter.n_swa(llm)
        self.exact_upto = 0  # the live cache's prefix evaluated in batches aligned as a fresh run's would be
        # The last scored text and its tokens' log-probabilities: a next text sharing its beginning reads only the rest.
        self.scored_tokens: list[int] = []
        self.scored_logprobs: list[float] = []

    @classmethod
    def open(cls, path: Path | str, n_ctx: int, n_batch: int, **kwargs: Any) -> "LlamaSession":
        """Load a GGUF through open_llama with prefill batches of n_batch."""
        return cls(adapter.open_llama(path, n_ctx=n_ctx, n_batch=n_batch, **kwargs), n_batch)

    def close(self) -> None:
        self.llm.close()

    # -- the model -------------------------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def n_tokens(self) -> int:
        """How many positions the KV cache holds."""
        return int(self.llm.n_tokens)

    @property
    def n_threads(self) -> int:
        return int(self.llm.n_threads)

    @property
    def n_layers(self) -> int:
        return adapter.n_layers(self.llm)

    @property
    def n_vocab(self) -> int:
        return int(self.llm.n_vocab())

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def detokenize(self, ids: Sequence[int]) -> bytes:
        return self.llm.detokenize(list(ids))

    def is_end(self, token: int) -> bool:
        return adapter.is_eog(self.llm, token)

    def token_text(self, token: int) -> bytes:
        return adapter.token_text(self.llm, token)

    def identity(self, model_sha256: str) -> Identity:
        """Everything a state blob depends on besides its tokens; a blob is only offered to a context that matches."""
        return Identity(model_sha256, *adapter.context_settings(self.llm))

    # -- the live cache --------------------------------------------------------------------------
    def cached_tokens(self) -> np.ndarray:
        return adapter.cached_tokens(self.llm)

    def pos_min(self) -> int:
        """The lowest position the KV cache still holds (sliding-window layers forget older ones); 0 when empty."""
        return adapter.seq_pos_min(self.llm)

    def reusable_prefix(self, prompt: list[int]) -> int:
        """How many leading prompt tokens the live KV cache can keep with the text unchanged (see usable_prefix)."""
        return usable_prefix(self.cached_tokens(), self.pos_min(), prompt, self.n_swa, self.n_batch, self.exact_upto)

    def reset(self) -> None:
        """Forget the live cache."""
        self.llm.reset()
        self.exact_upto = 0

    def extend(self, tokens: Sequence[int], keep: int | None = None) -> None:
        """Evaluate `tokens` after the first `keep` cached positions (default: all of them); no alignment promised."""
        if keep is not None:
            adapter.keep_prefix(self.llm, keep)
        self.llm.eval(list(tokens))

    def prefill(self, prompt: list[int], stats: GenerationStats, cancel: threading.Event | None = None,
                at_boundary: Callable[[], None] = lambda: None) -> None:
        """Evaluate the prompt after its reusable prefix, in the batches a fresh run would use.

        The cache keeps a prefix ending on a batch boundary; the rest is evaluated from there in whole
        batches, so every position sees the arithmetic of a fresh run and the text cannot change.
        `at_boundary` runs after the last whole batch (the backend snapshots the document's state
        there): the point a longer prompt (the writer typed on) can resume from exactly. A cancel
        stops it mid-batch.
        """
        llm, size = self.llm, self.n_batch
        keep = self.reusable_prefix(prompt)
        if keep == 0:
            llm.reset()
        stats.tokens_reused = keep
        adapter.keep_prefix(llm, keep)
        boundary = len(prompt) // size * size
        with adapter.abortable(llm, cancel):
            try:
                if boundary > keep:
                    llm.eval(prompt[keep:boundary])
                    at_boundary()
                if boundary < len(prompt):
                    llm.eval(prompt[max(keep, boundary):])
            except RuntimeError:
                if cancel is None or not cancel.is_set():
                    raise
                # llama.cpp dropped the interrupted batch; whole batches before it stay usable.
                self.exact_upto = self.n_tokens
                raise Cancelled("Generation was stopped while reading the prompt.") from None
        self.exact_upto = max(keep, boundary)

    def snapshot(self, doc_key: str) -> SavedState:
        """Sequence 0's KV state and the tokens it holds, as a value the cache can keep."""
        blob = adapter.save_state(self.llm)
        tokens = np.array(self.llm.input_ids[: self.n_tokens], dtype=np.int32)
        return SavedState(doc_key, tokens, blob, self.pos_min())

    def restore(self, state: SavedState) -> bool:
        """Load a saved state into sequence 0; False (and a reset cache) when llama.cpp refuses it."""
        if adapter.load_state(self.llm, state.blob, state.tokens):
            self.exact_upto = len(state.tokens)  # states are taken at batch boundaries (prefill)
            return True
        self.reset()
        return False

    # -- scoring ---------------------------------------------------------------------------------
    def score(self, tokens: list[int], stats: ScoreStats, cancel: threading.Event | None = None) -> list[float]:
        """log p(token i | tokens before it) for i ≥ 1, reading only what follows the part shared with the last
        scored text (still in the cache: checked against it, since a generation may have replaced it)."""
        shared = common_prefix(self.scored_tokens, tokens)
        shared = min(shared, common_prefix(self.cached_tokens()[: self.n_tokens], tokens))
        # The shared part's last token is read again: its logits predict the first token that differs.
        keep = max(0, min(shared, len(tokens)) - 1)
        if keep and self.n_swa and keep < self.n_tokens and self.pos_min() > max(0, keep - self.n_swa):
            keep = 0  # a sliding-window cache has forgotten what a cut that far back needs
        logprobs = self.scored_logprobs[:keep] if keep else []
        self.truncate(keep)  # also at 0: Llama.reset() forgets the positions but leaves them in the KV cache
        self.exact_upto = min(self.exact_upto, keep)  # what follows is read in batches a fresh prefill would not use
        self.scored_tokens = []  # until this text is read whole
        with adapter.abortable(self.llm, cancel):
            try:
                for start in range(keep, len(tokens), self.n_batch):
                    chunk = tokens[start : start + self.n_batch]
                    self.decode(chunk)
                    logprobs += _next_logprobs(adapter.batch_logits(self.llm, len(chunk)), tokens[start + 1 : start + 1 + len(chunk)])
            except RuntimeError:
                if cancel is None or not cancel.is_set():
                    raise
                self.truncate(0)
                raise Cancelled("Scoring was stopped.") from None
        stats.tokens_reused += keep
        stats.tokens_evaluated += len(tokens) - keep
        self.scored_tokens, self.scored_logprobs = list(tokens), logprobs
        return logprobs

    # -- decoding --------------------------------------------------------------------------------
    def sample(self, prompt: list[int], seed: int | None, **sampling: Any) -> Iterator[int]:
        """Tokens from Llama.generate, which finds the prompt already evaluated; never stops by itself."""
        if seed is not None:
            self.llm.set_seed(seed)
        return self.llm.generate(prompt, reset=True, **sampling)

    def decode(self, tokens: Sequence[int]) -> None:
        """Decode a batch after the cached positions with logits at every position (a speculative verify)."""
        adapter.decode_batch(self.llm, tokens)

    def logits(self, i: int) -> np.ndarray:
        """The logits at position i of the last batch (-1: its last)."""
        return adapter.logits(self.llm, i)

    def argmax(self, i: int) -> int:
        return int(self.logits(i).argmax())

    def truncate(self, n: int) -> None:
        """Cut the cache back to its first n positions (the rejected part of a verify batch)."""
        adapter.truncate(self.llm, n)


def _next_logprobs(logits: np.ndarray, following: Sequence[int]) -> list[float]:
    """log-softmax of each row at the token that follows it (rows past the last token are dropped)."""
    rows = logits[: len(following)].astype(np.float64)
    top = rows.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
    return (rows[np.arange(len(following)), list(following)] - lse).tolist()


class SessionTokens:
    """Tokens through llama.cpp's own tokenizer, for a backend whose `session` property is a LlamaSession.

    The llama.cpp backend and the torch engine (which reads the same GGUF's vocabulary) tokenize alike.
    """

    session: LlamaSession

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return self.session.tokenize(text, add_bos)

    def token_bytes(self, token_id: int) -> bytes:
        return self.session.detokenize([token_id])

    def is_end(self, token_id: int) -> bool:
        return self.session.is_end(token_id)
