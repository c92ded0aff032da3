"""Hugging Face folders (config.json + safetensors) in the torch engine: the same logits as the same weights from a GGUF."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch

from inference.backends.torch_model import ModelArgs, Transformer, random_weights
from inference.backends.torch_safetensors import llama3_freq_factors, load_safetensors, read_safetensors
from inference.backends.torch_weights import load_gguf
from tests import tiny_torch_models

_CODES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """The safetensors format by hand: header length, JSON header, the tensors' bytes in order."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        blob = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def hf_export(model: Transformer, folder: Path, arch: str, dtype: torch.dtype = torch.float32) -> None:
    """Write a model in Hugging Face's names and layout (split QKV and gate/up; Gemma's norms stored as w - 1)."""
    a = model.args
    gemma = a.gemma
    folder.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().float() for k, v in model.state_dict().items()}
    norm = (lambda w: w - 1) if gemma else (lambda w: w)
    out = {"model.embed_tokens.weight": sd["tok_embeddings.weight"], "model.norm.weight": norm(sd["norm.weight"])}
    if not a.tied_embeddings:
        out["lm_head.weight"] = sd["output.weight"]
    q, kv = a.n_head * a.head_dim, a.n_kv_head * a.head_dim
    for i in range(a.n_layer):
        p, h = f"layers.{i}.", f"model.layers.{i}."
        for name, part in zip("qkv", sd[p + "attention.wqkv.weight"].split([q, kv, kv])):
            out[h + f"self_attn.{name}_proj.weight"] = part
        if a.qkv_bias:
            for name, part in zip("qkv", sd[p + "attention.wqkv.bias"].split([q, kv, kv])):
                out[h + f"self_attn.{name}_proj.bias"] = part
        gate, up = sd[p + "feed_forward.w13.weight"].chunk(2)
        out |= {h + "mlp.gate_proj.weight": gate, h + "mlp.up_proj.weight": up, h + "mlp.down_proj.weight": sd[p + "feed_forward.w2.weight"],
                h + "self_attn.o_proj.weight": sd[p + "attention.wo.weight"], h + "input_layernorm.weight": norm(sd[p + "attention_norm.weight"])}
        if a.qk_norm:
            out[h + "self_attn.q_norm.weight"] = norm(sd[p + "attention.q_norm.weight"])
            out[h + "self_attn.k_norm.weight"] = norm(sd[p + "attention.k_norm.weight"])
        if gemma:
            out |= {h + "post_attention_layernorm.weight": norm(sd[p + "post_attention_norm.weight"]),
                    h + "pre_feedforward_layernorm.weight": norm(sd[p + "ffn_norm.weight"]),
                    h + "post_feedforward_layernorm.weight": norm(sd[p + "post_ffn_norm.weight"])}
        else:
            out[h + "post_attention_layernorm.weight"] = sd[p + "ffn_norm.weight"]
    write_safetensors(folder / "model.safetensors", {k: v.to(dtype) for k, v in out.items()})
    config = {"architectures": [arch], "hidden_size": a.dim, "num_attention_heads": a.n_head, "num_key_value_heads": a.n_kv_head,
              "head_dim": a.head_dim, "intermediate_size": a.ffn_dim, "num_hidden_layers": a.n_layer, "vocab_size": a.vocab_size,
              "rms_norm_eps": a.norm_eps, "rope_theta": a.rope_base, "tie_word_embeddings": a.tied_embeddings}
    if gemma:
        config |= {"sliding_window": a.sliding_window, "rope_local_base_freq": a.rope_base_local, "query_pre_attn_scalar": a.head_dim}
    (folder / "config.json").write_text(json.dumps(config))


def logits(model: Transformer, tokens: list[int]) -> torch.Tensor:
    model.setup_caches(1, 64)
    with torch.no_grad():
        return model(torch.tensor([tokens]), torch.arange(len(tokens)))[0]


@pytest.mark.parametrize("arch,hf_arch", [("llama", "LlamaForCausalLM"), ("qwen2", "Qwen2ForCausalLM"), ("qwen3", "Qwen3ForCausalLM")])
def test_a_llama_family_folder_gives_the_ggufs_logits(tmp_path: Path, arch: str, hf_arch: str) -> None:
    from_gguf = load_gguf(tiny_torch_models.build(tmp_path, arch))
    hf_export(from_gguf, tmp_path / "hf", hf_arch)
    tokens = list(range(3, 40))
    assert torch.equal(logits(load_safetensors(tmp_path / "hf", torch.float32), tokens), logits(from_gguf, tokens))


def test_a_gemma3_folder_adds_the_norms_one_and_keeps_the_window(tmp_path: Path) -> None:
    args = ModelArgs(arch="gemma3", n_layer=6, dim=64, n_head=2, n_kv_head=1, head_dim=32, ffn_dim=128, vocab_size=100,
                     norm_eps=1e-6, rope_base=1e6, sliding_window=8, global_every=6, embed_scale=8.0, tied_embeddings=True,
                     qk_norm=True, attn_scale=1 / math.sqrt(32))
    model = random_weights(args, "cpu", torch.float32, seed=4)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)  # not all ones, or a missing +1 would still be ones
    hf_export(model, tmp_path / "hf", "Gemma3ForCausalLM")
    loaded = load_safetensors(tmp_path / "hf", torch.float32)
    assert loaded.args == args
    tokens = list(range(3, 30))  # past the window
    assert torch.allclose(logits(loaded, tokens), logits(model, tokens), atol=1e-5)


def test_bf16_tensors_read_as_bf16(tmp_path: Path) -> None:
    t = torch.randn(3, 5).to(torch.bfloat16)
    write_safetensors(tmp_path / "x.safetensors", {"a": t})
    assert torch.equal(read_safetensors(tmp_path / "x.safetensors")["a"], t)


def test_llama3_rope_scaling_keeps_high_frequencies_and_divides_low_ones() -> None:
    factors = llama3_freq_factors(128, 500_000.0, {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                    "original_max_position_embeddings": 8192})
    assert factors[0] == 1.0 and factors[-1] == 8.0 and bool((factors[1:] >= factors[:-1]).all())
