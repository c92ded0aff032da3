"""The models `bench gpu` runs: the embedded Gemma 3 from its GGUF (or its shape with random weights), Llama 8B- and
70B-shaped random models made on the device, each in bf16, int8 or int4; and the bytes one decode step reads.

Random models are made directly in their precision on the device (torch_quant.random_quantized): a 70B-shaped
model in bf16 is 140 GB and fits no single GPU, and decode speed does not depend on the weights' values.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inference.backends.torch_model import KVCache, ModelArgs, RMSNorm, Transformer, random_weights
from inference.backends.torch_quant import Int4Linear, Int8Linear, QuantConfig, quantize_model, random_quantized

log = logging.getLogger(__name__)

INT4_GROUP = 128  # the group size the engine quantizes with by default; scales add 1/32 of a byte per weight
# The embedded model's shape, for a run without its file (random weights): the GGUF's own metadata otherwise.
GEMMA3_270M = ModelArgs(arch="gemma3", n_layer=18, dim=640, n_head=4, n_kv_head=1, head_dim=256, ffn_dim=2048,
                        vocab_size=262_144, norm_eps=1e-6, rope_base=1_000_000.0, sliding_window=512, global_every=6,
                        embed_scale=640**0.5, tied_embeddings=True, qk_norm=True, attn_scale=1 / 16)
# Tiny shapes for the CPU pipeline check (--tiny): the same code, seconds instead of minutes.
TINY = {
    "embedded": ModelArgs(arch="gemma3", n_layer=4, dim=128, n_head=2, n_kv_head=1, head_dim=64, ffn_dim=256, vocab_size=512,
                          norm_eps=1e-6, sliding_window=16, global_every=2, embed_scale=128**0.5, tied_embeddings=True, qk_norm=True),
    "8b": ModelArgs(arch="llama", n_layer=2, dim=128, n_head=4, n_kv_head=2, head_dim=32, ffn_dim=384, vocab_size=512),
    "70b": ModelArgs(arch="llama", n_layer=4, dim=256, n_head=8, n_kv_head=2, head_dim=32, ffn_dim=512, vocab_size=512),
}
LABELS = {"embedded": "Gemma 3 270M (embedded)", "8b": "Llama 8B-shaped", "70b": "Llama 70B-shaped"}
TORCH_DTYPES = {"bf16": torch.bfloat16, "f32": torch.float32}


@dataclass
class Built:
    """A model ready to decode, and what the table says of it."""

    model: Transformer
    weights: str  # "GGUF file" | "random"
    args: ModelArgs


def activation_dtype(precision: str) -> torch.dtype:
    """Activations (and the KV cache) are f32 only for an f32 run; bf16 otherwise, the dtype tinygemm takes."""
    return torch.float32 if precision == "f32" else torch.bfloat16


def shape_args(name: str, tiny: bool) -> ModelArgs:
    if tiny:
        return TINY[name]
    return GEMMA3_270M if name == "embedded" else ModelArgs.llama_shape(name)


def random_model(args: ModelArgs, precision: str, device: torch.device, seed: int = 0) -> Transformer:
    """A random model of this shape in this precision, made on the device without float weights for int8/int4."""
    dtype = activation_dtype(precision)
    if precision in ("bf16", "f32"):
        return random_weights(args, device, dtype, seed)
    with torch.device("meta"):
        model = Transformer(args)
    group = INT4_GROUP if args.dim % INT4_GROUP == 0 else 32
    # A tied head gets its own quantized linear (int8 by QuantConfig's default), as a loaded model's; the embedding stays float.
    return random_quantized(model, QuantConfig(precision, group), device, dtype, seed)


def from_float(reference: Transformer, precision: str, device: torch.device) -> Transformer:
    """A copy of a float model (the GGUF's weights) in this precision on the device."""
    dtype = activation_dtype(precision)
    model = copy.deepcopy(reference).to(device=device, dtype=dtype)
    if reference.args.tied_embeddings:
        model.output.weight = model.tok_embeddings.weight
    if precision in ("int8", "int4"):
        quantize_model(model, QuantConfig(precision, INT4_GROUP if model.args.dim % INT4_GROUP == 0 else 32), dtype)
    return model


def load_reference(gguf: Path, max_seq: int) -> Transformer:
    """The embedded model's weights dequantized to f32 on the CPU, once; each precision is copied from it."""
    from inference.backends.torch_weights import load_gguf

    return load_gguf(gguf, torch.float32, "cpu", max_seq_len=max_seq)


def _tensor_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(recurse=False), *module.buffers(recurse=False)] if t is not None)


def bytes_per_token(model: Transformer, kv_positions: int) -> dict[str, int]:
    """Bytes one decode step must read: every linear's weights and scales (the head too), norms, one embedding row, the KV.

    The KV is counted as the decode step reads it: each layer's cache over `kv_positions` (the graph's step
    attends over the whole static cache, masking what is not yet written). RoPE rows and activations are
    a few kilobytes and left out.
    """
    weights = norms = 0
    for module in model.modules():
        if isinstance(module, (nn.Linear, Int8Linear, Int4Linear)):
            weights += _tensor_bytes(module)
        elif isinstance(module, RMSNorm):
            norms += _tensor_bytes(module)
    emb = model.tok_embeddings.weight
    kv = 0
    for layer in model.layers:
        cache: KVCache | None = layer.attention.kv_cache
        if cache is not None:
            per_position = cache.k.shape[1] * cache.k.shape[3] * cache.k.element_size()
            kv += 2 * per_position * min(kv_positions, cache.k.shape[2])
    row = emb.shape[1] * emb.element_size()
    return {"weights": weights, "norms": norms, "embedding_row": row, "kv": kv, "total": weights + norms + row + kv}


def weight_bytes(args: ModelArgs, precision: str) -> int:
    """Bytes of a model's weights in this precision, from its shape alone (to refuse what cannot fit before building it)."""
    q, kv = args.n_head * args.head_dim, args.n_kv_head * args.head_dim
    body = args.n_layer * (args.dim * (q + 2 * kv) + q * args.dim + 3 * args.dim * args.ffn_dim)
    per_weight = {"f32": 4.0, "bf16": 2.0, "int8": 1.0, "int4": 0.5 + 4 / INT4_GROUP}[precision]  # int4: a bf16 scale and zero a group
    head = args.vocab_size * args.dim * (1.0 if precision == "int4" else per_weight)  # int4 keeps the head in int8 (QuantConfig)
    embedding = args.vocab_size * args.dim * activation_dtype(precision).itemsize  # float, beside a quantized head
    return int(body * per_weight + head) + (embedding if precision in ("int8", "int4") or not args.tied_embeddings else 0)


def device_memory(device: torch.device) -> int:
    """Bytes a model may take: the GPU's memory, or the memory free now on the CPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    import psutil

    return psutil.virtual_memory().available


def random_ids(vocab_size: int, n: int, seed: int = 0) -> list[int]:
    """A fixed prompt of n token ids for a random model (its text means nothing; its length is what is timed)."""
    return torch.randint(0, vocab_size, (n,), generator=torch.Generator().manual_seed(seed)).tolist()
