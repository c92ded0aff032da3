"""`scriptorium bench corpus`: import speed, index size, search, concordance and frequency-list times, against targets.

Why each figure is measured the way it is:
- The corpus is app.corpus.sample's, generated at run time from a seed (nothing large is stored in git) and
  written as one .txt file a text into a temporary folder: 70% of the texts Chinese, 30% English, lengths
  log-normal, characters and words Zipf-distributed, so common queries hit nearly every text and rare ones
  few, as in a real corpus. The bundled public-domain sample (`assets/samples/`) is measured beside it: real
  prose at a small scale. Both are imported into one temporary data directory.
- Import throughput is the wall clock of the whole import job (walk, read, decode, fold, shadow, index,
  commit) over the UTF-8 bytes of the texts: what a person waits for, in MB/s. The job reads on one thread
  while its writer commits on another, so two free cores matter; the CPU time of both threads is printed
  beside it (MB per CPU-second), a figure that other work on a shared machine changes far less.
- Index size is the pages of the shadow table and the FTS5 tables (SQLite's dbstat) over the UTF-8 bytes of
  the bodies; the bodies themselves are stored once more beside it and not counted.
- Search is timed per query for the first page of 20 hits with their total (what the Corpus view asks),
  for query sets spread over the frequency ranks: 1-character CJK queries from the commonest character to
  rare ones, 2- and 4-character CJK strings and English phrases cut from the texts (so each is found),
  English words by rank. Each set runs `--repeat` times; the figures are the medians over the runs of each run's p50 and
  p95, so one slow run (a cold page cache) does not decide. Target: p95 at most 50 ms at 100 MB.
- The concordance is timed for the Han character whose count is nearest 10,000, every line with 40
  characters of context, median of three runs. Target: at most 300 ms.
- The frequency list reads every text (words, then characters), once each: it is a batch job, no target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.bench.texts import SAMPLES_DIR

TARGETS = {"search_p95_ms": 50.0, "kwic_ms": 300.0, "import_mb_s": 5.0}
KWIC_HITS = 10_000
QUERIES_PER_SET = 30
CUT_EVERY = 20  # every 20th text gives a few strings of its own as queries
_WORD = re.compile(r"[a-z]+")


@dataclass
class Generated:
    """What was written, with what the queries need: items counted by rank, and strings cut from the texts."""

    files: int = 0
    bytes: int = 0
    chars: Counter = field(default_factory=Counter)  # Han characters of the Chinese texts
    words: Counter = field(default_factory=Counter)  # words of the English texts, lower-cased
    cut: dict[str, list[str]] = field(default_factory=lambda: {"cjk2": [], "cjk4": [], "phrase": []})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--megabytes", type=float, default=100.0, help="size of the generated corpus in MB of UTF-8 text (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated corpus (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query set (default 3)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build in DIR and keep it (default: a temporary folder, removed)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


# -- the generated corpus --------------------------------------------------------------------
def write_corpus(folder: Path, megabytes: float, seed: int) -> Generated:
    """The seeded sample corpus (app.corpus.sample) written as one .txt file a text, counted as it goes."""
    from app.corpus.sample import texts

    rng = np.random.default_rng(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    gen = Generated()
    for record in texts(megabytes, seed):
        body = record.body
        (folder / f"text-{gen.files:06d}.txt").write_text(body, encoding="utf-8")
        chinese = "\u4e00" <= body[0] <= "\u9fff"
        if chinese:
            gen.chars.update(body)
        else:
            gen.words.update(_WORD.findall(body.lower()))
        if gen.files % CUT_EVERY == 0:
            _cut(rng, gen, body, chinese)
        gen.files += 1
        gen.bytes += len(body.encode("utf-8"))
    for mark in "，。；\n":
        gen.chars.pop(mark, None)
    return gen


def _cut(rng: np.random.Generator, gen: Generated, body: str, chinese: bool) -> None:
    """Keep a few strings of this text as queries that are sure to be found: Han runs, or runs of words."""
    for _ in range(3):
        if chinese:
            i = int(rng.integers(0, max(1, len(body) - 4)))
            run = body[i : i + 4]
            if len(run) == 4 and all("\u4e00" <= c <= "\u9fff" for c in run):
                gen.cut["cjk2"].append(run[:2])
                gen.cut["cjk4"].append(run)
        else:
            words = _WORD.findall(body.lower())
            j = int(rng.integers(0, max(1, len(words) - 3)))
            gen.cut["phrase"].append(" ".join(words[j : j + int(rng.integers(2, 4))]))


def query_sets(gen: Generated, rng: np.random.Generator) -> dict[str, list[str]]:
    """The query sets: single characters and words by log-spaced rank, strings cut from the texts."""
    chars, words = [c for c, _ in gen.chars.most_common()], [w for w, _ in gen.words.most_common()]
    ranks = lambda n: sorted({int(r) for r in np.geomspace(1, n, QUERIES_PER_SET)}) if n else []  # noqa: E731
    pick = lambda xs: [str(x) for x in rng.choice(xs, size=min(QUERIES_PER_SET, len(xs)), replace=False)] if xs else []  # noqa: E731
    return {
        "CJK 1 char": [chars[r - 1] for r in ranks(len(chars))],
        "CJK 2 chars": pick(gen.cut["cjk2"]),
        "CJK 4 chars": pick(gen.cut["cjk4"]),
        "English words": [words[r - 1] for r in ranks(len(words))],
        "English phrases": [f'"{p}"' for p in pick(gen.cut["phrase"])],
    }


def kwic_term(gen: Generated) -> str:
    """The Han character whose count is nearest KWIC_HITS."""
    return min(gen.chars, key=lambda c: abs(gen.chars[c] - KWIC_HITS))


# -- measuring -------------------------------------------------------------------------------
def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return (time.perf_counter() - t0) * 1000, value


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(np.ceil(q * len(s))) - 1))]


def time_queries(db: Any, corpus: str, queries: list[str], repeat: int) -> dict[str, float]:
    """Medians over `repeat` runs of each run's p50 and p95 for the first page of hits."""
    from app.corpus.search import search

    runs = []
    for _ in range(repeat):
        times = [_ms(lambda q=q: search(db, q, corpus=corpus, limit=20))[0] for q in queries]
        runs.append((percentile(times, 0.5), percentile(times, 0.95)))
    return {"p50_ms": statistics.median(r[0] for r in runs), "p95_ms": statistics.median(r[1] for r in runs), "queries": len(queries)}


def index_ratio(db: Any) -> dict[str, float]:
    """Bytes of the shadow and FTS5 tables, and of the whole file, over the UTF-8 bytes of the texts (one corpus a file)."""
    text_bytes = db.execute("SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM texts").fetchone()[0]
    index = db.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'text_shadows' OR name LIKE 'texts_fts%'").fetchone()[0]
    total = db.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]
    return {"text_mb": text_bytes / 1e6, "index_ratio": index / max(1, text_bytes), "file_ratio": total / max(1, text_bytes)}


def measure(home: Path, paths: list[Path], corpus: str, queries: dict[str, list[str]], kwic_term: str, repeat: int) -> dict[str, Any]:
    """Import `paths` into `corpus` in a data directory of its own, then time queries, concordance and frequency lists."""
    from app import store
    from app.corpus.importers.job import run_import
    from app.corpus.kwic import kwic
    from app.corpus.stats import frequencies

    t0, cpu0 = time.perf_counter(), time.process_time()
    report = run_import(home, paths, corpus)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    db = store.open_db(home)
    try:
        sizes = index_ratio(db)
        out: dict[str, Any] = {"texts": report.imported, **sizes, "import_s": seconds, "import_mb_s": sizes["text_mb"] / seconds,
                               "import_cpu_s": cpu_seconds, "import_mb_per_cpu_s": sizes["text_mb"] / cpu_seconds}
        out["search"] = {name: time_queries(db, corpus, qs, repeat) for name, qs in queries.items() if qs}
        runs = [_ms(lambda: kwic(db, kwic_term, corpus=corpus, width=40)) for _ in range(3)]
        out["kwic"] = {"term": kwic_term, "hits": len(runs[0][1]), "ms": statistics.median(r[0] for r in runs)}
        out["freq_words_ms"] = _ms(lambda: frequencies(db, corpus, None, unit="word", n=1, min_count=1, limit=1000))[0]
        out["freq_chars_ms"] = _ms(lambda: frequencies(db, corpus, None, unit="char", n=1, min_count=1, limit=1000))[0]
    finally:
        db.close()
    return out


# -- the run ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scriptorium-bench-corpus-"))
    load = [os.getloadavg()[0]]  # a shared machine's load changes every figure: it is reported beside them
    try:
        t0 = time.perf_counter()
        gen = write_corpus(root / "texts", args.megabytes, args.seed)
        generate_s = time.perf_counter() - t0
        rng = np.random.default_rng(args.seed + 1)
        generated = measure(root / "home", [root / "texts"], "generated", query_sets(gen, rng), kwic_term(gen), args.repeat)
        sample_queries = {"English words": ["the", "of", "man", "fortune", "God", "liberty"],
                          "English phrases": ['"of the"', '"single man"', '"all men are created equal"']}
        sample = measure(root / "sample-home", sorted(SAMPLES_DIR.glob("*.txt")), "sample", sample_queries, "the", args.repeat)
        load.append(os.getloadavg()[0])
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result = {"bench": "corpus", "megabytes": args.megabytes, "seed": args.seed, "texts": gen.files, "generate_s": generate_s,
              "generated": generated, "sample": sample, "targets": TARGETS, "pass": verdicts(generated),
              "cpus": os.cpu_count(), "load_average": load}
    if not args.json:
        print_table(result)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def verdicts(g: dict[str, Any]) -> dict[str, bool]:
    """Each target met or not, on the generated corpus."""
    return {
        "search_p95_ms": all(s["p95_ms"] <= TARGETS["search_p95_ms"] for s in g["search"].values()),
        "kwic_ms": g["kwic"]["ms"] <= TARGETS["kwic_ms"],
        "import_mb_s": g["import_mb_s"] >= TARGETS["import_mb_s"],
    }


def print_table(r: dict[str, Any]) -> None:
    g, s = r["generated"], r["sample"]
    ok = lambda good: "pass" if good else "MISSED"  # noqa: E731
    print(f"corpus benchmark: generated {g['text_mb']:.1f} MB (seed {r['seed']}, {r['texts']:,} texts, 70% of them Chinese) "
          f"and the bundled sample ({s['text_mb'] * 1000:.0f} KB); search medians of {QUERIES_PER_SET}-query sets; "
          f"{r['cpus']} CPUs, load average {r['load_average'][0]:.1f} before, {r['load_average'][-1]:.1f} after")
    rows = [("import, MB/s", f"{g['import_mb_s']:.1f}", f"{s['import_mb_s']:.2f}", "≥ 5", ok(g["import_mb_s"] >= TARGETS["import_mb_s"])),
            ("import, MB per CPU-second (both threads)", f"{g['import_mb_per_cpu_s']:.1f}", f"{s['import_mb_per_cpu_s']:.2f}", "", ""),
            ("index ÷ text", f"{g['index_ratio']:.2f}", f"{s['index_ratio']:.2f}", "", ""),
            ("database file ÷ text", f"{g['file_ratio']:.2f}", f"{s['file_ratio']:.2f}", "", "")]
    for name, t in g["search"].items():
        st = s["search"].get(name)
        rows.append((f"search {name}, p50 / p95 ms", f"{t['p50_ms']:.1f} / {t['p95_ms']:.1f}",
                     f"{st['p50_ms']:.1f} / {st['p95_ms']:.1f}" if st else "", "p95 ≤ 50", ok(t["p95_ms"] <= TARGETS["search_p95_ms"])))
    k, ks = g["kwic"], s["kwic"]
    rows.append((f"KWIC of {k['term']!r}, {k['hits']:,} / {ks['hits']:,} hits, ms", f"{k['ms']:.0f}", f"{ks['ms']:.1f}", "≤ 300", ok(k["ms"] <= TARGETS["kwic_ms"])))
    rows.append(("frequency list, words, ms", f"{g['freq_words_ms']:,.0f}", f"{s['freq_words_ms']:.1f}", "", ""))
    rows.append(("frequency list, characters, ms", f"{g['freq_chars_ms']:,.0f}", f"{s['freq_chars_ms']:.1f}", "", ""))
    print(f"{'':<44}{'generated':>16}{'sample':>14}{'target':>11}  ")
    for label, a, b, target, verdict in rows:
        print(f"{label:<44}{a:>16}{b:>14}{target:>11}  {verdict}")
