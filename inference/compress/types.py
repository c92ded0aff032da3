"""Quantization types by name: their llama.cpp file type, tensor type and approximate bits per weight."""

from __future__ import annotations

from dataclasses import dataclass

from inference.compress.errors import UnknownQuantType
from inference.gguf_meta import FILE_TYPES

# ggml_type values, for the embedding/output knobs and per-tensor overrides.
GGML_TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13,
    "Q6_K": 14, "IQ4_NL": 20, "IQ4_XS": 23, "BF16": 30,
}
# Average bits per weight of each llama.cpp mix on llama-style models (file size x 8 / parameters, from
# llama.cpp's published Llama-3 sizes); a mix quantizes a few tensors (attn_v, ffn_down, output) higher than its name.
BITS_PER_WEIGHT = {
    "F32": 32.0, "BF16": 16.0, "F16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_K_M": 5.69, "Q5_K_S": 5.54,
    "Q4_K_M": 4.89, "Q4_K_S": 4.58, "IQ4_XS": 4.46, "IQ4_NL": 4.68, "Q4_0": 4.55, "Q3_K_L": 4.27,
    "Q3_K_M": 3.91, "Q3_K_S": 3.64, "Q2_K": 3.0,
}
# The types a sweep measures, from most to fewest bits: the set the issue asks for.
SWEEP_TYPES = ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K")
FULL_PRECISION = ("F32", "F16", "BF16")
# The file types `compress --type` can write: those whose size the arithmetic above knows, in llama_ftype order.
_TARGETS = tuple(name for name in FILE_TYPES if name in BITS_PER_WEIGHT)


@dataclass(frozen=True)
class QuantType:
    """One target type: its name, llama_ftype and approximate bits per weight."""

    name: str
    ftype: int
    bits_per_weight: float


def quant_type(name: str) -> QuantType:
    """Look a type up by name (case-insensitive); raise UnknownQuantType listing the valid names."""
    key = name.strip().upper()
    if key not in _TARGETS:
        raise UnknownQuantType(f"Unknown quantization type {name!r}; choose one of {', '.join(valid_types())}.")
    return QuantType(key, FILE_TYPES[key], BITS_PER_WEIGHT[key])


def tensor_type(name: str) -> int:
    """The ggml_type id of a single-tensor type name (Q8_0, Q6_K, F16 …) for the per-tensor knobs."""
    key = name.strip().upper()
    if key not in GGML_TYPES:
        raise UnknownQuantType(f"Unknown tensor type {name!r}; choose one of {', '.join(GGML_TYPES)}.")
    return GGML_TYPES[key]


def valid_types() -> list[str]:
    """Every type name `compress --type` accepts, most bits first."""
    return sorted(_TARGETS, key=lambda k: -BITS_PER_WEIGHT[k])
