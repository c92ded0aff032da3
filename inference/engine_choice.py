"""Which engine runs a model file: torch on a CUDA machine for the architectures it implements, llama.cpp otherwise.

A model's registry entry may override it (`scriptorium models set-engine NAME torch|llama_cpp|auto`). The reason
travels to `hello` and the status bar. On a machine without an NVIDIA GPU torch is never imported here.
"""

from __future__ import annotations

import functools
import logging

from inference.gpu import gpu_names
from inference.models import ModelInfo

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "llama_cpp")
PRECISIONS = ("f32", "bf16", "int8", "int4")  # the torch engine's weights, named here so the CLI needs no torch
# GGUF architectures the torch forward implements (inference/backends/torch_model.py, torch_weights.py).
TORCH_ARCHITECTURES = ("gemma3", "llama", "qwen2", "qwen3")


@functools.cache
def cuda_available() -> bool:
    """Whether torch sees a CUDA device; nvidia-smi is asked first, so a CPU machine never pays torch's import."""
    if not gpu_names():
        return False
    try:
        import torch
    except ImportError:
        log.warning("an NVIDIA GPU is present but torch is not installed: the torch engine is unavailable")
        return False
    return bool(torch.cuda.is_available())


def choose(model: ModelInfo, cuda: bool | None = None) -> tuple[str, str]:
    """(backend name, the reason in a few words) for a model file."""
    arch = model.architecture
    supported = arch in TORCH_ARCHITECTURES
    if model.engine == "llama_cpp":
        return "llama_cpp", "llama.cpp: set for this model"
    if model.engine == "torch":
        if not supported:
            return "llama_cpp", f"llama.cpp: the torch engine does not run {arch}"
        return "torch", "torch: set for this model"
    if not (cuda_available() if cuda is None else cuda):
        return "llama_cpp", "llama.cpp: no CUDA GPU"
    if not supported:
        return "llama_cpp", f"llama.cpp: CUDA GPU, but the torch engine does not run {arch}"
    return "torch", f"torch: CUDA GPU, {arch} supported"
