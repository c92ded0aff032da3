"""The `score` op: how likely the loaded model finds each of a batch of texts (sums of token log-probabilities).

A 270M base model writes poor corrections but judges well which of a few sentences is likelier; the proofreader
(app/proofing/) asks this op to compare a sentence with its candidate corrections. Texts are read in the order of
their token ids, not the request's: candidates of one sentence then follow each other and share their beginning,
which the backend keeps evaluated (only the tokens after the common prefix are read again).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inference.backends.base import ScoreStats
from inference.protocol import BadRequest, Cancelled, ModelError, ErrorCode, NoModel

if TYPE_CHECKING:
    from inference.engine import Engine

MAX_SCORE_TEXTS = 1024  # one request's batch; a proofread of a long selection sends a few hundred


@dataclass(frozen=True)
class ScoreParams:
    """A `score` request's parameters, validated before any model work."""

    texts: tuple[str, ...]
    token_logprobs: bool = False

    @classmethod
    def from_wire(cls, params: dict) -> "ScoreParams":
        unknown = sorted(set(params) - {"texts", "token_logprobs"})
        if unknown:
            raise BadRequest(f"Unknown score parameter(s): {', '.join(unknown)}.")
        texts = params.get("texts")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
            raise BadRequest("score needs 'texts', a list of non-empty strings.")
        if len(texts) > MAX_SCORE_TEXTS:
            raise BadRequest(f"score takes at most {MAX_SCORE_TEXTS} texts a request, not {len(texts)}; send several.")
        return cls(tuple(texts), bool(params.get("token_logprobs", False)))


def run_score(engine: "Engine", params: ScoreParams, cancel: threading.Event) -> dict:
    """Each text's summed log-probability under the loaded model, in request order (see the protocol)."""
    if engine.model is None:
        raise NoModel("No model is loaded; send load_model first.")
    t0 = time.perf_counter()
    backend = engine.backend
    backend.check_scoring()
    ids = [backend.tokenize(text, add_bos=True) for text in params.texts]
    for text_ids in ids:
        if len(text_ids) >= backend.n_ctx:
            raise ModelError(f"A text of {len(text_ids)} tokens does not fit the context of {backend.n_ctx}.", code=ErrorCode.CONTEXT_OVERFLOW)
    order = sorted(range(len(ids)), key=lambda i: ids[i])  # neighbours share their longest beginnings
    stats = ScoreStats()
    logprobs: list[list[float]] = [[] for _ in ids]
    for i in order:
        if cancel.is_set():
            raise Cancelled("Scoring was stopped.")
        logprobs[i] = backend.score(ids[i], stats, cancel)
    result = {"scores": [float(sum(lp)) for lp in logprobs], "tokens": [len(lp) for lp in logprobs],
              "tokens_reused": stats.tokens_reused, "tokens_evaluated": stats.tokens_evaluated,
              "seconds": round(time.perf_counter() - t0, 4)}
    if params.token_logprobs:
        result["token_logprobs"] = [[round(x, 4) for x in lp] for lp in logprobs]
    return result
