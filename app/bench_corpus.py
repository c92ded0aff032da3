"""`scriptorium bench corpus`: import speed, index size, search, concordance and frequency-list times, against targets.

Why each figure is measured the way it is:
- The corpus is generated at run time from a seed (nothing large is stored in git) into a temporary data
  directory: half English, half Chinese by bytes, paragraphs interleaved in every text. Words and characters
  are drawn from Zipf-Mandelbrot distributions (p(k) ~ 1/(k + 2.7)), the shape of real word and character
  frequencies, so common queries hit nearly every text and rare ones few, as in a real corpus. The bundled
  public-domain sample (`assets/samples/`) is measured beside it, real prose at a small scale.
- Import throughput is the wall clock of the whole import job (walk, read, decode, fold, shadow, index,
  commit) over the UTF-8 bytes of the texts: what a person waits for, in MB/s.
- Index size is the pages of the shadow table and the FTS5 tables (SQLite's dbstat) over the UTF-8 bytes of
  the bodies; the bodies themselves are stored once more beside it and not counted.
- Search is timed per query for the first page of 20 hits with their total (what the Corpus view asks),
  for query sets spread over the frequency ranks: 1-character CJK queries from the commonest character to
  rare ones, 2- and 4-character CJK strings and English phrases cut from the generated text, English words
  by rank. Each set runs `--repeat` times; the figures are the medians over the runs of each run's p50 and
  p95, so one slow run (a cold page cache) does not decide. Target: p95 at most 50 ms at 100 MB.
- The concordance is timed for the English word whose count is nearest 10,000, every line with 40
  characters of context, median of three runs. Target: at most 300 ms.
- The frequency list reads every text (words, then characters), once each: it is a batch job, no target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.bench.texts import SAMPLES_DIR

TARGETS = {"search_p95_ms": 50.0, "kwic_ms": 300.0, "import_mb_s": 5.0}
KWIC_HITS = 10_000
QUERIES_PER_SET = 30
# The commonest English words head the vocabulary, so English queries read like English; the rest are made up.
COMMON_WORDS = (
    "the of and to a in that is was he for it with as his on be at by i this had not are but from or have an they "
    "which one you were her all she there would their we him been has when who will more no if out so said what up "
    "its about into than them can only other new some could time these two may then do first any my now such like "
    "our over man me even most made after also did many before must through back years where much your way well"
).split()
SYLLABLES = "ka lo mi ne su ta ri po be do fa gu he ji ko la mu na pe ro sa ti vu wa ye zo an el in or us".split()


@dataclass
class Generated:
    """What the generator wrote, with what the queries need: counts by rank, and strings cut from the text."""

    files: int = 0
    bytes: int = 0
    words: list[str] = field(default_factory=list)  # English vocabulary, commonest first
    chars: list[str] = field(default_factory=list)  # Han characters, commonest first
    word_counts: np.ndarray | None = None
    cut: dict[str, list[str]] = field(default_factory=lambda: {"cjk2": [], "cjk4": [], "phrase": []})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--megabytes", type=float, default=100.0, help="size of the generated corpus in MB of UTF-8 text (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated corpus (default 1)")
    parser.add_argument("--text-kb", type=int, default=100, help="size of each generated text in KB (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query set (default 3)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build in DIR and keep it (default: a temporary folder, removed)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


# -- the generated corpus --------------------------------------------------------------------
def _zipf(n: int) -> np.ndarray:
    p = 1.0 / (np.arange(1, n + 1) + 2.7)
    return p / p.sum()


def _vocabulary(rng: np.random.Generator, n: int) -> list[str]:
    words = list(COMMON_WORDS)
    seen = set(words)
    while len(words) < n:
        w = "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def generate(folder: Path, megabytes: float, seed: int, text_kb: int = 100) -> Generated:
    """Write about `megabytes` MB of seeded English and Chinese text into `folder`, `text_kb` KB a file."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    gen = Generated(words=_vocabulary(rng, 30_000))
    han = np.arange(0x4E00, 0x9FA6)
    gen.chars = [chr(c) for c in rng.permutation(han)[:5000]]
    p_word, p_char = _zipf(len(gen.words)), _zipf(len(gen.chars))
    words, chars = np.array(gen.words), np.array(gen.chars)
    gen.word_counts = np.zeros(len(words), dtype=np.int64)
    mean_word = float((p_word * (np.char.str_len(words) + 1)).sum())
    per_half = text_kb * 1000 // 2
    while gen.bytes < megabytes * 1e6:
        w = rng.choice(len(words), size=int(per_half / mean_word), p=p_word)
        c = rng.choice(len(chars), size=per_half // 3, p=p_char)  # a Han character is 3 bytes of UTF-8
        gen.word_counts += np.bincount(w, minlength=len(words))
        body = _interleave(words[w].tolist(), chars[c].tolist())
        if gen.files % 10 == 0:
            _cut(rng, gen, words[w].tolist(), "".join(chars[c].tolist()))
        (folder / f"text-{gen.files:05d}.txt").write_text(body, encoding="utf-8")
        gen.files += 1
        gen.bytes += len(body.encode("utf-8"))
    return gen


def _interleave(words: list[str], chars: list[str]) -> str:
    """English paragraphs of 80 words and Chinese ones of 150 characters, taking turns, punctuated."""
    en = [" ".join(words[i : i + 80]) + "." for i in range(0, len(words), 80)]
    zh = ["，".join("".join(chars[j : j + 10]) for j in range(i, min(i + 150, len(chars)), 10)) + "。" for i in range(0, len(chars), 150)]
    paragraphs = [p for pair in zip(en, zh) for p in pair] + en[len(zh):] + zh[len(en):]
    return "\n\n".join(paragraphs) + "\n"


def _cut(rng: np.random.Generator, gen: Generated, words: list[str], chars: str) -> None:
    """Keep a few strings of this text as queries that are sure to be found."""
    for _ in range(4):
        i = int(rng.integers(0, len(chars) - 4))
        gen.cut["cjk2"].append(chars[i : i + 2])
        gen.cut["cjk4"].append(chars[i : i + 4])
        j = int(rng.integers(0, len(words) - 3))
        gen.cut["phrase"].append(" ".join(words[j : j + int(rng.integers(2, 4))]))


def query_sets(gen: Generated, rng: np.random.Generator) -> dict[str, list[str]]:
    """The query sets: single characters and words by log-spaced rank, strings cut from the text."""
    ranks = lambda n: sorted({int(r) for r in np.geomspace(1, n, QUERIES_PER_SET)})  # noqa: E731
    pick = lambda xs: [str(x) for x in rng.choice(xs, size=min(QUERIES_PER_SET, len(xs)), replace=False)]  # noqa: E731
    return {
        "CJK 1 char": [gen.chars[r - 1] for r in ranks(len(gen.chars))],
        "CJK 2 chars": pick(gen.cut["cjk2"]),
        "CJK 4 chars": pick(gen.cut["cjk4"]),
        "English words": [gen.words[r - 1] for r in ranks(len(gen.words))],
        "English phrases": [f'"{p}"' for p in pick(gen.cut["phrase"])],
    }


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


def index_ratio(db: Any, corpus: str) -> dict[str, float]:
    """Bytes of the shadow and FTS5 tables, and of the whole file, over the UTF-8 bytes of the texts."""
    text_bytes = db.execute(
        "SELECT coalesce(sum(length(CAST(body AS BLOB))), 0) FROM texts JOIN corpora ON corpora.id = texts.corpus_id WHERE corpora.name = ?",
        [corpus]).fetchone()[0]
    index = db.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'text_shadows' OR name LIKE 'texts_fts%'").fetchone()[0]
    total = db.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]
    return {"text_mb": text_bytes / 1e6, "index_ratio": index / max(1, text_bytes), "file_ratio": total / max(1, text_bytes)}


def measure(home: Path, paths: list[Path], corpus: str, queries: dict[str, list[str]], kwic_term: str, repeat: int) -> dict[str, Any]:
    """Import `paths` into `corpus`, then time its queries, its concordance and its frequency lists."""
    from app import store
    from app.corpus.importers.job import run_import
    from app.corpus.kwic import kwic
    from app.corpus.stats import frequencies

    t0 = time.perf_counter()
    report = run_import(home, paths, corpus)
    seconds = time.perf_counter() - t0
    db = store.open_db(home)
    try:
        sizes = index_ratio(db, corpus)
        out: dict[str, Any] = {"texts": report.imported, **sizes, "import_s": seconds, "import_mb_s": sizes["text_mb"] / seconds}
        out["search"] = {name: time_queries(db, corpus, qs, repeat) for name, qs in queries.items() if qs}
        runs = [_ms(lambda: kwic(db, kwic_term, corpus=corpus, width=40)) for _ in range(3)]
        out["kwic"] = {"term": kwic_term, "hits": len(runs[0][1]), "ms": statistics.median(r[0] for r in runs)}
        out["freq_words_ms"] = _ms(lambda: frequencies(db, corpus, None, unit="word", n=1, min_count=1, limit=1000))[0]
        out["freq_chars_ms"] = _ms(lambda: frequencies(db, corpus, None, unit="char", n=1, min_count=1, limit=1000))[0]
    finally:
        db.close()
    return out


def kwic_term(gen: Generated) -> str:
    """The English word whose count is nearest KWIC_HITS."""
    assert gen.word_counts is not None
    return gen.words[int(np.argmin(np.abs(gen.word_counts - KWIC_HITS)))]


# -- the run ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="scriptorium-bench-corpus-"))
    try:
        t0 = time.perf_counter()
        gen = generate(root / "texts", args.megabytes, args.seed, args.text_kb)
        generate_s = time.perf_counter() - t0
        rng = np.random.default_rng(args.seed + 1)
        home = root / "home"
        generated = measure(home, [root / "texts"], "generated", query_sets(gen, rng), kwic_term(gen), args.repeat)
        sample_queries = {"English words": ["the", "of", "man", "fortune", "God", "liberty"],
                          "English phrases": ['"of the"', '"single man"', '"all men are created equal"']}
        sample = measure(home, sorted(SAMPLES_DIR.glob("*.txt")), "sample", sample_queries, "the", args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result = {"bench": "corpus", "megabytes": args.megabytes, "seed": args.seed, "texts": gen.files, "generate_s": generate_s,
              "generated": generated, "sample": sample, "targets": TARGETS, "pass": verdicts(generated)}
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
    print(f"corpus benchmark: generated {g['text_mb']:.1f} MB (seed {r['seed']}, {r['texts']:,} texts, half English, half Chinese) "
          f"and the bundled sample ({s['text_mb'] * 1000:.0f} KB); search medians of {QUERIES_PER_SET}-query sets")
    rows = [("import, MB/s", f"{g['import_mb_s']:.1f}", f"{s['import_mb_s']:.2f}", "≥ 5", ok(g["import_mb_s"] >= TARGETS["import_mb_s"])),
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
