"""Tiny random-weight Llama-family GGUFs with grouped-query attention, for the torch engine's checks against llama.cpp."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

from tests.tiny_model import _finish, _train_tokenizer, _write_tokenizer

N_LAYERS, N_EMBD, N_HEADS, N_HEADS_KV, N_FF = 3, 128, 4, 2, 256  # head dim 32, GQA 2:1
HEAD_DIM = N_EMBD // N_HEADS
# llama: the converter's Q/K row permutation (llama.cpp's interleaved RoPE); qwen2: q/k/v biases, NEOX RoPE;
# qwen3: per-head q/k norms, NEOX RoPE.
ARCHS = ("llama", "qwen2", "qwen3")


def build(dir: Path, arch: str, seed: int = 7) -> Path:
    """Write a deterministic tiny `arch` GGUF (f32 weights, the tiny sentencepiece vocabulary) and return its path."""
    path = Path(dir) / f"tiny-{arch}-gqa.gguf"
    sp = _train_tokenizer()
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(f"tiny-{arch}")
    writer.add_context_length(1024)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEADS)
    writer.add_head_count_kv(N_HEADS_KV)
    writer.add_rope_dimension_count(HEAD_DIM)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    _write_tokenizer(writer, sp)
    _weights(writer, arch, sp.get_piece_size(), np.random.default_rng(seed))
    _finish(writer)
    return path


def _weights(writer: gguf.GGUFWriter, arch: str, n_vocab: int, rng: np.random.Generator) -> None:
    """Random tensors in numpy (out, in) shape; norms near 1 so an extra +1 or a missing norm would show."""

    def rand(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        return (1 + rand(n, scale=0.1)).astype(np.float32)

    kv = HEAD_DIM * N_HEADS_KV
    writer.add_tensor("token_embd.weight", rand(n_vocab, N_EMBD, scale=1.0))
    for i in range(N_LAYERS):
        b = f"blk.{i}."
        writer.add_tensor(b + "attn_norm.weight", norm(N_EMBD))
        for name, rows in (("attn_q", N_EMBD), ("attn_k", kv), ("attn_v", kv)):
            writer.add_tensor(b + name + ".weight", rand(rows, N_EMBD))
            if arch == "qwen2":
                writer.add_tensor(b + name + ".bias", rand(rows))
        if arch == "qwen3":
            writer.add_tensor(b + "attn_q_norm.weight", norm(HEAD_DIM))
            writer.add_tensor(b + "attn_k_norm.weight", norm(HEAD_DIM))
        writer.add_tensor(b + "attn_output.weight", rand(N_EMBD, N_EMBD))
        writer.add_tensor(b + "ffn_norm.weight", norm(N_EMBD))
        writer.add_tensor(b + "ffn_gate.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(b + "ffn_up.weight", rand(N_FF, N_EMBD))
        writer.add_tensor(b + "ffn_down.weight", rand(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", norm(N_EMBD))
    writer.add_tensor("output.weight", rand(n_vocab, N_EMBD))
