"""Render an instruct model's own chat template (Jinja, as stored in its GGUF) into a prompt; a base model gets a plain transcript."""

from __future__ import annotations

from functools import lru_cache

import jinja2
import jinja2.sandbox

from inference.protocol import BadRequest


def _raise(message: str) -> None:
    raise BadRequest(f"The model's chat template refused the request: {message}")


@lru_cache(maxsize=8)
def _compile(template: str) -> jinja2.Template:
    # A sandbox: the template comes from a downloaded file and must not reach Python internals.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    return env.from_string(template)


def render_chat(template: str, messages: list[dict]) -> str:
    """The prompt text for `messages`, ending where the assistant's reply begins.

    The BOS token is left out of the text because the tokenizer adds it; rendering it too
    would give the model two.
    """
    if not template:
        raise BadRequest("This model has no chat template; use it as a base model.")
    try:
        return _compile(template).render(messages=messages, add_generation_prompt=True, bos_token="", eos_token="")
    except jinja2.TemplateError as exc:
        raise BadRequest(f"The model's chat template could not be rendered ({exc}).") from None


# A base model has no template: it continues a labelled transcript, and the next speaker's label ends its turn.
TRANSCRIPT_LABELS = {"system": "", "user": "User", "assistant": "Assistant"}
TRANSCRIPT_STOPS = ("\nUser:", "\nAssistant:")


def render_conversation(template: str | None, messages: list[dict]) -> tuple[str, tuple[str, ...]]:
    """The prompt for a conversation and the strings that end the reply: the model's template, or a transcript."""
    if template:
        return render_chat(template, messages), ()
    turns = [f"{TRANSCRIPT_LABELS[m['role']]}: {m['content']}" if TRANSCRIPT_LABELS[m["role"]] else m["content"] for m in messages]
    return "\n\n".join(turns) + "\n\nAssistant:", TRANSCRIPT_STOPS
