"""Inference backends; importing this package registers the built-in ones (the remote one is chosen per model)."""

from __future__ import annotations

from inference.backends.base import register


def _llama_cpp():  # imported lazily: loading llama.cpp's shared library costs time the fake never needs
    from inference.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend()


def _fake():
    from inference.backends.fake import FakeBackend

    return FakeBackend()


def remote():
    """The backend for a model an OpenAI-compatible server serves; not registered, since it loads no files."""
    from inference.backends.openai_remote import OpenAIRemoteBackend  # imports httpx: only when a remote model is used

    return OpenAIRemoteBackend()


register("llama_cpp", _llama_cpp)
register("fake", _fake)
