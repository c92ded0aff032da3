"""Speculative-decoding benchmark: greedy tokens/s with and without each drafter on continue, rewrite and proofread.

Why it is measured this way:
- One worker, one model, greedy decoding: every mode must produce the same text as `off`, and the table
  says whether it did. Modes alternate prompt by prompt (and which goes first rotates), so drift in
  machine load hits every mode alike; the figure is the median over the prompts.
- Decode speed is the engine's: tokens after the first over the time after the first, so the prompt
  (identical in every mode, and reused from the cache after the first mode) does not enter it, while
  drafting and verifying do.
- `auto` is the controller's own choice; the table prints it (drafter and k, or off and why), the
  acceptance it measured and its probe of what verifying n tokens costs against one on this machine.
- Proofread inputs are the passages with deterministic typos, so the answer copies most of its input:
  the case prompt lookup was made for. `draft` uses --draft (default: the model itself, which shows the
  acceptance ceiling and the pure cost of drafting).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from inference.bench.texts import passages

TASKS = ("continue", "rewrite", "proofread")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the embedded model)")
    parser.add_argument("--draft", help="draft model name or path (default: the model itself)")
    parser.add_argument("--rounds", type=int, default=3, help="prompts per task")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompt-chars", type=int, default=500)


def typos(text: str) -> str:
    """Swap two inner letters of every fifth long word: a proofreading input whose answer copies the rest."""
    words = text.split(" ")
    for i in range(0, len(words), 5):
        w = words[i]
        if len(w) > 4 and w.isalpha():
            words[i] = w[0] + w[2] + w[1] + w[3:]
    return " ".join(words)


def _one(client: Any, task: str, text: str, mode: str, max_tokens: int) -> dict:
    result = client.call("generate", task=task, text=text, max_tokens=max_tokens, temperature=0.0, speculative=mode)
    s = result["stats"]
    return {"tps": s.get("tokens_per_s") or 0.0, "output": result["output"], "acceptance": s.get("acceptance"),
            "speculative": s.get("speculative"), "reason": s.get("speculative_reason"), "alpha": s.get("alpha"),
            "best_k": s.get("best_k"), "exact": s.get("exact"), "costs": s.get("verify_cost_ratio"), "tokens": s.get("generated_tokens")}


def run(args: argparse.Namespace) -> int:
    from inference.client import WorkerClient
    from inference.models import Registry

    registry = Registry(Path(args.home))
    model = registry.get(args.model) if args.model else registry.default()
    draft = args.draft or model.name
    modes = ["off", "lookup", f"draft:{draft}", "auto"]
    texts = passages(args.rounds, args.prompt_chars)
    runs: dict[tuple[str, str], list[dict]] = {(t, m): [] for t in TASKS for m in modes}
    with WorkerClient(home=Path(args.home)) as client:
        client.call("load_model", model=args.model or model.name, n_ctx=2048)
        _one(client, "continue", texts[0][:100], "auto", 4)  # the controller's one-off probe is not decode speed
        for task in TASKS:
            for i, text in enumerate(texts):
                text = typos(text) if task == "proofread" else text
                order = modes[i % len(modes):] + modes[: i % len(modes)]
                for mode in order:
                    runs[(task, mode)].append(_one(client, task, text, mode, args.max_tokens))
    _print(model.name, modes, runs)
    return 0


def _print(model: str, modes: list[str], runs: dict[tuple[str, str], list[dict]]) -> None:
    label = {m: ("draft" if m.startswith("draft:") else m) for m in modes}
    print(f"speculative benchmark: {model}, greedy, decode tokens/s (median), ratio to off, acceptance, same text as off")
    print(f"{'task':<11}" + "".join(f"{label[m]:>22}" for m in modes))
    summary = []
    for task in TASKS:
        base = statistics.median(r["tps"] for r in runs[(task, "off")])
        cells = []
        for mode in modes:
            rs = runs[(task, mode)]
            tps = statistics.median(r["tps"] for r in rs)
            same = all(r["output"] == o["output"] for r, o in zip(rs, runs[(task, "off")]))
            acc = [r["acceptance"] for r in rs if r["acceptance"] is not None]
            acc_s = f"{statistics.mean(acc):.2f}" if acc else "-"
            cells.append(f"{tps:6.1f} {tps / base:5.2f}x {acc_s:>4} {'=' if same else '≠'}")
            summary.append({"task": task, "mode": label[mode], "tokens_per_s": tps, "ratio": tps / base, "acceptance": statistics.mean(acc) if acc else None, "same_text": same})
        print(f"{task:<11}" + "".join(f"{c:>22}" for c in cells))
    choice = [r for rs in (runs[(t, "auto")] for t in TASKS) for r in rs][-1]
    print(f"auto chose: {choice['speculative']}" + (f" — {choice['reason']}" if choice["reason"] else f", k = {choice['best_k']}"))
    print(f"probe: verify n tokens / one token = {choice['costs']}; batched verify bit-exact: {choice['exact']}")
    worst = min(s["ratio"] for s in summary if s["mode"] == "auto")
    print(f"auto vs off, worst task: {(worst - 1) * 100:+.1f}% (target: never below -3%)")
    print(json.dumps({"bench": "speculative", "model": model, "rows": summary, "auto": {k: choice[k] for k in ("speculative", "reason", "best_k", "alpha", "exact", "costs")}}))
