"""python -m app.taskbench.proof_speed: how long the model's weighing adds to a proofread of a selection, on this machine.

Why it is measured this way: the desk's proofread is the model's answer (one `generate` of the whole selection)
and then the judge's one `score` request over every candidate sentence; both run in the same worker on the same
selection, one after the other, repeated, and the table gives their medians and the ratio. The selection is the
first N English sentences of the shipped evaluation set, joined as one paragraph (what a writer selects). The
score op's own counts say how much of the candidates' text the shared prefixes saved.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from app.desk.proofread import harper_lints
from app.proofing import plan
from app.taskbench.data import MAX_TOKENS, load
from inference.client import WorkerClient


def selection(n: int) -> str:
    """The first n English sentences of the proofreading set, as one paragraph."""
    return " ".join([item.text for item in load("proofread") if item.lang == "en"][:n])


def run(home: Path | None, n: int, repeats: int) -> dict:
    """Medians over `repeats` of the generate and the score request for an n-sentence selection."""
    text = selection(n)
    lints = harper_lints(text, "American")
    generate_s, score_s, counts = [], [], {}
    with WorkerClient(home=home) as client:
        client.call("load_model")
        for _ in range(repeats):
            t0 = time.perf_counter()
            answer = client.call("generate", task="proofread", text=text, temperature=0.0, speculative="off",
                                 max_tokens=MAX_TOKENS["proofread"] * n)["output"]
            t1 = time.perf_counter()
            texts = plan(text, lints, answer).texts()
            result = client.call("score", texts=texts)
            t2 = time.perf_counter()
            generate_s.append(t1 - t0)
            score_s.append(t2 - t1)
            counts = {"texts": len(texts), "tokens_reused": result["tokens_reused"], "tokens_evaluated": result["tokens_evaluated"]}
    g, s = statistics.median(generate_s), statistics.median(score_s)
    return {"bench": "proof_speed", "sentences": n, "repeats": repeats, "generate_s": round(g, 2), "score_s": round(s, 2),
            "score_over_generate": round(s / g, 3) if g else None, **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.taskbench.proof_speed", description=__doc__)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    r = run(args.home, args.sentences, args.repeats)
    shared = r["tokens_reused"] / max(r["tokens_reused"] + r["tokens_evaluated"], 1)
    print(f"proofread of {r['sentences']} sentences, median of {r['repeats']}: the model's answer {r['generate_s']:.2f} s, "
          f"weighing {r['texts']} candidate sentences {r['score_s']:.2f} s ({r['score_over_generate']:.2f}× the answer); "
          f"{100 * shared:.0f}% of the candidates' tokens came from shared prefixes")
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
