"""OpenAI's request bodies to the worker's generate parameters, and the worker's results back into OpenAI's shapes."""

from __future__ import annotations

import base64
import secrets
import struct
import time
from typing import Any

from inference.chat_template import render_conversation
from inference.engine import GenerateParams
from inference.protocol import BadRequest, ErrorCode

# Completions default to OpenAI's 16 tokens. A chat has no OpenAI default but "what fits", which
# would reserve the whole context; 1024 (at most half the context) answers any one turn.
COMPLETION_MAX_TOKENS = 16
CHAT_MAX_TOKENS = 1024
# OpenAI's names for the worker's sampling parameters; top_k, min_p and repeat_penalty are
# llama.cpp's, accepted as llama-cpp-python's server accepts them. An absent one keeps the
# project's default (inference.backends.base.SamplingParams), as `scriptorium write` does.
SAMPLING = ("temperature", "top_p", "seed", "top_k", "min_p", "repeat_penalty")
# What OpenAI defines but this endpoint cannot honour, with the values that mean "not used":
# a request that uses one gets a 400 naming it, never an answer computed without it.
UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "n": (None, 1), "best_of": (None, 1), "echo": (None, False), "suffix": (None, ""),
    "logprobs": (None, False, 0), "top_logprobs": (None, 0), "logit_bias": (None, {}),
    "frequency_penalty": (None, 0), "presence_penalty": (None, 0),
    "tools": (None, []), "tool_choice": (None, "none"), "functions": (None, []), "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
}
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
# The worker's error codes as HTTP statuses; any other code (a new one) is a 500.
STATUS = {
    ErrorCode.BAD_REQUEST: 400, ErrorCode.CONTEXT_OVERFLOW: 400, ErrorCode.UNSUPPORTED: 501,
    ErrorCode.CANCELLED: 503, ErrorCode.WORKER_DIED: 503, ErrorCode.WORKER_START_FAILED: 503, ErrorCode.OUT_OF_MEMORY: 503,
}


class ApiError(Exception):
    """A request answered with an OpenAI-shaped error and this HTTP status."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.param = status, code, param

    def body(self) -> dict:
        return error_body(self.status, str(self), self.code, self.param)

    @classmethod
    def from_worker(cls, code: str, message: str) -> "ApiError":
        return cls(STATUS.get(code, 500), message, code)


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict:
    """OpenAI's error object; its type follows the status as OpenAI's own API does."""
    kind = "authentication_error" if status == 401 else "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# -- requests -----------------------------------------------------------------------------------
def completion_params(body: dict, speculative: str) -> dict:
    """A /v1/completions body as the worker's generate parameters (a raw prompt), validated."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "prompt must be a string (or a list holding one string); token arrays and batches are not supported.", param="prompt")
    return _generate_params(body, prompt, (), COMPLETION_MAX_TOKENS, speculative)


def chat_params(body: dict, template: str | None, n_ctx: int, speculative: str) -> dict:
    """A /v1/chat/completions body as generate parameters: the messages rendered with the model's own template."""
    try:
        prompt, stops = render_conversation(template, messages_of(body))
    except BadRequest as exc:
        raise ApiError(400, str(exc), ErrorCode.BAD_REQUEST, "messages") from None
    default = min(CHAT_MAX_TOKENS, n_ctx // 2)
    return _generate_params({**body, "max_tokens": body.get("max_completion_tokens", body.get("max_tokens"))}, prompt, stops, default, speculative)


def messages_of(body: dict) -> list[dict]:
    """The conversation as {role, content} with text content: OpenAI's text parts joined, other parts refused."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list of {role, content} objects.", param="messages")
    return [_message(m, i) for i, m in enumerate(messages)]


def _message(message: Any, i: int) -> dict:
    param = f"messages[{i}]"
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise ApiError(400, f"{param} must be an object whose role is one of {', '.join(ROLES)}.", param=param)
    content = message.get("content")
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str):
        raise ApiError(400, f"{param}.content must be text (a string or text parts); this endpoint reads no images, audio or tool calls.", param=f"{param}.content")
    return {"role": ROLES[message["role"]], "content": content}


def _generate_params(body: dict, prompt: str, stops: tuple[str, ...], default_max: int, speculative: str) -> dict:
    for name, unused in UNSUPPORTED.items():
        if name in body and body[name] not in unused:
            raise ApiError(400, f"{name} is not supported by this endpoint; leave it out.", param=name)
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else stop or []
    max_tokens = body.get("max_tokens")
    params = {
        "raw_prompt": prompt, "max_tokens": default_max if max_tokens is None else max_tokens, "speculative": speculative,
        **{k: body[k] for k in SAMPLING if body.get(k) is not None},
    }
    if stop or stops:
        params["stop"] = [*stops, *stop] if isinstance(stop, list) else stop
    try:
        GenerateParams.from_wire(params)  # refused here, with the reason, before it queues behind anyone
    except BadRequest as exc:
        raise ApiError(400, str(exc), ErrorCode.BAD_REQUEST) from None
    return params


def embed_params(body: dict) -> dict:
    """A /v1/embeddings body as the worker's embed parameters; `model` names the embedder (absent: the default one)."""
    texts = [body.get("input")] if isinstance(body.get("input"), str) else body.get("input")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "input must be a string or a non-empty list of strings; token arrays are not supported.", param="input")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise ApiError(400, "encoding_format must be float or base64.", param="encoding_format")
    if body.get("dimensions") is not None:
        raise ApiError(400, "dimensions is not supported by this endpoint; leave it out.", param="dimensions")
    model = body.get("model")
    return {"texts": texts, "encoding": "list", **({"model": model} if model else {})}


def embeddings(result: dict, encoding_format: str) -> dict:
    """The embed op's result in OpenAI's shape; base64 is each vector's little-endian float32 bytes, as OpenAI sends it."""
    def encode(vector: list[float]) -> list[float] | str:
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii") if encoding_format == "base64" else vector

    rows = [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(result.get("vectors", []))]
    n = result.get("prompt_tokens", 0)
    return {"object": "list", "data": rows, "model": result.get("model", {}).get("name", ""), "usage": {"prompt_tokens": n, "total_tokens": n}}


def wants_usage_in_stream(body: dict) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


# -- responses ----------------------------------------------------------------------------------
def finish_reason(result: dict) -> str:
    """OpenAI's finish_reason for the worker's stop_reason: only running out of max_tokens is "length"."""
    return "length" if result.get("stop_reason") == "length" else "stop"


def usage(result: dict) -> dict:
    stats = result.get("stats", {})
    prompt, completion = stats.get("prompt_tokens", 0), stats.get("generated_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class Reply:
    """One response's identity and its OpenAI shape, whole or as stream chunks; a chat reply starts at its first non-blank."""

    def __init__(self, chat: bool, model: str) -> None:
        self.chat, self.model = chat, model
        self.id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        self.created = int(time.time())
        self._begun = not chat

    def text(self, piece: str) -> str:
        """The part of a streamed piece to send: the blanks a chat reply opens with are dropped."""
        if not self._begun:
            piece = piece.lstrip()
            self._begun = bool(piece)
        return piece

    def whole(self, result: dict) -> dict:
        text, finish = result.get("output", ""), finish_reason(result)
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text.lstrip()}, "finish_reason": finish}
            return self._envelope("chat.completion", [choice], usage=usage(result))
        return self._envelope("text_completion", [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}], usage=usage(result))

    def chunk(self, text: str = "", finish: str | None = None, opening: bool = False) -> dict:
        if not self.chat:
            return self._envelope("text_completion", [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}])
        delta = {"role": "assistant", "content": ""} if opening else {"content": text} if text else {}
        return self._envelope("chat.completion.chunk", [{"index": 0, "delta": delta, "finish_reason": finish}])

    def usage_chunk(self, result: dict) -> dict:
        """The last chunk when the client asked for stream_options.include_usage: no choices, the usage."""
        return self._envelope("chat.completion.chunk" if self.chat else "text_completion", [], usage=usage(result))

    def _envelope(self, kind: str, choices: list[dict], **extra: Any) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model, "choices": choices, **extra}
