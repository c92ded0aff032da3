"""The advisor's arithmetic: KV cache size, weights per type, what fits and what is recommended."""

from __future__ import annotations

from pathlib import Path

from inference.compress import advisor
from inference.compress.advisor import GiB, PRESETS, advise, kv_bytes, shape_from_gguf, weight_bytes


def test_kv_cache_of_the_embedded_shape_is_18_kib_per_token() -> None:
    # DESIGN.md measured 18 KB of KV state per token for Gemma 3 270M: 2 x 18 layers x 1 head x 256 x 2 bytes.
    assert kv_bytes(PRESETS["gemma3-270m"], 1) == 18 * 1024
    assert kv_bytes(PRESETS["gemma3-270m"], 1000, "q8_0") < kv_bytes(PRESETS["gemma3-270m"], 1000, "f16")


def test_weights_follow_bits_per_weight() -> None:
    shape = PRESETS["llama-70b"]
    assert weight_bytes(shape, "F16") == 2 * shape.parameters
    assert weight_bytes(shape, "Q8_0") > weight_bytes(shape, "Q4_K_M") > weight_bytes(shape, "Q2_K")


def test_long_context_on_one_h100_needs_fewer_bits_or_a_quantized_cache() -> None:
    short = advise(PRESETS["llama-70b"], 8192, None, 80 * GiB)["recommendation"]
    long = advise(PRESETS["llama-70b"], 131072, None, 80 * GiB)["recommendation"]
    assert (short["type"], short["kv"]) == ("Q8_0", "f16")
    assert long["total_bytes"] <= 80 * GiB - advisor.GPU_RESERVED
    assert long["type"] != "Q8_0"


def test_nothing_fits_gives_no_recommendation() -> None:
    assert advise(PRESETS["llama-70b"], 8192, 4 * GiB, None)["recommendation"] is None


def test_shape_from_a_gguf(tiny_model: Path) -> None:
    shape = shape_from_gguf(tiny_model)
    assert (shape.layers, shape.embedding, shape.heads, shape.vocab) == (2, 64, 4, 700)
    assert shape.head_dim == 16 and shape.parameters > 0
