"""A scripted backend with a byte tokenizer, so protocol, store and GUI tests run in milliseconds."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Iterator

from inference.backends.base import Backend, GenerationStats, LoadOptions, RequestContext, SamplingParams, ScoreStats

END = 256  # one id past the 256 byte tokens
UNSCRIPTED_LOGPROB = -0.1  # a weak preference for shorter texts: below every margin of the proofreader but Harper's


class FakeBackend(Backend):
    """Yields enqueued replies token by token; with nothing queued it echoes a fixed sentence.

    When the fake runs inside a worker process started by a test, `SCRIPTORIUM_FAKE_REPLIES` (a JSON list)
    scripts its first replies, `SCRIPTORIUM_FAKE_REPLY` every one after them, and `SCRIPTORIUM_FAKE_DELAY_MS`
    paces tokens. Scores are deterministic: a text scripted in `scores` (or `SCRIPTORIUM_FAKE_SCORES`, a JSON
    object of text → log-probability) has that sum, spread evenly over its tokens; any other text costs
    UNSCRIPTED_LOGPROB a byte, so of two unscripted texts the shorter is the likelier.
    """

    name = "fake"

    def __init__(self) -> None:
        self.replies: deque[str] = deque(json.loads(os.environ.get("SCRIPTORIUM_FAKE_REPLIES", "[]")))
        self.delay_s = float(os.environ.get("SCRIPTORIUM_FAKE_DELAY_MS", "0")) / 1000
        self.default_reply = os.environ.get("SCRIPTORIUM_FAKE_REPLY", "The quick brown fox jumps over the lazy dog.")
        self.prompts: list[list[int]] = []
        self.sampling: list[SamplingParams] = []  # each generate call's, to check what a retry asked for
        self.scores: dict[str, float] = json.loads(os.environ.get("SCRIPTORIUM_FAKE_SCORES", "{}"))
        self.scored: list[str] = []  # each scored text, in the order the backend read them

    def enqueue(self, replies: list[str]) -> None:
        """Script the next replies, one per generate call."""
        self.replies.extend(replies)

    def load(self, path: Path, options: LoadOptions) -> dict:
        return {"device": "cpu", "n_ctx": self.n_ctx, "n_gpu_layers": 0, "backend": self.name}

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return list(text.encode("utf-8"))

    def token_bytes(self, token_id: int) -> bytes:
        return bytes([token_id]) if token_id < 256 else b""

    def is_end(self, token_id: int) -> bool:
        return token_id == END

    @property
    def n_ctx(self) -> int:
        return 4096

    def check_scoring(self) -> None:
        """The fake scores every text."""

    def score(self, tokens: list[int], stats: ScoreStats, cancel: threading.Event | None = None) -> list[float]:
        text = bytes(tokens).decode("utf-8", "replace")
        self.scored.append(text)
        n = max(len(tokens) - 1, 1)
        stats.tokens_evaluated += len(tokens)
        per_token = self.scores[text] / n if text in self.scores else UNSCRIPTED_LOGPROB
        return [per_token] * n

    def generate(self, prompt: list[int], params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[int]:
        self.prompts.append(list(prompt))
        self.sampling.append(params)
        stats.prompt_tokens = len(prompt)
        reply = self.replies.popleft() if self.replies else self.default_reply
        for token in list(reply.encode("utf-8"))[: params.max_tokens]:
            if self.delay_s:
                time.sleep(self.delay_s)  # pacing a scripted stream, not waiting on anything
            stats.generated_tokens += 1
            yield token
