"""`scriptorium bench NAME`: benchmarks that print ratios measured side by side in one run, then one JSON line."""

from __future__ import annotations

import argparse
import importlib
import logging

log = logging.getLogger(__name__)

# Each module exposes add_arguments(parser) and run(args) -> int.
BENCHMARKS = {
    "decode": ("inference.bench.decode", "bare llama-cpp-python against the worker: decode, prefill, time to first token"),
    "cache": ("inference.bench.cache", "time to first token: cold, warm in the worker, restored from cache.db"),
    "speculative": ("inference.bench.speculative", "tokens/s with and without each drafter, the controller's choice"),
    "compress": ("inference.bench.compress", "the quantization sweep of the embedded model: quality against size"),
    "gui": ("app.bench_gui", "event-loop latency of the window while a generation streams"),
    "corpus": ("app.bench_corpus", "corpus import speed, index size, search, concordance and frequency times against targets"),
    "serve": ("inference.bench.serve", "scriptorium serve against llama-cpp-python's server: throughput, latency, desktop priority"),
    "tasks": ("app.taskbench.bench", "every writing task on a held-out set, judged by program checks; task accuracy kept"),
    "gpu": ("inference.bench.gpu", "torch engine on one GPU: tok/s, TTFT, fraction of the bandwidth limit, J/token, self-speculation, llama.cpp"),
    "retrieval": ("app.bench_retrieval", "recall@5 and MRR of BM25, vectors and hybrid; cited answers' citations and quotes; refusals"),
}


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("bench", help="run a benchmark", description=__doc__)
    sub = p.add_subparsers(dest="bench_command", metavar="NAME", required=True)
    for name, (module_name, help_text) in BENCHMARKS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            log.debug("benchmark %s unavailable: %s", name, exc)
            continue
        q = sub.add_parser(name, parents=[parent], help=help_text, description=module.__doc__)
        module.add_arguments(q)
        q.set_defaults(handler=module.run)
