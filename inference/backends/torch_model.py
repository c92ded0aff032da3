"""A decoder-only transformer in torch (Gemma 3 and the Llama family), gpt-fast style, with a static KV cache.

Every detail that makes the float32 forward match llama.cpp on the embedded model is written at the line
that needs it (DESIGN.md, "The torch engine: Gemma 3 facts, measured"). The module knows nothing of
files: inference.backends.torch_weights builds ModelArgs and the state dict from a GGUF or safetensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GEMMA3_LOCAL_ROPE_BASE = 10_000.0  # llama.cpp hard-codes it; the GGUF holds only the global base


@dataclass(frozen=True)
class ModelArgs:
    """The shape and the arithmetic choices of one model; everything the forward needs besides weights."""

    arch: str  # "gemma3" | "llama" (llama, mistral, qwen2, qwen3 share the llama forward)
    n_layer: int
    dim: int
    n_head: int
    n_kv_head: int
    head_dim: int
    ffn_dim: int
    vocab_size: int
    norm_eps: float = 1e-5
    rope_base: float = 10_000.0  # every layer's, or a gemma3 global layer's
    rope_base_local: float = GEMMA3_LOCAL_ROPE_BASE
    sliding_window: int | None = None  # None: every layer attends to the whole context
    global_every: int | None = None  # gemma3: layer i is global iff i % global_every == global_every - 1
    embed_scale: float | None = None  # gemma3: sqrt(dim), applied in f32
    tied_embeddings: bool = False
    max_seq_len: int = 8192
    qk_norm: bool = False  # per-head RMSNorm of q and k before RoPE (gemma3, qwen3)
    qkv_bias: bool = False  # qwen2
    attn_scale: float | None = None  # None: 1/sqrt(head_dim)

    @property
    def gemma(self) -> bool:
        return self.arch == "gemma3"

    def is_local(self, layer: int) -> bool:
        """Whether a layer attends only within the sliding window (and uses the local RoPE base)."""
        if self.sliding_window is None:
            return False
        return self.global_every is None or layer % self.global_every != self.global_every - 1

    @classmethod
    def llama_shape(cls, name: str, max_seq_len: int = 4096) -> "ModelArgs":
        """Llama 3 8B- or 70B-shaped args ("8b" | "70b"), for benchmarks with random weights."""
        shapes = {
            "8b": dict(n_layer=32, dim=4096, n_head=32, n_kv_head=8, ffn_dim=14336),
            "70b": dict(n_layer=80, dim=8192, n_head=64, n_kv_head=8, ffn_dim=28672),
        }
        try:
            shape = shapes[name.lower()]
        except KeyError:
            raise ValueError(f"unknown Llama shape {name!r}; known: {', '.join(shapes)}") from None
        return cls(arch="llama", head_dim=shape["dim"] // shape["n_head"], vocab_size=128256, norm_eps=1e-5,
                   rope_base=500_000.0, max_seq_len=max_seq_len, **shape)

    def with_max_seq(self, n: int) -> "ModelArgs":
        return replace(self, max_seq_len=n)


class RMSNorm(nn.Module):
    """x·rsqrt(mean x² + eps)·w in f32; a Gemma GGUF's weights already hold the +1 (adding it again wrecks all)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (out * self.weight.float()).to(x.dtype)


class KVCache(nn.Module):
    """One layer's static cache, [B, n_kv_head, max_seq, head_dim], written at the given positions."""

    def __init__(self, max_batch: int, max_seq: int, n_kv_head: int, head_dim: int, dtype: torch.dtype) -> None:
        super().__init__()
        shape = (max_batch, n_kv_head, max_seq, head_dim)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype), persistent=False)

    def update(self, input_pos: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        # index_copy_ keeps the write a graph-capturable kernel (no host-side position)
        self.k[: k.shape[0]].index_copy_(2, input_pos, k.to(self.k.dtype))
        self.v[: v.shape[0]].index_copy_(2, input_pos, v.to(self.v.dtype))
        return self.k[: k.shape[0]], self.v[: v.shape[0]]


def rope_table(head_dim: int, max_seq: int, base: float, freq_factors: Tensor | None = None) -> Tensor:
    """cos and sin per position and frequency, [max_seq, head_dim/2, 2], in f32."""
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    if freq_factors is not None:  # Llama 3.1's rope_freqs tensor: llama.cpp divides each frequency by its factor
        inv = inv / freq_factors.double().cpu()
    angles = torch.outer(torch.arange(max_seq, dtype=torch.float64), inv)
    return torch.stack([angles.cos(), angles.sin()], dim=-1).float()


def apply_rope(x: Tensor, table: Tensor) -> Tensor:
    """NEOX RoPE (rotate halves) of x [B, H, T, D] with table rows [T, D/2, 2] already picked by position."""
    xf = x.float()
    half = xf.shape[-1] // 2
    x1, x2 = xf[..., :half], xf[..., half:]
    cos, sin = table[..., 0], table[..., 1]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


class Attention(nn.Module):
    """GQA attention with fused QKV, optional q/k norms, RoPE and SDPA over the static cache."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        q, kv = args.n_head * args.head_dim, args.n_kv_head * args.head_dim
        self.wqkv = nn.Linear(args.dim, q + 2 * kv, bias=args.qkv_bias)
        self.wo = nn.Linear(q, args.dim, bias=False)
        self.q_norm = RMSNorm(args.head_dim, args.norm_eps) if args.qk_norm else None
        self.k_norm = RMSNorm(args.head_dim, args.norm_eps) if args.qk_norm else None
        self.kv_cache: KVCache | None = None
        self.scale = args.attn_scale if args.attn_scale is not None else 1.0 / math.sqrt(args.head_dim)

    def forward(self, x: Tensor, rope: Tensor, mask: Tensor, input_pos: Tensor) -> Tensor:
        a = self.args
        bsz, seqlen, _ = x.shape
        q, k, v = self.wqkv(x).split([a.n_head * a.head_dim, a.n_kv_head * a.head_dim, a.n_kv_head * a.head_dim], dim=-1)
        q = q.view(bsz, seqlen, a.n_head, a.head_dim)
        k = k.view(bsz, seqlen, a.n_kv_head, a.head_dim)
        v = v.view(bsz, seqlen, a.n_kv_head, a.head_dim)
        if self.q_norm is not None:  # per head, before RoPE
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
        q, k = apply_rope(q, rope), apply_rope(k, rope)
        assert self.kv_cache is not None, "call setup_caches first"
        keys, values = self.kv_cache.update(input_pos, k, v)
        n = mask.shape[-1]  # attend over the cache's first n positions (all of it under a CUDA graph)
        keys, values = keys[:, :, :n], values[:, :, :n]
        y = F.scaled_dot_product_attention(q, keys.to(q.dtype), values.to(q.dtype), attn_mask=mask, scale=self.scale,
                                           enable_gqa=a.n_head != a.n_kv_head)
        return self.wo(y.transpose(1, 2).reshape(bsz, seqlen, a.n_head * a.head_dim))


class FeedForward(nn.Module):
    """act(gate)·up → down with gate and up fused (w13); gelu_tanh for Gemma (erf-GELU differs measurably), SiLU otherwise."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.w13 = nn.Linear(args.dim, 2 * args.ffn_dim, bias=False)
        self.w2 = nn.Linear(args.ffn_dim, args.dim, bias=False)
        self.gemma = args.gemma

    def forward(self, x: Tensor) -> Tensor:
        gate, up = self.w13(x).chunk(2, dim=-1)
        act = F.gelu(gate, approximate="tanh") if self.gemma else F.silu(gate)
        return self.w2(act * up)


class Block(nn.Module):
    """One layer: pre-norm attention and FFN; Gemma adds post-norms inside each residual (sandwich norms)."""

    def __init__(self, args: ModelArgs, layer: int) -> None:
        super().__init__()
        self.local = args.is_local(layer)
        self.attention = Attention(args)
        self.feed_forward = FeedForward(args)
        self.attention_norm = RMSNorm(args.dim, args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, args.norm_eps)
        self.post_attention_norm = RMSNorm(args.dim, args.norm_eps) if args.gemma else nn.Identity()
        self.post_ffn_norm = RMSNorm(args.dim, args.norm_eps) if args.gemma else nn.Identity()

    def forward(self, x: Tensor, rope: Tensor, mask: Tensor, input_pos: Tensor) -> Tensor:
        h = x + self.post_attention_norm(self.attention(self.attention_norm(x), rope, mask, input_pos))
        return h + self.post_ffn_norm(self.feed_forward(self.ffn_norm(h)))


class Transformer(nn.Module):
    """Token ids → float32 logits, one forward per prefill chunk, decode step or verify batch."""

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
        self.layers = nn.ModuleList(Block(args, i) for i in range(args.n_layer))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.tied_embeddings:
            self.output.weight = self.tok_embeddings.weight
        self.register_buffer("rope_global", torch.empty(0), persistent=False)
        self.register_buffer("rope_local", torch.empty(0), persistent=False)
        self.register_buffer("rope_freq_factors", None, persistent=True)  # set by a Llama 3.1 GGUF
        self.max_batch = self.max_seq = 0

    def setup_caches(self, max_batch: int, max_seq: int, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        """Allocate the static KV cache of every layer and the RoPE tables for max_seq positions."""
        device = torch.device(device) if device is not None else self.tok_embeddings.weight.device
        dtype = dtype or self.tok_embeddings.weight.dtype
        a = self.args
        self.max_batch, self.max_seq = max_batch, max_seq
        for layer in self.layers:
            layer.attention.kv_cache = KVCache(max_batch, max_seq, a.n_kv_head, a.head_dim, dtype).to(device)
        self.rope_global = rope_table(a.head_dim, max_seq, a.rope_base, self.rope_freq_factors).to(device)
        self.rope_local = rope_table(a.head_dim, max_seq, a.rope_base_local).to(device)

    def forward(self, idx: Tensor, input_pos: Tensor, skip: frozenset[int] = frozenset(), last_only: bool = False,
                kv_len: int | None = None) -> Tensor:
        """Logits [B, T, V] in f32 for tokens idx [B, T] at positions input_pos [T] (last_only: [B, 1, V]).

        Layers in `skip` are bypassed: the residual passes through and their KV is not written (the
        self-speculation drafter). kv_len bounds the keys attended to; None takes max(input_pos) + 1 on
        the CPU and the whole cache on a GPU, where a host-side read would break CUDA-graph capture.
        """
        assert self.max_seq, "call setup_caches first"
        if kv_len is None:
            kv_len = int(input_pos.max()) + 1 if input_pos.device.type == "cpu" else self.max_seq
        x = self.embed(idx)
        masks = self._masks(input_pos, kv_len)
        ropes = (self.rope_global[input_pos], self.rope_local[input_pos])
        for i, layer in enumerate(self.layers):
            if i in skip:
                continue
            x = layer(x, ropes[layer.local], masks[layer.local], input_pos)
        if last_only:
            x = x[:, -1:]
        return self.output(self.norm(x)).float()

    def embed(self, idx: Tensor) -> Tensor:
        """Token embeddings; Gemma scales them by sqrt(dim) in f32 (25.298, not bf16's 25.25)."""
        x = self.tok_embeddings(idx)
        if self.args.embed_scale is not None:
            x = (x.float() * self.args.embed_scale).to(x.dtype)
        return x

    def _masks(self, input_pos: Tensor, kv_len: int) -> tuple[Tensor, Tensor]:
        """(global, local) boolean masks [T, kv_len]: a key is visible iff 0 ≤ q − k (< window when local)."""
        dist = input_pos[:, None] - torch.arange(kv_len, device=input_pos.device)[None, :]
        causal = dist >= 0
        window = self.args.sliding_window
        return causal, (causal & (dist < window)) if window is not None else causal


def random_weights(args: ModelArgs, device: torch.device | str, dtype: torch.dtype = torch.bfloat16, seed: int = 0,
                   precision: str | None = None, group: int = 128) -> Transformer:
    """A model with random weights made directly on `device` (benchmarks: decode speed does not depend on values).

    precision "int8" / "int4" makes the linears quantized from the start (inference.backends.torch_quant),
    never materialising float weights: a 70B-shaped model in bf16 would not fit one GPU.
    """
    with torch.device("meta"):
        model = Transformer(args)
    if args.tied_embeddings:
        model.output = nn.Linear(args.dim, args.vocab_size, bias=False)  # a head of its own, quantized or not
    if precision in ("int8", "int4"):
        from inference.backends.torch_quant import QuantConfig, random_quantized

        model = random_quantized(model, QuantConfig(precision, group), device, dtype, seed)
    else:
        model = model.to_empty(device=device).to(dtype)
        generator = torch.Generator(device=device).manual_seed(seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.fill_(1.0) if name.endswith("norm.weight") else p.normal_(0.0, 0.02, generator=generator)
    if args.tied_embeddings and precision not in ("int8", "int4"):
        model.output.weight = model.tok_embeddings.weight
    model.rope_global = model.rope_local = torch.empty(0, device=device)
    return model.requires_grad_(False)
