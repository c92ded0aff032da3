"""Compression sweep of the embedded model: every quantization type against one full-precision reference.

Why it is measured this way:
- The embedded model ships quantized (Q4_K_M), so a full-precision F32 reference is rebuilt from it once
  (every tensor dequantized with the gguf package); each type is quantized from that reference with
  llama.cpp's own quantizer, and the shipped file is measured as one more row.
- Quality is measured on the same held-out tokens for every row, in the same process, against the same
  loaded reference: top-1 agreement of the next-token choice, KL divergence of the whole distribution
  (mean and 99th percentile, where rare large errors show), and the perplexity ratio.
- Memory is llama.cpp's own count of its weight buffers (file size and RSS growth are reported too:
  RSS includes the KV cache and compute buffers, identical for every row); speeds are one 256-token
  prefill and 32 greedy decode steps per row, each row right after the previous, so drift in machine
  load spreads over all rows. Speeds on a shared machine are noisy; the ratios are the point.
- The 262k-token embedding table is most of this small model, and its width (640) is not a multiple of
  256, so llama.cpp falls back from K-quants to Q4_0/Q5_0 for many tensors: sizes move little. The
  compression story is about big models, where `scriptorium models advise` does the arithmetic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference.compress import report
from inference.compress.sweep import run_sweep
from inference.compress.types import SWEEP_TYPES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the embedded model)")
    parser.add_argument("--tokens", type=int, default=1024, help="held-out tokens scored per row (default 1024)")
    parser.add_argument("--types", default=",".join(SWEEP_TYPES), help="comma-separated types (default: the full sweep)")
    parser.add_argument("--text-file", metavar="F", help="held-out text (default: the bundled public-domain sample)")
    parser.add_argument("--chart", metavar="FILE.png", help="also write the chart here")


def _model_path(args: argparse.Namespace) -> Path:
    from inference.models import Registry

    registry = Registry(args.home)
    return registry.get(args.model).path if args.model else registry.embedded().path


def run(args: argparse.Namespace) -> int:
    """Run the sweep, print the table, then one JSON line of the figures."""
    types = tuple(t.strip().upper() for t in args.types.split(",") if t.strip())
    text = Path(args.text_file) if args.text_file else None
    progress = lambda stage, fraction: print(f"\r{stage:<28}", end="", file=sys.stderr, flush=True)  # noqa: E731
    result = run_sweep(_model_path(args), args.home / "cache" / "compress", types, text, args.tokens, None, progress)
    print(file=sys.stderr)
    print(report.table(result))
    if args.chart:
        print(f"chart: {report.write_chart(result, Path(args.chart))}")
    keys = ("type", "file_bytes", "model_bytes", "top1_agreement", "kl_mean", "kl_p99", "ppl_ratio", "prefill_tps", "decode_tps")
    rows = [{k: r[k] for k in keys} for r in result["rows"]]
    print(json.dumps({"bench": "compress", "held_out_tokens": result["held_out"]["tokens"], "rows": rows}))
    return 0
