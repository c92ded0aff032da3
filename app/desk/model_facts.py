"""A model's metadata as a person reads it: one table for `scriptorium models info` and the model manager."""

from __future__ import annotations

from inference.models import ModelInfo


def describe(info: ModelInfo) -> dict[str, str]:
    """Labelled, formatted facts of a registered model, in reading order."""
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
