"""A model served by any OpenAI-compatible server (llama.cpp's server, vLLM …): text or chat messages in, streamed text out."""

from __future__ import annotations

from typing import Iterator

from inference.backends.base import GenerationStats, LoadOptions, RequestContext, SamplingParams, TextBackend
from inference.backends.openai_http import RemoteClient
from inference.models import ModelInfo
from inference.protocol import ErrorCode, NoModel, WorkerError
from inference.tasks import Prompt

# The context assumed when neither the registry entry (--context) nor the server says: most served models have
# at least this much, and a smaller server refuses an over-long prompt with a 400 that names the context.
DEFAULT_CONTEXT = 4096
NOT_APPLICABLE = "not applicable: a remote model"


def estimate_tokens(text: str) -> int:
    """A conservative token count without the server's tokenizer: one token per three ASCII characters and per other character.

    Tokenizers of served models give English prose about four characters a token and CJK text about
    one a character, so this overcounts: the safe side, a prompt shortened a little too much, not refused.
    """
    other = sum(1 for c in text if ord(c) > 127)
    return (len(text) - other) // 3 + other + 1


class OpenAIRemoteBackend(TextBackend):
    """One served model; no session cache and no speculation, since the server owns the decoding."""

    name = "openai_remote"

    def __init__(self) -> None:
        self._client: RemoteClient | None = None
        self._n_ctx = 0

    def load_model(self, model: ModelInfo, options: LoadOptions) -> dict:
        """Check the server is there, lets us in and serves the model; learn its context window."""
        spec = model.remote
        if spec is None:
            raise WorkerError(f"{model.name} is a model file, not a remote model.", code=ErrorCode.UNSUPPORTED)
        self.unload()
        client = RemoteClient(model.name, spec)
        try:
            entry = client.served_entry()
            n_ctx = model.context_length or _int(entry.get("max_model_len")) or _props_n_ctx(client) or DEFAULT_CONTEXT
        except BaseException:
            client.close()
            raise
        self._client, self._n_ctx = client, min(options.n_ctx, n_ctx)
        return {
            "backend": self.name, "device": "remote", "remote": True, "host": spec.host, "base_url": spec.base_url,
            "served_model": spec.model, "n_ctx": self._n_ctx, "n_gpu_layers": 0,
        }

    @property
    def client(self) -> RemoteClient:
        if self._client is None:
            raise NoModel("No model is loaded; send load_model first.")
        return self._client

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        ids = self.client.tokenize(text)
        if ids is None:
            raise WorkerError(f"The server at {self.client.spec.host} offers no tokenize endpoint.", code=ErrorCode.UNSUPPORTED)
        return ids

    def check_scoring(self) -> None:
        # OpenAI's chat API gives log-probabilities of generated tokens only; a prompt's come back only from the legacy
        # completions endpoint with echo=true and logprobs, which few servers support (llama-cpp-python's only for a
        # model loaded with logits_all), so scoring is not offered over the wire.
        raise WorkerError(f"The server at {self.client.spec.host} gives no probabilities of a prompt's tokens, so it cannot "
                          "score texts; load a local model to proofread with scoring.", code=ErrorCode.UNSUPPORTED)

    def count_tokens(self, text: str) -> int:
        ids = self.client.tokenize(text)
        return len(ids) if ids is not None else estimate_tokens(text)

    def generate_text(self, prompt: Prompt, params: SamplingParams, stats: GenerationStats, context: RequestContext = RequestContext()) -> Iterator[str]:
        """Stream the answer; the engine counted the prompt, the server's `usage` (when it sends one) corrects the counts."""
        client, chat = self.client, prompt.text is None
        # Stop strings are not sent: the engine applies them only once the answer has begun (a base model
        # often opens with the blank line that also ends it), and leaving the stream stops the server.
        body = {"model": client.spec.model, "stream": True, "stream_options": {"include_usage": True}, **_sampling(params)}
        body |= {"messages": prompt.messages} if chat else {"prompt": prompt.text}
        stats.extra.update(remote=client.spec.host, cache=NOT_APPLICABLE, token_counts="counted")
        if context.speculative != "off":
            stats.extra["speculative_note"] = f"speculation is {NOT_APPLICABLE}"
        for event in client.events("/chat/completions" if chat else "/completions", body, context.cancel):
            for piece in _pieces(event, chat):
                stats.generated_tokens += 1
                yield piece
            _take_usage(event, stats)
            stats.finish = _finish(event) or stats.finish

    def unload(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _sampling(params: SamplingParams) -> dict:
    """Our sampling settings in the request body; greedy means temperature 0 and no penalty at all.

    top_k, min_p and the penalty are not OpenAI's own but llama.cpp's server and vLLM read them;
    the penalty goes under both its names (llama.cpp's, vLLM's), each server ignoring the other's.
    """
    body: dict = {"max_tokens": params.max_tokens}
    if params.seed is not None:
        body["seed"] = params.seed
    if params.greedy:
        return body | {"temperature": 0.0, "repeat_penalty": 1.0, "repetition_penalty": 1.0}
    return body | {
        "temperature": params.temperature, "top_p": params.top_p, "top_k": params.top_k, "min_p": params.min_p,
        "repeat_penalty": params.repeat_penalty, "repetition_penalty": params.repeat_penalty,
    }


def _pieces(event: dict, chat: bool) -> Iterator[str]:
    """The non-empty text pieces of one streamed chunk (a chat delta's content, or a completion's text)."""
    for choice in event.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
        if isinstance(piece, str) and piece:
            yield piece


def _finish(event: dict) -> str | None:
    """Why the server ended: "length" at max_tokens, "end" for the model's own end (no stop strings are sent)."""
    for choice in event.get("choices") or []:
        reason = choice.get("finish_reason") if isinstance(choice, dict) else None
        if reason:
            return "length" if reason == "length" else "end"
    return None


def _take_usage(event: dict, stats: GenerationStats) -> None:
    """The server's own token counts, sent in the last chunk when it honours stream_options.include_usage."""
    usage = event.get("usage")
    if not isinstance(usage, dict):
        return
    stats.prompt_tokens = _int(usage.get("prompt_tokens")) or stats.prompt_tokens
    stats.generated_tokens = _int(usage.get("completion_tokens")) or stats.generated_tokens
    stats.extra["token_counts"] = "usage"


def _props_n_ctx(client: RemoteClient) -> int | None:
    """llama.cpp's server says its context window in /props (vLLM says it in /v1/models)."""
    props = client.optional_json("/props") or {}
    settings = props.get("default_generation_settings")
    return _int(props.get("n_ctx")) or (_int(settings.get("n_ctx")) if isinstance(settings, dict) else None)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None
