"""The worker protocol: one JSON object per line on stdin (requests) and stdout (events).

Contract (version 1):
- A request is ``{"id": str, "op": str, "params": {...}}``, optionally with ``"priority":
  "interactive" | "background"`` (default interactive) and ``"client": str`` (who sent a
  background request). Ops: hello, load_model, generate, cancel, embed, score, tokenize, cache_stats,
  cache_clear, cache_budget (``{"mb": N}``: bound cache.db from now on, evicting at once),
  queue_stats (what runs, what waits, how the last requests ended), shutdown.
- For each request the worker emits zero or more ``progress`` / ``token`` events and then
  exactly one terminal event, ``done`` (with a ``result`` object) or ``error`` (a stable
  ``code`` and a ``message`` a person can act on).
- ``token`` events carry whole characters only: bytes are decoded incrementally, so a
  three-byte CJK character never arrives split.
- ``embed`` takes ``{"texts": [str], "model"?: NAME, "batch_size"?: 1..256 (32), "encoding"?:
  "base64" | "list"}``; no model means the embedded all-MiniLM-L6-v2, a name or path a GGUF run in
  llama.cpp's embedding mode. It emits a ``progress`` event (stage ``embed``) after each batch, stops
  between batches on ``cancel``, and answers ``{"model": {"name", "sha256", "dim", "kind",
  "max_tokens"}, "count", "encoding", "vectors", "prompt_tokens", "seconds"}``: unit-length float32
  vectors in request order, by default base64 of the row-major ``count × dim`` little-endian float32
  matrix (OpenAI's base64 layout; measured 26x faster to decode than lists of floats, and a
  quarter of their size), or lists of floats. No texts: the embedder is loaded and described, nothing embedded.
- ``score`` takes ``{"texts": [str] (1..MAX_SCORE_TEXTS), "token_logprobs"?: bool}`` and answers
  ``{"scores": [float], "tokens": [int], "tokens_reused", "tokens_evaluated", "seconds"}``: for each text,
  in request order, the sum of the natural-log probabilities the loaded model gives its tokens after the
  first (the BOS token), and how many tokens that sum covers; with ``token_logprobs`` also each text's
  per-token list. Texts are read in token order, so texts sharing a beginning reuse its evaluation. It
  stops between texts on ``cancel``; a backend that cannot see a prompt's probabilities (a remote
  server) answers ``unsupported``.
- Requests run one at a time. Interactive requests (the desktop, the command line) run in
  arrival order before any queued background one; background requests are served round-robin
  by client, so one client's burst cannot starve another. ``shutdown`` runs once the queue is
  empty.
- ``cancel`` and ``queue_stats`` are handled at once, even while a request runs; ``cancel``
  stops the running or queued request it names, which then ends with error code ``cancelled``.
- While no request waits, the engine may run background work a short step at a time (the torch
  engine's skip-set search); a request that arrives waits for the step in progress only.
- The torch engine's ``cache_stats`` answers ``{"skip_set": {"state", "setting", ...}}``: state ``none``
  (no request asked for layer skipping), ``pending`` (asked; the search waits for the worker to be idle,
  or for ``text_needed`` tokens of prompts, ``text_tokens`` so far), ``searching`` (``steps``,
  ``sets_tried``, ``sample_tokens``), ``stored`` (``skip``: the layers skipped, empty when skipping does
  not pay; ``predicted_speedup``) or ``failed``. A greedy ``generate`` that could draft by skipping
  carries the same state in its stats as ``skip_set``, ``skip_layers`` (how many the set skips) once one
  is stored, and ``skip_search_s`` when it waited for the search (mode ``skip`` forced before a set was
  stored). The desk's status bar says which (app/desk/status.py).
- The worker never dies on a bad request: it answers ``error`` and reads the next line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

PROTOCOL_VERSION = 1

OPS = ("hello", "load_model", "generate", "cancel", "embed", "score", "tokenize", "cache_stats", "cache_clear", "cache_budget", "queue_stats", "shutdown")
INTERACTIVE, BACKGROUND = "interactive", "background"
PRIORITIES = (INTERACTIVE, BACKGROUND)


class ErrorCode:
    """Stable error codes; clients branch on these, never on message text."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_OP = "unknown_op"
    CANCELLED = "cancelled"
    NO_MODEL = "no_model"
    MODEL_NOT_FOUND = "model_not_found"
    NOT_GGUF = "not_gguf"
    TRUNCATED_MODEL = "truncated_model"
    UNSUPPORTED_ARCHITECTURE = "unsupported_architecture"
    OUT_OF_MEMORY = "out_of_memory"
    MODEL_LOAD_FAILED = "model_load_failed"
    CONTEXT_OVERFLOW = "context_overflow"
    UNSUPPORTED = "unsupported"
    WORKER_DIED = "worker_died"
    WORKER_START_FAILED = "worker_start_failed"
    COMPRESS_FAILED = "compress_failed"
    DISK_FULL = "disk_full"
    INCOMPATIBLE_MODELS = "incompatible_models"
    # a remote model (an OpenAI-compatible server): what went wrong between us and it
    REMOTE_UNREACHABLE = "remote_unreachable"
    REMOTE_UNAUTHORISED = "remote_unauthorised"
    MODEL_NOT_SERVED = "model_not_served"
    REMOTE_TIMEOUT = "remote_timeout"
    STREAM_DROPPED = "stream_dropped"
    REMOTE_BAD_RESPONSE = "remote_bad_response"
    REMOTE_HTTP_ERROR = "remote_http_error"
    INTERNAL = "internal"


class WorkerError(Exception):
    """Base of every error the worker reports; ``code`` is the protocol error code."""

    code: ClassVar[str] = ErrorCode.INTERNAL

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code  # type: ignore[misc]

    @property
    def message(self) -> str:
        return str(self)


class BadRequest(WorkerError):
    code = ErrorCode.BAD_REQUEST


class Cancelled(WorkerError):
    code = ErrorCode.CANCELLED


class NoModel(WorkerError):
    code = ErrorCode.NO_MODEL


class ModelError(WorkerError):
    """A model file that cannot be used; the code says why (missing, not GGUF, truncated …)."""

    code = ErrorCode.MODEL_LOAD_FAILED


class WorkerDied(WorkerError):
    code = ErrorCode.WORKER_DIED


@dataclass(frozen=True)
class Request:
    id: str
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    priority: str = INTERACTIVE
    client: str = ""  # whose background request this is: the worker takes turns between clients
    kind: ClassVar[str] = "request"

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise BadRequest(f"Unknown priority {self.priority!r}; use {' or '.join(PRIORITIES)}.")
        if not isinstance(self.client, str):
            raise BadRequest(f"A request's client must be a string, not {self.client!r}.")


@dataclass(frozen=True)
class Progress:
    id: str
    stage: str
    fraction: float | None = None
    message: str = ""
    kind: ClassVar[str] = "progress"


@dataclass(frozen=True)
class Token:
    id: str
    text: str
    n_tokens: int = 1
    kind: ClassVar[str] = "token"


@dataclass(frozen=True)
class Done:
    id: str
    result: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "done"


@dataclass(frozen=True)
class Error:
    id: str
    code: str
    message: str
    kind: ClassVar[str] = "error"


Event = Progress | Token | Done | Error
Message = Request | Event
_KINDS: dict[str, type] = {cls.kind: cls for cls in (Request, Progress, Token, Done, Error)}


def to_line(message: Message) -> str:
    """Serialise a message as one JSON line (no embedded newlines: JSON escapes them)."""
    payload = {"kind": message.kind, **asdict(message)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def from_line(line: str) -> Message:
    """Parse one line into a message; raise BadRequest with a readable reason otherwise."""
    try:
        payload = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Not a JSON line: {exc.msg} at column {exc.colno}.") from None
    if not isinstance(payload, dict):
        raise BadRequest("A protocol line must be a JSON object.")
    kind = payload.pop("kind", "request")
    cls = _KINDS.get(kind)
    if cls is None:
        raise BadRequest(f"Unknown message kind {kind!r}.")
    try:
        return cls(**payload)
    except TypeError as exc:
        raise BadRequest(f"Malformed {kind}: {exc}.") from None


def error_event(request_id: str, exc: BaseException) -> Error:
    """Turn any exception into an error event; unknown ones become ``internal``."""
    if isinstance(exc, WorkerError):
        return Error(request_id, exc.code, exc.message)
    if isinstance(exc, MemoryError):
        return Error(request_id, ErrorCode.OUT_OF_MEMORY, "The worker ran out of memory; close other programs or choose a smaller model.")
    return Error(request_id, ErrorCode.INTERNAL, f"Internal error in the worker: {type(exc).__name__}: {exc}")
