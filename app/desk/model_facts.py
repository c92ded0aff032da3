"""A model's metadata as a person reads it: one table for `scriptorium models info` and the model manager."""

from __future__ import annotations

from inference.models import ModelInfo


def describe(info: ModelInfo) -> dict[str, str]:
    """Labelled, formatted facts of a registered model, in reading order."""
    if info.remote is not None:
        return _describe_remote(info)
    return {
        "name": info.name,
        "architecture": info.architecture,
        "parameters": f"{info.parameters / 1e6:,.0f}M" if info.parameters else "unknown",
        "quantization": info.quantization,
        "context length": f"{info.context_length:,}" if info.context_length else "unknown",
        "size on disk": f"{info.size_bytes / 2**20:,.1f} MiB",
        "chat template": "yes (instruct model)" if info.chat_template else "no (base model: few-shot prompts)",
        "path": str(info.path),
        "sha256": info.sha256,
    }


def _describe_remote(info: ModelInfo) -> dict[str, str]:
    spec = info.remote
    assert spec is not None
    return {
        "name": info.name,
        "served at": spec.base_url,
        "model id": spec.model,
        "prompts": "chat messages (/v1/chat/completions)" if spec.chat else "few-shot completions (/v1/completions)",
        "context length": f"{info.context_length:,} (declared)" if info.context_length else "as the server reports",
        "API key": f"from ${spec.api_key_env}, read at each request, never stored" if spec.api_key_env else "none",
        "timeouts": f"connect {spec.connect_timeout_s:g} s, read {spec.read_timeout_s:g} s",
        "privacy": f"remote: your text is sent to {spec.host}",
        "identity": info.sha256,
    }


def summary(info: ModelInfo) -> str:
    """One line of `models list` after the name: quantization, size and architecture, or where a remote model is served."""
    if info.remote is not None:
        return f"{'remote':<8} {info.remote.host}  {info.remote.model}"
    return f"{info.quantization:<8} {info.size_bytes / 2**20:8,.1f} MiB  {info.architecture}"


def remote_notice(info: ModelInfo) -> str | None:
    """The sentence said whenever a remote model is used; None for a local one."""
    if info.remote is None:
        return None
    return f"using remote model {info.name} at {info.remote.base_url} — your text is sent to that server"
