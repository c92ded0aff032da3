"""Inference backends; importing this package registers the built-in ones (the remote one is chosen per model)."""

from __future__ import annotations

from inference.backends.base import register


def _llama_cpp():  # imported lazily: loading llama.cpp's shared library costs time the fake never needs
    from inference.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend()


def _torch():  # imported lazily: importing torch costs a second and hundreds of MB the llama.cpp path never needs
    from inference.backends.torch_engine import TorchBackend

    return TorchBackend()


def _fake():
    from inference.backends.fake import FakeBackend

    return FakeBackend()


def remote():
    """The backend for a model an OpenAI-compatible server serves; not registered, since it loads no files."""
    from inference.backends.openai_remote import OpenAIRemoteBackend  # imports httpx: only when a remote model is used

    return OpenAIRemoteBackend()


register("llama_cpp", _llama_cpp)
register("torch", _torch)
register("fake", _fake)
