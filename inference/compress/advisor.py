"""Which quantization types fit this machine: weights (bits per weight) plus the KV cache at the wanted context."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from inference.compress.types import BITS_PER_WEIGHT
from inference.gguf_meta import GGUFHeader, read_header
from inference.gpu import gpu_memory_bytes


GiB = 1024**3
ADVISE_TYPES = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS", "Q3_K_M", "Q2_K")
# Bytes per cached K or V element: f16, and llama.cpp's q8_0 / q4_0 blocks (32 values in 34 / 18 bytes).
KV_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
# Room kept free: the OS and the desktop app need RAM; the CUDA context and its workspace take about 1 GiB.
RAM_USABLE = 0.85
GPU_RESERVED = 1 * GiB
UBATCH = 512  # llama.cpp's default micro-batch: sizes the logits and activation buffers


@dataclass(frozen=True)
class ModelShape:
    """What the memory arithmetic needs to know of a model."""

    name: str
    parameters: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    embedding: int
    vocab: int
    context_length: int | None = None


# Published shapes (config.json of each release), so the README can show models nobody has on disk.
PRESETS = {
    "llama-70b": ModelShape("Llama 3 70B", 70_553_706_496, 80, 64, 8, 128, 8192, 128_256, 131_072),
    "llama-8b": ModelShape("Llama 3 8B", 8_030_261_248, 32, 32, 8, 128, 4096, 128_256, 131_072),
    "gemma3-27b": ModelShape("Gemma 3 27B", 27_009_002_240, 62, 32, 16, 128, 5376, 262_208, 131_072),
    "mistral-7b": ModelShape("Mistral 7B", 7_241_732_096, 32, 32, 8, 128, 4096, 32_768, 32_768),
    "gemma3-270m": ModelShape("Gemma 3 270M", 268_098_176, 18, 4, 1, 256, 640, 262_144, 32_768),
}


def shape_from_gguf(path: Path) -> ModelShape:
    """Read the shape from a GGUF's header (gguf_meta: no vocabulary parsed); the parameters are summed from the tensor shapes."""
    return shape_from_header(read_header(path), Path(path).stem)


def shape_from_header(header: GGUFHeader, fallback_name: str) -> ModelShape:
    """A model's shape from its header fields; a per-layer array (some models' head counts) counts its largest value."""

    def get(key: str, default: object = None) -> object:
        if key in header.arrays:
            return max(header.arrays[key], default=default)
        return header.fields.get(key, default)

    arch = str(get("general.architecture"))
    heads = int(get(f"{arch}.attention.head_count"))
    embedding = int(get(f"{arch}.embedding_length"))
    return ModelShape(
        name=str(get("general.name", fallback_name)),
        parameters=header.parameter_count,
        layers=int(get(f"{arch}.block_count")),
        heads=heads,
        kv_heads=int(get(f"{arch}.attention.head_count_kv", heads)),
        head_dim=int(get(f"{arch}.attention.key_length", embedding // heads)),
        embedding=embedding,
        vocab=int(get("tokenizer.ggml.tokens", 0) or get(f"{arch}.vocab_size", 0)),  # an array: its length
        context_length=int(get(f"{arch}.context_length", 0)) or None,
    )


def weight_bytes(shape: ModelShape, qtype: str) -> int:
    """Weights at a type's average bits per weight."""
    return int(shape.parameters * BITS_PER_WEIGHT[qtype] / 8)


def kv_bytes(shape: ModelShape, ctx: int, kv_type: str = "f16") -> int:
    """K and V for every layer and every position: 2 x layers x ctx x kv_heads x head_dim x bytes per element."""
    return int(2 * shape.layers * ctx * shape.kv_heads * shape.head_dim * KV_BYTES[kv_type])


def overhead_bytes(shape: ModelShape) -> int:
    """Compute buffers with flash attention: logits and activations of one micro-batch, plus a fixed 256 MiB."""
    return int(GiB / 4 + UBATCH * (shape.vocab + 8 * shape.embedding) * 4)


def machine_memory() -> dict[str, int | None]:
    """Total RAM, and total memory of the first NVIDIA GPU when nvidia-smi is present."""
    return {"ram": psutil.virtual_memory().total, "gpu": gpu_memory_bytes()}


def usable(ram: int | None, gpu: int | None) -> dict[str, int]:
    """Memory a model may take on each device, after the room kept free."""
    out = {}
    if ram:
        out["ram"] = int(ram * RAM_USABLE)
    if gpu:
        out["gpu"] = gpu - GPU_RESERVED
    return out


def advise(shape: ModelShape, ctx: int, ram: int | None, gpu: int | None) -> dict:
    """Every (type, KV type) with its memory and where it fits, and the recommendation for the main device."""
    room = usable(ram, gpu)
    rows = []
    for qtype in ADVISE_TYPES:
        for kv in KV_BYTES:
            need = weight_bytes(shape, qtype) + kv_bytes(shape, ctx, kv) + overhead_bytes(shape)
            rows.append({"type": qtype, "kv": kv, "bits_per_weight": BITS_PER_WEIGHT[qtype],
                         "weights_bytes": weight_bytes(shape, qtype), "kv_bytes": kv_bytes(shape, ctx, kv),
                         "total_bytes": need, **{f"fits_{dev}": need <= cap for dev, cap in room.items()}})
    device = "gpu" if "gpu" in room else "ram"
    return {"shape": asdict(shape), "ctx": ctx, "memory": {"ram": ram, "gpu": gpu}, "usable": room,
            "device": device, "rows": rows, "recommendation": recommend(rows, device)}


def file_fit(shape: ModelShape, file_bytes: int, ctx: int, ram: int | None, gpu: int | None) -> dict:
    """Whether a model file fits as it is: the file's weights, an f16 KV cache at `ctx` and the compute buffers."""
    need = file_bytes + kv_bytes(shape, ctx) + overhead_bytes(shape)
    return {"need_bytes": need, **{f"fits_{dev}": need <= cap for dev, cap in usable(ram, gpu).items()}}


def recommend(rows: list[dict], device: str) -> dict | None:
    """The most bits that fit, preferring an f16 or q8_0 KV cache (q8_0 is near lossless); q4_0 KV only as a last resort."""
    key = f"fits_{device}"
    for kv_choices in (("f16", "q8_0"), ("q4_0",)):
        for qtype in ADVISE_TYPES:
            for r in rows:
                if r["type"] == qtype and r["kv"] in kv_choices and r.get(key):
                    return r
    return None


def table(advice: dict) -> str:
    """A terminal table: one line per type, the total for each KV type, and the recommendation."""
    gb = lambda n: f"{n / GiB:.1f}"  # noqa: E731  (GiB, as nvidia-smi and free count)
    dev = advice["device"]
    lines = [f"{advice['shape']['name']}: {advice['shape']['parameters'] / 1e9:.2f}B parameters, "
             f"{advice['shape']['layers']} layers, {advice['shape']['kv_heads']} KV heads x {advice['shape']['head_dim']}, "
             f"context {advice['ctx']:,} tokens; {dev.upper()} usable {gb(advice['usable'][dev])} GiB",
             f"{'type':8}{'bpw':>6}{'weights GiB':>12}" + "".join(f"{'total, ' + k + ' KV':>20}" for k in KV_BYTES)]
    for qtype in ADVISE_TYPES:
        rs = [r for r in advice["rows"] if r["type"] == qtype]
        cells = "".join(f"{gb(r['total_bytes']) + (' fits' if r.get('fits_' + dev) else ' no  '):>20}" for r in rs)
        lines.append(f"{qtype:8}{rs[0]['bits_per_weight']:>6.2f}{gb(rs[0]['weights_bytes']):>12}{cells}")
    rec = advice["recommendation"]
    lines.append(f"recommended: {rec['type']} with a {rec['kv']} KV cache ({gb(rec['total_bytes'])} GiB)" if rec
                 else "nothing fits: choose a shorter context, a smaller model, or a machine with more memory")
    lines.append("a q8_0 or q4_0 KV cache needs flash attention on (llama.cpp: flash_attn); sizes count weights, "
                 "KV cache and compute buffers, with flash attention")
    return "\n".join(lines)
