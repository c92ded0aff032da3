"""Decode benchmark: the same prompts through bare llama-cpp-python and through the worker, alternating.

Why it is measured this way:
- Both sides load the same file with the same settings (open_llama) and decode greedily, so they
  do identical arithmetic; what differs is the worker's cost (JSON lines, a pipe, text assembly).
- Sides alternate prompt by prompt (and which goes first alternates too), so drift in machine
  load hits both equally; each round uses a new passage, so no side reuses a cached prefix.
- The worker is timed from the client, as a user sees it: time to first token includes the pipe.
- Decode speed counts tokens after the first over the time after the first; prefill speed is
  prompt tokens over time to first token. Medians over the rounds; the ratio is worker / bare.
- Cancel latency is timed at the client from sending `cancel` to the request's final event, once
  while tokens stream and once in the middle of reading a long prompt (where llama.cpp itself must
  be interrupted): the delay a writer feels after pressing Stop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from inference.bench.texts import passages


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the embedded model)")
    parser.add_argument("--rounds", type=int, default=6, help="prompts per side")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompt-chars", type=int, default=1200, help="length of each prompt passage")
    parser.add_argument("--n-ctx", type=int, default=2048)


def _bare(llm: Any, prompt: str, max_tokens: int) -> dict:
    """One greedy generation straight through Llama.generate."""
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    llm.reset()
    t0 = time.perf_counter()
    t_first = t_last = 0.0
    n = 0
    for _token in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        t_last = time.perf_counter()
        t_first = t_first or t_last
        n += 1
        if n >= max_tokens:
            break
    return _figures(len(ids), n, t0, t_first, t_last)


def _worker(client: Any, prompt: str, max_tokens: int) -> dict:
    """One greedy generation through the worker, timed at the client."""
    t0 = time.perf_counter()
    rid = client.send("generate", raw_prompt=prompt, max_tokens=max_tokens, temperature=0.0, speculative="off")
    t_first = t_last = 0.0
    n = 0
    result: dict = {}
    for event in client.events(rid):
        if event.kind == "token":
            t_last = time.perf_counter()
            t_first = t_first or t_last
            n += event.n_tokens
        elif event.kind == "done":
            result = event.result
        elif event.kind == "error":
            raise RuntimeError(event.message)
    return _figures(result["stats"]["prompt_tokens"], n, t0, t_first, t_last)


def _cancel_latency(client: Any, prompt: str, during_prefill: bool) -> float:
    """Milliseconds from sending cancel to the request's final event."""
    rid = client.send("generate", raw_prompt=prompt, max_tokens=400, temperature=0.7, speculative="off")
    events = client.events(rid)
    if during_prefill:
        time.sleep(0.3)  # a benchmark, not a test: let the prompt reading get under way
    else:
        next(e for e in events if e.kind == "token")
    t0 = time.perf_counter()
    client.cancel(rid)
    for _event in events:
        pass
    return (time.perf_counter() - t0) * 1000


def _figures(prompt_tokens: int, n: int, t0: float, t_first: float, t_last: float) -> dict:
    ttft = t_first - t0
    return {
        "ttft_ms": ttft * 1000,
        "prefill_tps": prompt_tokens / ttft if ttft > 0 else 0.0,
        "decode_tps": (n - 1) / (t_last - t_first) if n > 1 and t_last > t_first else 0.0,
        "tokens": n,
    }


def run(args: argparse.Namespace) -> int:
    from inference.backends.llama_adapter import open_llama
    from inference.client import WorkerClient
    from inference.models import Registry

    registry = Registry(Path(args.home))
    model = registry.get(args.model) if args.model else registry.default()
    prompts = passages(args.rounds, args.prompt_chars)
    llm = open_llama(model.path, n_ctx=args.n_ctx)
    rows: dict[str, list[dict]] = {"bare": [], "worker": []}
    with WorkerClient(home=Path(args.home)) as client:
        client.call("load_model", model=model.name if not args.model else args.model, n_ctx=args.n_ctx)
        _bare(llm, prompts[0][:200], 4)  # warm both sides once: first-call costs are not decode speed
        _worker(client, prompts[0][:200], 4)
        for i, prompt in enumerate(prompts):
            order = ("bare", "worker") if i % 2 == 0 else ("worker", "bare")
            for side in order:
                rows[side].append(_bare(llm, prompt, args.max_tokens) if side == "bare" else _worker(client, prompt, args.max_tokens))
        long_prompt = " ".join(passages(2, 3000))  # about 1,400 tokens: seconds of reading
        cancels = {phase: statistics.median(_cancel_latency(client, long_prompt if phase == "prefill" else prompts[0], phase == "prefill") for _ in range(5))
                   for phase in ("decode", "prefill")}
    summary = {side: {k: statistics.median(r[k] for r in runs) for k in ("decode_tps", "prefill_tps", "ttft_ms")} for side, runs in rows.items()}
    ratios = {k: summary["worker"][k] / summary["bare"][k] for k in summary["bare"]}
    print(f"decode benchmark: {model.name}, {args.rounds} prompts of ~{args.prompt_chars} chars, {args.max_tokens} greedy tokens, medians")
    print(f"{'':<22}{'bare':>12}{'worker':>12}{'worker/bare':>14}")
    for key, label in (("decode_tps", "decode tokens/s"), ("prefill_tps", "prefill tokens/s"), ("ttft_ms", "time to first token ms")):
        print(f"{label:<22}{summary['bare'][key]:>12.1f}{summary['worker'][key]:>12.1f}{ratios[key]:>14.3f}")
    cost = (1 - ratios["decode_tps"]) * 100
    print(f"worker cost on decode speed: {cost:+.1f}% (target: at most 3%)")
    print(f"cancel to final event, median of 5: while streaming {cancels['decode']:.1f} ms, while reading a long prompt {cancels['prefill']:.1f} ms (target: 100 ms)")
    print(json.dumps({"bench": "decode", "model": model.name, "rounds": args.rounds, "max_tokens": args.max_tokens, "bare": summary["bare"], "worker": summary["worker"], "ratio": ratios, "decode_cost_pct": cost, "cancel_ms": cancels}))
    return 0
