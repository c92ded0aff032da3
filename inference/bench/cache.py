"""Session-cache benchmark: time to first token for "continue" on documents of 1k, 4k and 8k tokens — cold, warm, restored.

Why it is measured this way:
- One worker reads every document cold (a fresh cache.db), then each again after a sentence is typed at
  its end ("warm": the live context holds another document by then, so this is the in-memory switch plus
  the new sentence). The worker is then shut down and a new one asks the same edited requests
  ("restored": the state comes from cache.db, only the tail is evaluated). All three run in one session
  on one machine, so the ratios compare like with like.
- Time to first token is the engine's own figure (from request start to the first token out of the
  backend: tokenizing, restoring and prefilling); it excludes worker start and model load, which are
  the same in every column.
- Warm and restored requests are identical, so their greedy text must be identical: the table says so.
- The compression row measures zstd (level 3) on one real state blob, to decide whether compressing pays.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from inference.bench.texts import sample_text

TYPED = " She closed the book and looked out at the rain."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the embedded model)")
    parser.add_argument("--sizes", default="1024,4096,8192", help="document sizes in tokens, comma-separated")
    parser.add_argument("--max-tokens", type=int, default=8)


def _documents(client: Any, sizes: list[int]) -> dict[int, str]:
    """Texts of about each size in tokens, cut from the bundled samples (repeated if they are short)."""
    text = " ".join(sample_text().split())
    while len(client.call("tokenize", text=text)["ids"]) < max(sizes) + 64:
        text = text + " " + text
    ids_per_char = len(client.call("tokenize", text=text)["ids"]) / len(text)
    docs = {}
    for size in sizes:
        cut = text[: int(size / ids_per_char)]
        docs[size] = cut.rsplit(" ", 1)[0]
    return docs


def _continue(client: Any, text: str, doc: str, max_tokens: int) -> dict:
    result = client.call("generate", task="continue", text=text, max_tokens=max_tokens, temperature=0.0, doc_key=doc, speculative="off")
    return {"ttft_ms": result["stats"]["ttft_ms"], "prompt_tokens": result["stats"]["prompt_tokens"],
            "reused": result["stats"]["tokens_reused"], "where": result["stats"].get("cache"),
            "save_ms": result["stats"].get("cache_save_ms"), "restore_ms": result["stats"].get("cache_restore_ms"), "output": result["output"]}


def _zstd_ratio(db_path: Path) -> dict:
    """Compression ratio and speed of zstd on the largest saved state."""
    import sqlite3

    try:
        import zstandard
    except ImportError:
        return {"zstd": "not installed"}
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT state FROM states ORDER BY bytes DESC LIMIT 1").fetchone()
    blob = bytes(row[0])
    t0 = time.perf_counter()
    packed = zstandard.ZstdCompressor(level=3).compress(blob)
    t1 = time.perf_counter()
    zstandard.ZstdDecompressor().decompress(packed)
    t2 = time.perf_counter()
    return {"bytes": len(blob), "ratio": round(len(blob) / len(packed), 3), "compress_ms": round((t1 - t0) * 1000, 1), "decompress_ms": round((t2 - t1) * 1000, 1)}


def run(args: argparse.Namespace) -> int:
    import tempfile

    from inference.client import WorkerClient
    from inference.models import Registry

    sizes = [int(s) for s in args.sizes.split(",")]
    model = Registry(Path(args.home)).get(args.model) if args.model else Registry(Path(args.home)).default()
    n_ctx = max(sizes) + 512
    rows: dict[int, dict[str, dict]] = {s: {} for s in sizes}
    with tempfile.TemporaryDirectory(prefix="scriptorium-bench-cache-") as tmp:
        home = Path(tmp)  # a fresh cache.db: the cold column must really be cold
        (home / "models.json").write_text(json.dumps({"default": "bench", "models": {"bench": model.to_json()}}))
        with WorkerClient(home=home) as client:
            client.call("load_model", model="bench", n_ctx=n_ctx)
            docs = _documents(client, sizes)
            for size in sizes:
                rows[size]["cold"] = _continue(client, docs[size], f"bench:{size}", args.max_tokens)
            # cache_stats waits for the background writer: a writer still busy with cold states would
            # otherwise share these two cores with the warm requests, which is not what warm measures.
            client.call("cache_stats")
            for size in sizes:
                rows[size]["warm"] = _continue(client, docs[size] + TYPED, f"bench:{size}", args.max_tokens)
            stats = client.call("cache_stats")
        with WorkerClient(home=home) as client:
            client.call("load_model", model="bench", n_ctx=n_ctx)
            for size in sizes:
                rows[size]["restored"] = _continue(client, docs[size] + TYPED, f"bench:{size}", args.max_tokens)
        zstd = _zstd_ratio(home / "cache.db")
    _print(model.name, rows, stats, zstd)
    return 0


def _print(model: str, rows: dict[int, dict[str, dict]], stats: dict, zstd: dict) -> None:
    print(f"cache benchmark: {model}, time to first token of 'continue' (ms), greedy")
    print(f"{'tokens':>8}{'cold':>10}{'warm':>10}{'restored':>10}{'cold/warm':>11}{'cold/restored':>15}{'reused':>14}{'restore ms':>12}{'save ms':>9}  same text")
    summary = []
    for size, r in rows.items():
        cold, warm, rest = r["cold"]["ttft_ms"], r["warm"]["ttft_ms"], r["restored"]["ttft_ms"]
        same = r["warm"]["output"] == r["restored"]["output"]
        reused = f"{r['restored']['reused']}/{r['restored']['prompt_tokens']}"
        print(f"{r['cold']['prompt_tokens']:>8}{cold:>10.0f}{warm:>10.0f}{rest:>10.0f}{cold / warm:>11.1f}{cold / rest:>15.1f}{reused:>14}"
              f"{r['restored']['restore_ms'] or 0:>12.1f}{r['warm']['save_ms'] or 0:>9.1f}  {'yes' if same else 'NO'}")
        summary.append({"tokens": r["cold"]["prompt_tokens"], "cold_ms": cold, "warm_ms": warm, "restored_ms": rest,
                        "warm_speedup": cold / warm, "restored_speedup": cold / rest, "same_text": same,
                        "where": [r["warm"]["where"], r["restored"]["where"]], "save_ms": r["warm"]["save_ms"], "restore_ms": r["restored"]["restore_ms"]})
    print(f"cache.db after the first worker: {stats.get('entries')} states, {stats.get('bytes', 0) / 2**20:.1f} MiB "
          f"(budget {stats.get('budget', 0) / 2**20:.0f} MiB); in memory {stats.get('memory', {}).get('bytes', 0) / 2**20:.1f} MiB")
    if "ratio" in zstd:
        print(f"zstd level 3 on a {zstd['bytes'] / 2**20:.1f} MiB state: {zstd['ratio']}x smaller, "
              f"compress {zstd['compress_ms']} ms, decompress {zstd['decompress_ms']} ms")
    print("targets at the largest size: restored >= 10x faster than cold, warm >= 20x")
    print(json.dumps({"bench": "cache", "model": model, "rows": summary, "cache_stats": stats, "zstd": zstd}))
