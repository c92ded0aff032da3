"""Read a GGUF into ModelArgs and a state dict for inference.backends.torch_model, quantizing tensor by tensor as it reads.

Each tensor is dequantized with `gguf` (or, for Q4_K into int4, taken as it is: torch_gguf_int4), moved to the
device and, when the model is loaded in int8/int4, fitted there before the next is read: the float copy of the
whole model never exists, so peak memory is the quantized model plus one float tensor.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from inference.backends.torch_gguf_int4 import Q4_K_GROUP, q4_k_int4
from inference.backends.torch_model import ModelArgs, Transformer
from inference.backends.torch_quant import QuantConfig, int4_fits, quantize_weight, quantized_linear
from inference.backends.torch_quant_fit import QuantWeight, cat_rows, take_rows, to_device
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


def _unpermute(w: Tensor | QuantWeight, n_head: int) -> Tensor | QuantWeight:
    """Undo the converter's Q/K row permutation (reshape(n_head, 2, d/2, ...).swapaxes(1, 2)) for NEOX RoPE."""
    if not isinstance(w, Tensor):  # quantized rows carry their scales: move whole rows
        return take_rows(w, _unpermute(torch.arange(w.shape[0]), n_head))
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).transpose(1, 2).reshape(w.shape)


def _float(t: "gguf.ReaderTensor") -> Tensor:  # noqa: F821
    """A tensor dequantized to f32 in row-major shape, copied off the read-only memmap (only once: a fresh array is kept)."""
    import gguf

    shape = tuple(int(d) for d in reversed(t.shape.tolist()))  # GGUF lists ne0 (the row length) first
    data = gguf.quants.dequantize(t.data, t.tensor_type)
    if np.may_share_memory(data, t.data) or data.dtype != np.float32:
        data = np.array(data, dtype=np.float32, copy=True)
    return torch.from_numpy(np.asarray(data).reshape(shape))


# The GGUF tensors that are weights of linears (the tied embedding is also the head's).
_LINEARS = ("attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight",
            "ffn_down.weight", "output.weight")


class _Reader:
    """Each tensor of a GGUF in the form the model keeps it, on the device: linears fitted to int8/int4 or in `dtype`, the rest f32."""

    def __init__(self, reader: "gguf.GGUFReader", quant: QuantConfig | None, dtype: torch.dtype, device: torch.device) -> None:  # noqa: F821
        self.reader, self.quant, self.dtype, self.device = reader, quant, dtype, device
        self.types = {t.name: t.tensor_type.name for t in reader.tensors}
        self.tied = "output.weight" not in self.types

    def tensors(self) -> Iterator[tuple[str, Tensor | QuantWeight]]:
        for t in self.reader.tensors:
            local = t.name.split(".", 2)[2] if t.name.startswith("blk.") else t.name
            if local == "token_embd.weight":
                yield from self._embedding(t)
            elif local in _LINEARS:
                yield t.name, self._linear(t, local)
            else:
                yield t.name, _float(t).to(self.device)

    def _embedding(self, t) -> Iterator[tuple[str, Tensor | QuantWeight]]:
        """The embedding table in float; a tied head, when quantized, gets its fit of the same tensor."""
        w = _float(t).to(self.device)
        head = self.quant.of(is_head=True) if self.quant is not None and self.tied else None
        if head is not None:
            fitted = quantize_weight(w, head, self.quant)
            if fitted is not None:
                yield "output.weight", fitted
        yield t.name, w.to(self.dtype)

    def _linear(self, t, local: str) -> Tensor | QuantWeight:
        """A linear's weight: fitted to its precision, or in `dtype` where it stays float."""
        precision = None if self.quant is None else self.quant.of(is_head=local == "output.weight")
        if precision == "int4" and self._exact(t, local):
            return to_device(q4_k_int4(t.data, int(t.shape[1]), int(t.shape[0])), self.device)
        w = _float(t).to(self.device)
        fitted = None if precision is None else quantize_weight(w, precision, self.quant)
        return w.to(self.dtype) if fitted is None else fitted

    def _exact(self, t, local: str) -> bool:
        """Whether a Q4_K tensor can be taken as it is: it and every part fused with it are Q4_K, and g32 suits the kernel."""
        if not self.quant.exact or t.tensor_type.name != "Q4_K":
            return False
        prefix = t.name.removesuffix(local)
        siblings = next((parts for parts in _FUSED.values() if local in parts), (local,))
        if any(self.types.get(prefix + part) != "Q4_K" for part in siblings):
            return False
        return int4_fits(int(t.shape[0]), int(t.shape[1]), Q4_K_GROUP, self.device)


def _cat(parts: list[Tensor | QuantWeight]) -> Tensor | QuantWeight:
    """Parts fused into one linear's rows; parts quantized alike stay quantized, a mixture falls back to float."""
    if all(isinstance(p, Tensor) for p in parts):
        return torch.cat(parts)
    try:
        return cat_rows(parts)
    except (ValueError, TypeError):
        log.info("fused parts quantized differently: the fused linear is kept in float")
        return torch.cat([p if isinstance(p, Tensor) else p.dequantize() for p in parts])


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


def gguf_state_dict(raw: dict[str, Tensor | QuantWeight], args: ModelArgs, arch: str, dtype: torch.dtype) -> dict[str, Tensor | QuantWeight]:
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
                out[f"layers.{i}.{fused}"] = _cat([raw.pop(blk + p) for p in parts])
    for name, tensor in raw.items():
        local = name.split(".", 2)[2] if name.startswith("blk.") else name
        if local not in _NAMES:
            raise ModelError(f"The torch engine does not know the GGUF tensor {name}; this model's variant is unsupported.", code=ErrorCode.UNSUPPORTED_ARCHITECTURE)
        prefix = f"layers.{name.split('.')[1]}." if name.startswith("blk.") else ""
        out[prefix + _NAMES[local]] = tensor
    keep_f32 = ("norm.weight", "rope_freq_factors")  # norms are computed in f32 anyway; tiny
    return {k: v if k.endswith(keep_f32) or not isinstance(v, Tensor) else v.to(dtype) for k, v in out.items()}


def load_gguf(path: Path | str, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu", max_seq_len: int = 8192,
              quant: QuantConfig | None = None) -> Transformer:
    """A Transformer with the GGUF's weights on `device`: float in `dtype`, or its linears in int8/int4 as `quant` says.

    `dtype` is also the activations' (and the quantized kernels' scales'). Caches are not yet set up.
    """
    import gguf

    reader = gguf.GGUFReader(str(path), "r")
    meta = _fields(reader)
    names = {t.name for t in reader.tensors}
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    args = args_from_metadata(meta, int(embd.shape[1]), "output.weight" not in names, max_seq_len)
    raw = dict(_Reader(reader, quant, dtype, torch.device(device)).tensors())
    state = gguf_state_dict(raw, args, str(meta["general.architecture"]), dtype)
    return build(args, state, device)


def build(args: ModelArgs, state: dict[str, Tensor | QuantWeight], device: torch.device | str) -> Transformer:
    """A Transformer on `device` holding exactly `state` (no random init is ever computed); quantized weights become Int8/Int4Linear."""
    with torch.device("meta"):
        model = Transformer(args)
    factors = state.pop("rope_freq_factors", None)
    dtype = state["tok_embeddings.weight"].dtype
    quantized = _place_quantized(model, state, dtype)
    if args.tied_embeddings and "output.weight" not in state and "output" not in quantized:
        state["output.weight"] = state["tok_embeddings.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k.rpartition(".")[0] not in quantized]
    if missing or unexpected:
        raise ModelError(f"The weights do not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}.",
                         code=ErrorCode.UNSUPPORTED_ARCHITECTURE)
    if args.tied_embeddings and "output" not in quantized:  # assign=True replaced the shared parameter by two: share it again
        model.output.weight = model.tok_embeddings.weight
    model.rope_global = model.rope_local = torch.empty(0)  # the meta placeholders; setup_caches fills them
    model.rope_freq_factors = factors
    return model.requires_grad_(False).to(device)


def _place_quantized(model: Transformer, state: dict, dtype: torch.dtype) -> set[str]:
    """Swap in a quantized linear for every quantized weight of `state` (taken out of it, with its bias); their paths."""
    paths = set()
    for key in [k for k, v in state.items() if not isinstance(v, Tensor)]:
        path = key.removesuffix(".weight")
        parent, _, attr = path.rpartition(".")
        bias = state.pop(f"{path}.bias", None)
        setattr(model.get_submodule(parent), attr, quantized_linear(state.pop(key), bias, dtype))
        paths.add(path)
    return paths
