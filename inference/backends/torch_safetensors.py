"""Read a Hugging Face checkpoint folder (config.json + *.safetensors; Llama, Mistral, Qwen 2/3, Gemma 3) into a Transformer.

The safetensors format is read directly (an 8-byte header length, a JSON header, raw little-endian data):
the `safetensors` package is not a dependency. Tensors are renamed to GGUF's names and go through the
same fusing as a GGUF (torch_weights.gguf_state_dict); Hugging Face keeps Q/K in NEOX order already.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from inference.backends.torch_model import ModelArgs, Transformer
from inference.backends.torch_weights import GEMMA3_GLOBAL_EVERY, build, gguf_state_dict
from inference.protocol import ErrorCode, ModelError

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
# Hugging Face architecture -> the GGUF architecture whose rules (biases, q/k norms) it follows.
_ARCHS = {"LlamaForCausalLM": "hf-llama", "MistralForCausalLM": "hf-llama", "Qwen2ForCausalLM": "qwen2",
          "Qwen3ForCausalLM": "qwen3", "Gemma3ForCausalLM": "gemma3", "Gemma3ForConditionalGeneration": "gemma3"}
_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
    **{f"self_attn.{x}_proj.{kind}": f"attn_{x}.{kind}" for x in "qkv" for kind in ("weight", "bias")},
}
# Llama's second norm is the FFN's pre-norm; Gemma's is the attention's post-norm, with two more around the FFN.
_LLAMA_NORMS = {"post_attention_layernorm.weight": "ffn_norm.weight"}
_GEMMA_NORMS = {"post_attention_layernorm.weight": "post_attention_norm.weight", "pre_feedforward_layernorm.weight": "ffn_norm.weight",
                "post_feedforward_layernorm.weight": "post_ffw_norm.weight"}
_PREFIXES = ("model.language_model.", "language_model.model.", "model.")


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of one .safetensors file, copied into memory."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ModelError(f"{path.name}: tensor {name} is {info['dtype']}; the torch engine reads F32, F16 and BF16.", code=ErrorCode.UNSUPPORTED)
        start, end = info["data_offsets"]
        raw = bytearray(data[start:end])  # a writable copy: torch.frombuffer shares the buffer
        out[name] = torch.frombuffer(raw, dtype=_DTYPES[info["dtype"]]).reshape(info["shape"]) if raw else torch.empty(info["shape"])
    return out


def args_from_config(config: dict, max_seq_len: int) -> tuple[ModelArgs, str]:
    """ModelArgs and the GGUF-style architecture of a Hugging Face config.json."""
    arch = _ARCHS.get((config.get("architectures") or [""])[0])
    if arch is None:
        raise ModelError(f"The torch engine does not run {config.get('architectures')} checkpoints.", code=ErrorCode.UNSUPPORTED_ARCHITECTURE)
    c = config.get("text_config", config)
    dim, n_head = c["hidden_size"], c["num_attention_heads"]
    head_dim = c.get("head_dim") or dim // n_head
    gemma = arch == "gemma3"
    return ModelArgs(
        arch="gemma3" if gemma else "llama", n_layer=c["num_hidden_layers"], dim=dim, n_head=n_head,
        n_kv_head=c.get("num_key_value_heads", n_head), head_dim=head_dim, ffn_dim=c["intermediate_size"],
        vocab_size=c["vocab_size"], norm_eps=c.get("rms_norm_eps", 1e-6 if gemma else 1e-5), rope_base=c.get("rope_theta", 10_000.0),
        rope_base_local=c.get("rope_local_base_freq", 10_000.0),
        sliding_window=c.get("sliding_window") if gemma else None, global_every=GEMMA3_GLOBAL_EVERY if gemma else None,
        embed_scale=math.sqrt(dim) if gemma else None, tied_embeddings=bool(c.get("tie_word_embeddings", gemma)),
        max_seq_len=min(max_seq_len, c.get("max_position_embeddings", max_seq_len)),
        qk_norm=gemma or arch == "qwen3", qkv_bias=arch == "qwen2",
        attn_scale=1.0 / math.sqrt(c.get("query_pre_attn_scalar", head_dim)),
    ), arch


def llama3_freq_factors(head_dim: int, base: float, scaling: dict) -> torch.Tensor:
    """Llama 3.1's rope_scaling as per-frequency divisors, as llama.cpp's converter writes rope_freqs."""
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    out = []
    for freq in 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim):
        wavelen = 2 * math.pi / float(freq)
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(out, dtype=torch.float32)


def gguf_names(hf: dict[str, torch.Tensor], gemma: bool) -> dict[str, torch.Tensor]:
    """Hugging Face tensor names to GGUF's; Gemma's norms get the +1 its GGUF converter adds (computed in f32)."""
    layer_names = {**_LAYER_NAMES, **(_GEMMA_NORMS if gemma else _LLAMA_NORMS)}
    out = {}
    for name, tensor in hf.items():
        local = next((name[len(p):] for p in _PREFIXES if name.startswith(p)), name)
        if local.startswith("layers."):
            _, i, rest = local.split(".", 2)
            if rest not in layer_names:
                raise ModelError(f"The torch engine does not know the tensor {name}.", code=ErrorCode.UNSUPPORTED_ARCHITECTURE)
            new = f"blk.{i}.{layer_names[rest]}"
        else:
            new = {"embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}.get(local)
            if new is None:
                continue  # a vision tower or projector of a multimodal checkpoint
        out[new] = tensor.float() + 1 if gemma and new.endswith("norm.weight") else tensor
    return out


def load_safetensors(folder: Path | str, dtype: torch.dtype = torch.bfloat16, device: torch.device | str = "cpu",
                     max_seq_len: int = 8192) -> Transformer:
    """A Transformer from a Hugging Face folder, in `dtype` on `device` (caches not yet set up)."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text("utf-8"))
    args, arch = args_from_config(config, max_seq_len)
    hf: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        hf.update(read_safetensors(file))
    raw = gguf_names(hf, args.gemma)
    if "output.weight" in raw:
        args = replace(args, tied_embeddings=False)
    scaling = config.get("text_config", config).get("rope_scaling") or {}
    if scaling.get("rope_type") == "llama3":
        raw["rope_freqs.weight"] = llama3_freq_factors(args.head_dim, args.rope_base, scaling)
    return build(args, gguf_state_dict(raw, args, arch, dtype), device)
