"""What the idle skip-set search costs the user: its wall time and step times, and how long a request that arrives
mid-search waits, against the same request on an idle worker. `python -m inference.bench.skip_idle [--model GGUF]`.

Why measured this way:
- The worker runs in this process (inference.worker.Worker over a TorchBackend whose `auto` drafts by skipping on
  this device, as it does on a GPU), fed through its own queue, so the search runs exactly as the idle loop runs
  it; each request's latency is from the moment it is queued to its `done` event as the worker writes it.
- A probe is the same short greedy request every time (a 60-token prompt, one token, speculation off): the
  prompt is read afresh each time, so a probe's own cost is the same with or without a search around it.
- Idle probes are sent before the search is wanted and after it is stored; mid-search probes at random moments
  (seeded) while it runs. The figures are medians; their difference is what the search adds to a request, which
  the step times bound (a request waits for the step in progress only).
- cache.db is a fresh temporary one, so every run measures a whole search.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from inference.backends.base import LoadOptions
from inference.backends.torch_engine import TorchBackend
from inference.engine import Engine
from inference.models import Registry
from inference.protocol import Done, Error, Request, from_line
from inference.worker import Worker

PROBE = ("The lighthouse keeper climbed the spiral stair each evening at dusk, counting the steps as his father had "
         "counted them, and lit the great lamp that the ships far out at sea watched for.")


class TimedOut:
    """The worker's stdout: each event line parsed and stamped with the time it was written."""

    def __init__(self) -> None:
        self.ended: dict[str, float] = {}
        self.results: dict[str, dict] = {}
        self.changed = threading.Condition()

    def write(self, line: str) -> None:
        event = from_line(line)
        if isinstance(event, (Done, Error)):
            with self.changed:
                self.ended[event.id] = time.perf_counter()
                self.results[event.id] = event.result if isinstance(event, Done) else {"error": event.message}
                self.changed.notify_all()

    def flush(self) -> None:
        """Lines are read as they are written."""

    def wait(self, rid: str, timeout: float = 600.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: rid in self.ended, timeout):
                raise TimeoutError(f"request {rid} did not end in {timeout} s")
            if "error" in self.results[rid]:
                raise RuntimeError(self.results[rid]["error"])
            return self.ended[rid]


class Bench:
    """A worker on a thread of this process, a search to trigger, and probes to time."""

    def __init__(self, model: Path, home: Path, n_ctx: int) -> None:
        self.backend = TorchBackend(skip_auto_devices=("cpu", "cuda"))
        self.out = TimedOut()
        self.worker = Worker(Engine(self.backend, cache_db=home / "cache.db"), home, self.out)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.worker.serve, name="worker", daemon=True)
        self.thread.start()
        self.n = 0
        self.call("load_model", {"model": str(model), "n_ctx": n_ctx})

    def call(self, op: str, params: dict) -> float:
        """Queue a request, wait for its end; seconds from queued to done."""
        self.n += 1
        rid = f"r{self.n}"
        t0 = time.perf_counter()
        self.worker.pending.put(Request(rid, op, params))
        return self.out.wait(rid) - t0

    def probe(self) -> float:
        return self.call("generate", {"raw_prompt": PROBE, "max_tokens": 1, "temperature": 0, "speculative": "off"})

    def state(self) -> str:
        return self.backend.cache_stats()["skip_set"]["state"]

    def close(self) -> None:
        self.worker.pending.close(Request("end", "shutdown"))
        self.thread.join(timeout=60)


def run(model: Path, text: str, probes: int, seed: int, n_ctx: int, max_s: float) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(model, Path(tmp), n_ctx)
        bench.probe()  # warm: the first forward of a process pays for allocations
        idle = [bench.probe() for _ in range(probes // 2)]
        bench.call("generate", {"raw_prompt": text, "max_tokens": 8, "temperature": 0, "speculative": "auto"})
        t_start = time.perf_counter()
        search = bench.backend.skip_sets.search if bench.backend.skip_sets else None
        mid: list[float] = []
        while len(mid) < probes and bench.state() in ("pending", "searching"):
            time.sleep(rng.uniform(0.2, 1.5))  # a random moment of the search, never in step with it
            if bench.state() == "searching":
                search = search or bench.backend.skip_sets.search
                mid.append(bench.probe())
        while bench.state() in ("pending", "searching") and time.perf_counter() - t_start < max_s:
            time.sleep(0.2)
        wall = time.perf_counter() - t_start
        finished = bench.state() == "stored"
        idle += [bench.probe() for _ in range(probes - probes // 2)]
        status = bench.backend.cache_stats()["skip_set"]
        bench.close()
    steps = sorted(search.step_seconds) if search is not None else []
    return {
        "search_finished": finished, "search_wall_s": round(wall, 2), "search_compute_s": round(sum(steps), 2), "steps": len(steps),
        "sets_tried": search.evaluated if search is not None else None, "skip_set": status,
        "step_ms": {"median": _ms(statistics.median(steps)), "p90": _ms(steps[int(0.9 * (len(steps) - 1))]),
                    "max": _ms(steps[-1])} if steps else None,
        "idle_probe_ms": [_ms(s) for s in idle], "mid_search_probe_ms": [_ms(s) for s in mid],
        "idle_median_ms": _ms(statistics.median(idle)), "mid_search_median_ms": _ms(statistics.median(mid)) if mid else None,
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def report(result: dict) -> str:
    step = result["step_ms"] or {}
    lines = [
        f"skip-set search{'' if result['search_finished'] else ' (stopped unfinished)'}: {result['search_wall_s']} s wall, "
        f"{result['search_compute_s']} s in {result['steps']} steps "
        f"({result['sets_tried']} sets tried) -> {result['skip_set']}",
        f"step time: median {step.get('median')} ms, p90 {step.get('p90')} ms, max {step.get('max')} ms",
        f"probe latency (queued -> done): idle worker median {result['idle_median_ms']} ms, "
        f"mid-search median {result['mid_search_median_ms']} ms (n = {len(result['idle_probe_ms'])} / {len(result['mid_search_probe_ms'])})",
    ]
    if result["mid_search_median_ms"] is not None:
        lines.append(f"a request mid-search waits {result['mid_search_median_ms'] - result['idle_median_ms']:+.1f} ms more (median)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.bench.skip_idle", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a GGUF the torch engine runs (default: the embedded model)")
    parser.add_argument("--text-file", type=Path, default=None, help="the user's text the search runs on (default: the bundled sample)")
    parser.add_argument("--probes", type=int, default=8, help="probes on an idle worker, and as many mid-search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-ctx", type=int, default=1024)
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="stop waiting for the search after this long (its steps so far are reported)")
    args = parser.parse_args(argv)
    from inference.compress.pipeline import read_held_out
    from inference.paths import home_dir

    model = args.model or Path(Registry(home_dir(None)).default().path)
    text = read_held_out(args.text_file)[0][:2000]  # about 400 tokens: more than the search's 256-token sample
    result = run(model, text, args.probes, args.seed, args.n_ctx, args.max_seconds)
    print(report(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
