"""The llama.cpp side of `bench gpu`: the embedded GGUF with every layer on the GPU, the same prompt ids as the torch rows.

Why measured this way: the project's own loader (llama_adapter.open_llama: flash attention, its batch size,
n_gpu_layers=-1) so the figures are the worker's; time to first token is one eval of the prompt's ids;
decode is one eval per token of the greedy token (sampled by argmax of llama.cpp's own logits); medians.
Only a GGUF file can be measured: the 8B- and 70B-shaped rows are random tensors with no file.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

import numpy as np

from inference.bench.gpu_tokens import TokenSets

log = logging.getLogger(__name__)

NEED_S = 30  # loading, three prefills and three decode runs of the embedded model
DECODE_TOKENS = 128
REPEATS = 3


def measure_llama(gguf: Path | None, tokens: TokenSets, left_s: float) -> dict:
    """Figures of llama.cpp's CUDA build, or why there are none."""
    try:
        import llama_cpp

        from inference.backends.llama_adapter import gpu_offload_supported, open_llama
    except ImportError as exc:
        return {"skipped": f"llama-cpp-python is not installed in this interpreter ({exc})"}
    if not gpu_offload_supported():
        return {"skipped": f"this llama-cpp-python {llama_cpp.__version__} has no GPU offload (a CPU build)"}
    if gguf is None:
        return {"skipped": "no GGUF file given"}
    if left_s < NEED_S:
        return {"skipped": f"time budget: {left_s:.0f} s left"}
    llm = open_llama(gguf, n_ctx=2048, n_gpu_layers=-1)
    prompt = tokens.prefill
    ttft, decode = [], []
    for _ in range(REPEATS + 1):  # the first is a warm-up
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        ttft.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(DECODE_TOKENS):
            llm.eval([token])
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        decode.append(DECODE_TOKENS / (time.perf_counter() - t0))
    return {"build": f"llama-cpp-python {llama_cpp.__version__}", "model": gguf.name, "prompt_tokens": len(prompt),
            "ttft_ms": statistics.median(ttft[1:]) * 1000, "decode_tps": statistics.median(decode[1:]),
            "other_shapes": "not measured (8B- and 70B-shaped rows are random tensors with no GGUF file)"}


def main() -> int:
    """python -m inference.bench.gpu_llama: the llama.cpp section alone, after the CUDA build (packaging/gpu_check.sh)."""
    import argparse
    import json
    import sys

    from inference.bench.gpu_report import llama_text
    from inference.bench.gpu_tokens import token_sets

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, help="token ids written by bench gpu --write-tokens")
    parser.add_argument("--budget-s", type=float, default=NEED_S)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = {"bench": "gpu-llama", **measure_llama(args.gguf, token_sets(args.tokens, args.gguf, 512, False), args.budget_s)}
    print(llama_text(result))
    line = json.dumps(result)
    print(line)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench-gpu-llama.json").write_text(line + "\n", encoding="utf-8")
    return 0 if "skipped" not in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
