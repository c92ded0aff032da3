"""Measure int8/int4 loads of the embedded model against the engine's own f32: agreement, KL, load time, bytes.

Not run in CI (each row loads the model again and runs an 800-token prefill: minutes on 2 cores). It prints one
line per row, then the table and one JSON line; the README's quantization table comes from it. Usage:
python -m tests.measure_torch_quant [--rows int4-g128,...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

from inference.backends.torch_agreement import kl_vs_summary, summarise, top_k_summary
from inference.backends.torch_model import Transformer
from inference.backends.torch_quant import Int4Linear, Int8Linear, QuantConfig
from inference.backends.torch_weights import load_gguf
from inference.models import ensure_embedded_model
from inference.paths import home_dir
from tests.make_torch_golden import FIXTURE, TOP_K

MAX_SEQ = 1024


ROWS = [  # group, fit (minmax | lsq: least squares), Q4_K taken exactly, head
    (128, "minmax", False, "int4"), (128, "minmax", False, "int8"), (128, "lsq", False, "int4"), (128, "lsq", False, "int8"),
    (128, "lsq", True, "int8"), (128, "lsq", True, "int4"), (128, "lsq", True, None), (64, "minmax", False, "int8"),
    (64, "lsq", True, "int8"), (32, "minmax", False, "int8"), (32, "lsq", True, "int8"),
]


def rows() -> dict[str, QuantConfig]:
    """Every row of the table by name: int8, and int4 by group, fit, Q4_K taken exactly or not, the head's precision."""
    out = {"int8": QuantConfig("int8")}
    for group, fit, exact, head in ROWS:
        name = f"int4-g{group}-{fit}{'-exact' if exact else ''}-head{head or 'float'}"
        out[name] = QuantConfig("int4", group, head, search=fit != "minmax", exact=exact)
    return out


def weight_bytes(model: Transformer) -> dict[str, int]:
    """Bytes of the weights as the kernels read them (int4: packed codes and scales; the CPU's unpacked copy left out)."""
    total = head = 0
    seen: set[int] = set()
    for name, module in model.named_modules():
        tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
        if isinstance(module, Int4Linear):
            tensors = [module.packed, module.scales_and_zeros]
        n = sum(t.numel() * t.element_size() for t in tensors if t is not None and t.data_ptr() not in seen)
        seen.update(t.data_ptr() for t in tensors if t is not None)
        total += n
        head += n if name == "output" else 0
    return {"bytes": total, "head_bytes": head}


@torch.inference_mode()
def measure(path, tokens: list[int], ref: dict, config: QuantConfig | None) -> dict:
    t0 = time.perf_counter()
    model = load_gguf(path, torch.float32, "cpu", MAX_SEQ, quant=config).eval()
    load_s = time.perf_counter() - t0
    sizes = weight_bytes(model)
    model.setup_caches(1, MAX_SEQ)
    logits = model(torch.tensor([tokens]), torch.arange(len(tokens)))[0]
    found = summarise(ref["ids"][:, 0], logits, kl_vs_summary(ref["ids"], ref["logits"], ref["lse"], logits))
    kinds = sorted({f"{type(m).__name__}{'-g%d' % m.group if isinstance(m, Int4Linear) else ''}" for m in model.modules()
                    if isinstance(m, (Int4Linear, Int8Linear, nn.Linear))})
    return {"top1": round(found.top1, 4), "kl_mean": found.kl_mean, "kl_p99": found.kl_p99, "load_s": round(load_s, 1),
            **sizes, "linears": kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", default=None, help="data directory holding the embedded model")
    parser.add_argument("--rows", default="", help="comma-separated row names (default: all): " + ", ".join(rows()))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = ensure_embedded_model(home_dir(args.home))
    tokens = np.load(FIXTURE)["tokens"].tolist()
    table = rows()
    wanted = [r for r in args.rows.split(",") if r] or list(table)
    ref, f32 = _f32_summary(path, tokens)
    results = {"f32": f32}
    print(f"f32: {json.dumps(f32)}", flush=True)
    for name in wanted:
        results[name] = measure(path, tokens, ref, table[name])
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    print("| row | top-1 | mean KL | p99 KL | load s | MB | head MB |\n| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['top1']:.3f} | {r['kl_mean']:.4f} | {r['kl_p99']:.3f} | {r['load_s']} | {r['bytes'] / 1e6:.0f} | {r['head_bytes'] / 1e6:.0f} |")
    print(json.dumps({"tokens": len(tokens), "threads": args.threads, "rows": results}))


@torch.inference_mode()
def _f32_summary(path, tokens: list[int]) -> tuple[dict, dict]:
    """The engine's own f32 logits over the tokens as top-k summaries (every row's reference), and the f32 row itself."""
    t0 = time.perf_counter()
    model = load_gguf(path, torch.float32, "cpu", MAX_SEQ).eval()
    row = {"top1": 1.0, "kl_mean": 0.0, "kl_p99": 0.0, "load_s": round(time.perf_counter() - t0, 1), **weight_bytes(model)}
    model.setup_caches(1, MAX_SEQ)
    return top_k_summary(model(torch.tensor([tokens]), torch.arange(len(tokens)))[0], TOP_K), row


if __name__ == "__main__":
    main()
