"""Read a GGUF into ModelArgs and a state dict for inference.backends.torch_model (every tensor dequantized with `gguf`)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from inference.backends.torch_model import ModelArgs, Transformer
from inference.engine_choice import TORCH_ARCHITECTURES as SUPPORTED
from inference.protocol import ErrorCode, ModelError

log = logging.getLogger(__name__)

# llama.cpp's converter permutes the Q/K rows of these for its interleaved ("normal") RoPE; the torch
# forward uses NEOX (rotate halves), as the original checkpoints do, so the rows are permuted back.
_PERMUTED_QK = ("llama",)
GEMMA3_GLOBAL_EVERY = 6  # llama.cpp: set_swa_pattern(6), not in the GGUF
GEMMA3_27B_LAYERS = 62  # llama.cpp scales the 27B's queries by 1/sqrt(dim/n_head) instead of 1/sqrt(head_dim)

ProgressFn = Callable[[float], None]


def _fields(reader: "gguf.GGUFReader") -> dict:  # noqa: F821
    """Scalar metadata by key (arrays skipped: the vocabulary is the tokenizer's business)."""
    import gguf

    out = {}
    for name, field in reader.fields.items():
        if field.types and field.types[0] != gguf.GGUFValueType.ARRAY:
            out[name] = field.contents()
    return out


def args_from_metadata(meta: dict, vocab_size: int, tied: bool, max_seq_len: int) -> ModelArgs:
    """ModelArgs from a GGUF's metadata; ModelError for an architecture the torch forward lacks."""
    arch = str(meta.get("general.architecture", ""))
    if arch not in SUPPORTED:
        raise ModelError(f"The torch engine does not run {arch or 'unknown'!r} models (it runs {', '.join(SUPPORTED)}); use the llama.cpp engine.",
                         code=ErrorCode.UNSUPPORTED_ARCHITECTURE)

    def key(name: str, default: object = None) -> object:
        return meta.get(f"{arch}.{name}", default)

    dim, n_head = int(key("embedding_length")), int(key("attention.head_count"))
    head_dim = int(key("attention.key_length", dim // n_head))
    n_layer = int(key("block_count"))
    gemma = arch == "gemma3"
    attn_scale = 1.0 / math.sqrt(dim / n_head if gemma and n_layer == GEMMA3_27B_LAYERS else head_dim)
    window = key("attention.sliding_window") if gemma else None
    return ModelArgs(
        arch="gemma3" if gemma else "llama",
        n_layer=n_layer, dim=dim, n_head=n_head, n_kv_head=int(key("attention.head_count_kv", n_head)), head_dim=head_dim,
        ffn_dim=int(key("feed_forward_length")), vocab_size=vocab_size,
        norm_eps=float(key("attention.layer_norm_rms_epsilon", 1e-5)),
        rope_base=float(key("rope.freq_base", 10_000.0)),
        sliding_window=int(window) if window else None,
        global_every=GEMMA3_GLOBAL_EVERY if gemma else None,
        embed_scale=math.sqrt(dim) if gemma else None,
        tied_embeddings=tied,
        max_seq_len=min(max_seq_len, int(key("context_length", max_seq_len))),
        qk_norm=gemma or arch == "qwen3",
        qkv_bias=arch == "qwen2",
        attn_scale=attn_scale,
    )


def _unpermute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Undo the converter's Q/K row permutation (reshape(n_head, 2, d/2, ...).swapaxes(1, 2)) for NEOX RoPE."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def _tensors(reader: "gguf.GGUFReader") -> Iterator[tuple[str, torch.Tensor]]:  # noqa: F821
    """Each tensor dequantized to f32 in numpy (row-major) shape, copied off the read-only memmap."""
    import gguf

    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))  # GGUF lists ne0 (the row length) first
        data = gguf.quants.dequantize(t.data, t.tensor_type)
        yield t.name, torch.from_numpy(np.array(data, dtype=np.float32, copy=True).reshape(shape))


_NAMES = {
    "token_embd.weight": "tok_embeddings.weight", "output.weight": "output.weight", "output_norm.weight": "norm.weight",
    "rope_freqs.weight": "rope_freq_factors",
    "attn_norm.weight": "attention_norm.weight", "attn_output.weight": "attention.wo.weight",
    "attn_q_norm.weight": "attention.q_norm.weight", "attn_k_norm.weight": "attention.k_norm.weight",
    "post_attention_norm.weight": "post_attention_norm.weight", "ffn_norm.weight": "ffn_norm.weight",
    "ffn_down.weight": "feed_forward.w2.weight", "post_ffw_norm.weight": "post_ffn_norm.weight",
}
# Tensors fused into one linear each, in the order of their rows: (fused name, its parts).
_FUSED = {
    "attention.wqkv.weight": ("attn_q.weight", "attn_k.weight", "attn_v.weight"),
    "attention.wqkv.bias": ("attn_q.bias", "attn_k.bias", "attn_v.bias"),
    "feed_forward.w13.weight": ("ffn_gate.weight", "ffn_up.weight"),
}


def gguf_state_dict(raw: dict[str, torch.Tensor], args: ModelArgs, arch: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Rename GGUF-named tensors to the torch model's, fuse QKV and gate/up, and undo the Q/K permutation where needed.

    `arch` "llama" means a llama.cpp conversion (rows permuted); other names, or a checkpoint renamed to GGUF's
    names (inference.backends.torch_safetensors), keep NEOX order.
    """
    out: dict[str, torch.Tensor] = {}
    for i in range(args.n_layer):
        blk = f"blk.{i}."
        if arch in _PERMUTED_QK:
            raw[blk + "attn_q.weight"] = _unpermute(raw[blk + "attn_q.weight"], args.n_head)
            raw[blk + "attn_k.weight"] = _unpermute(raw[blk + "attn_k.weight"], args.n_kv_head)
        for fused, parts in _FUSED.items():
            if blk + parts[0] in raw:
                out[f"layers.{i}.{fused}"] = torch.cat([raw.pop(blk + p) for p in parts])
    for name, tensor in raw.items():
        local = name.split(".", 2)[2] if name.startswith("blk.") else name
        if local not in _NAMES:
            raise ModelError(f"The torch engine does not know the GGUF tensor {name}; this model's variant is unsupported.", code=ErrorCode.UNSUPPORTED_ARCHITECTURE)
        prefix = f"layers.{name.split('.')[1]}." if name.startswith("blk.") else ""
        out[prefix + _NAMES[local]] = tensor
    keep_f32 = ("norm.weight", "rope_freq_factors")  # norms are computed in f32 anyway; tiny
    return {k: v if k.endswith(keep_f32) else v.to(dtype) for k, v in out.items()}


def load_gguf(path: Path | str, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu", max_seq_len: int = 8192) -> Transformer:
    """A Transformer with the GGUF's weights in `dtype` on `device` (caches not yet set up)."""
    import gguf

    reader = gguf.GGUFReader(str(path), "r")
    meta = _fields(reader)
    names = {t.name for t in reader.tensors}
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    args = args_from_metadata(meta, int(embd.shape[1]), "output.weight" not in names, max_seq_len)
    raw = dict(_tensors(reader))
    state = gguf_state_dict(raw, args, str(meta["general.architecture"]), dtype)
    return build(args, state, device)


def build(args: ModelArgs, state: dict[str, torch.Tensor], device: torch.device | str) -> Transformer:
    """A Transformer on `device` holding exactly `state` (no random init is ever computed)."""
    with torch.device("meta"):
        model = Transformer(args)
    factors = state.pop("rope_freq_factors", None)
    if args.tied_embeddings:
        state["output.weight"] = state["tok_embeddings.weight"]
    model.load_state_dict(state, strict=True, assign=True)
    if args.tied_embeddings:  # assign=True replaced the shared parameter by two: share it again
        model.output.weight = model.tok_embeddings.weight
    model.rope_global = model.rope_local = torch.empty(0)  # the meta placeholders; setup_caches fills them
    model.rope_freq_factors = factors
    return model.requires_grad_(False).to(device)
