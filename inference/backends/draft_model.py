"""The draft-model drafter: a small llama.cpp model of the same tokenizer proposes what the loaded one verifies."""

from __future__ import annotations

from typing import Sequence

from inference.backends.llama_session import LlamaSession
from inference.cache import usable_prefix


class DraftModel:
    """Greedy drafting with a small llama.cpp model of the same tokenizer, keeping its own KV prefix between calls."""

    def __init__(self, session: LlamaSession, name: str) -> None:
        self.session = session
        self.name = f"draft:{name}"

    def _sync(self, token_ids: Sequence[int]) -> None:
        """Bring the draft model's cache to `token_ids`, evaluating only what it does not hold yet."""
        s = self.session
        keep = min(usable_prefix(s.cached_tokens(), s.pos_min(), token_ids, s.n_swa), len(token_ids) - 1)
        s.extend(token_ids[keep:], keep)

    def __call__(self, token_ids: Sequence[int], k: int) -> list[int]:
        if k <= 0 or len(token_ids) + k >= self.session.n_ctx:
            return []
        self._sync(token_ids)
        out = [self.session.argmax(-1)]
        while len(out) < k:
            self.session.extend([out[-1]])
            out.append(self.session.argmax(-1))
        return out

    def close(self) -> None:
        self.session.close()


def same_vocabulary(a: LlamaSession, b: LlamaSession) -> bool:
    """Whether two llama.cpp models share one tokenizer: the same size and the same text for every token."""
    n = a.n_vocab
    if n != b.n_vocab:
        return False
    return all(a.token_text(i) == b.token_text(i) for i in range(n))
