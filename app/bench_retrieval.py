"""`scriptorium bench retrieval`: recall@5 and MRR of BM25, vectors and hybrid, and what `corpus ask` makes of them.

Why it is measured this way:
- The corpora are the bundled samples (assets/samples/): the English file cut into its five works, and the
  Chinese one (44 public-domain Tang poems, Analects passages and two short prose pieces, in traditional
  characters), imported into a temporary data directory, cut into passages and embedded with the default
  embedder (all-MiniLM-L6-v2) in one worker run.
- The questions (tests/data/retrieval/questions.jsonl) are written by hand, mostly in other words than the text's,
  as a reader asks; the Chinese ones in simplified characters, over the traditional texts. Each names an answer
  string that occurs once in its corpus: a passage is correct when it holds the whole string. recall@5 is the
  share of questions with a correct passage among the first five; MRR the mean of 1 / rank of the first correct
  one within the first ten (0 past that).
- Hybrid is also run with other fusion constants (RRF k), on the same retrievals, to show how much k matters.
- Refusal: the relevance of the best passage (app/corpus/answer.py) on the questions and on off-topic ones
  (tests/data/retrieval/off_topic.jsonl); for thresholds around the one shipped, the share of on-topic
  questions still answered and of off-topic ones refused (no generation).
- `ask` runs the embedded model greedily (temperature 0) through the worker on every question that passes the
  threshold: the share of citations naming a correct passage (of all the citations it wrote; invalid numbers
  count as wrong), the share of invalid ones, the share of quotes verified verbatim, and the share of answers
  that cite at all. These are the model's figures, not the checks': the checks catch what it gets wrong.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app import store
from app.corpus.answer import MIN_COSINE, MIN_COVERAGE, SOURCES, ask, prepare
from app.corpus.records import TextRecord
from app.corpus.retrieve import MODES, Found, query_embedder, retrieve
from app.corpus.store import add_text, corpus_id
from app.corpus.vectors import embed_corpus, embed_query
from inference.bench.texts import SAMPLES_DIR

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "retrieval"
ENGLISH, CHINESE = "english", "chinese"
RRF_KS = (10, 30, 60, 100)
COVERAGES = (0.25, 0.3, 0.35, 0.4, 0.5)  # refusal thresholds tried beside the shipped ones
COSINES = (0.2, 0.25, 0.3, 0.35, 0.4)
DEPTH = 10  # MRR@10


@dataclass(frozen=True)
class Question:
    """A question, its corpus, and the string that a correct passage holds."""

    id: str
    corpus: str
    question: str
    answer: str = ""  # empty for an off-topic question


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-ask", action="store_true", help="measure retrieval only: do not run the model")
    parser.add_argument("--model", help="the model that answers (default: the default model)")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N questions a corpus")
    parser.add_argument("--answers", type=Path, metavar="FILE", help="write every answer with its checks to FILE (JSON lines)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")


def load_questions(name: str = "questions.jsonl", data_dir: Path = DATA_DIR) -> list[Question]:
    """The questions of one file of the set."""
    lines = (data_dir / name).read_text(encoding="utf-8").splitlines()
    return [Question(**json.loads(line)) for line in lines if line.strip()]


def sample_records() -> dict[str, list[TextRecord]]:
    """The two sample corpora as texts: the English file cut at its capitalised headings, the Chinese JSON lines."""
    english: list[TextRecord] = []
    title, lines = "", []
    for line in (SAMPLES_DIR / "public-domain-english.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.strip() and line.strip() == line.strip().upper() and any(c.isalpha() for c in line):
            if title:
                english.append(TextRecord(title=title, body="\n".join(lines).strip()))
            title, lines = line.strip().title(), []
        else:
            lines.append(line)
    english.append(TextRecord(title=title, body="\n".join(lines).strip()))
    rows = [json.loads(line) for line in (SAMPLES_DIR / "public-domain-chinese.jsonl").read_text(encoding="utf-8").splitlines() if line]
    chinese = [TextRecord(title=r["title"], author=r["author"], collection=r["collection"], body=r["body"]) for r in rows]
    return {ENGLISH: english, CHINESE: chinese}


def build(home: Path) -> None:
    """Import the sample corpora into a data directory."""
    with closing(store.open_db(home)) as db:
        for name, records in sample_records().items():
            cid = corpus_id(db, name)
            for record in records:
                add_text(db, cid, record)


def answer_span(db: Any, q: Question) -> tuple[int, int, int]:
    """(text id, start, end) of a question's answer string in its corpus."""
    row = db.execute("""SELECT texts.id, instr(texts.body, ?) - 1 FROM texts JOIN corpora ON corpora.id = texts.corpus_id
                        WHERE corpora.name = ? AND instr(texts.body, ?) > 0""", [q.answer, q.corpus, q.answer]).fetchone()
    if row is None:
        raise ValueError(f"{q.id}: the answer {q.answer!r} is not in the corpus {q.corpus!r}")
    return row[0], row[1], row[1] + len(q.answer)


def correct(found: Found, span: tuple[int, int, int]) -> bool:
    """Whether a passage holds the whole answer string."""
    text_id, start, end = span
    return found.text_id == text_id and found.start <= start and end <= found.end


def first_correct(passages: list[Found], span: tuple[int, int, int]) -> int | None:
    """The 1-based rank of the first correct passage, or None."""
    return next((rank for rank, p in enumerate(passages, 1) if correct(p, span)), None)


def retrieval_scores(ranks: list[int | None]) -> dict[str, float]:
    """recall@5 and MRR@10 of first-correct ranks."""
    if not ranks:
        return {"recall@5": 0.0, "mrr": 0.0, "n": 0}
    return {"recall@5": round(sum(r is not None and r <= 5 for r in ranks) / len(ranks), 3),
            "mrr": round(statistics.fmean(1 / r if r else 0.0 for r in ranks), 3), "n": len(ranks)}


def measure_retrieval(db: Any, questions: list[Question], vectors: dict[str, Any], modes: tuple[str, ...] = MODES) -> dict[str, Any]:
    """Per corpus and mode, recall@5 and MRR; hybrid under each RRF k."""
    out: dict[str, Any] = {}
    for corpus in (ENGLISH, CHINESE):
        qs = [q for q in questions if q.corpus == corpus]
        spans = [answer_span(db, q) for q in qs]
        row: dict[str, Any] = {}
        for mode in modes:
            ranks = [first_correct(retrieve(db, q.question, corpus, mode, DEPTH, query_vector=vectors[q.id]).passages, s)
                     for q, s in zip(qs, spans)]
            row[mode] = retrieval_scores(ranks)
        row["rrf_k"] = {k: retrieval_scores([first_correct(retrieve(db, q.question, corpus, "hybrid", DEPTH,
                                                                    query_vector=vectors[q.id], rrf_k=k).passages, s)
                                             for q, s in zip(qs, spans)]) for k in RRF_KS}
        out[corpus] = row
    return out


def measure_refusal(db: Any, questions: list[Question], off_topic: list[Question], vectors: dict[str, Any]) -> dict[str, Any]:
    """Each question's relevance signals, and for thresholds around the shipped ones the share of on-topic
    questions answered and of off-topic ones refused, per corpus."""
    signals = {q.id: prepare(db, q.question, q.corpus, query_vector=vectors[q.id]).relevance for q in [*questions, *off_topic]}
    settings = sorted({*((c, MIN_COSINE) for c in COVERAGES), *((MIN_COVERAGE, v) for v in COSINES)})
    rows = []
    for min_coverage, min_cosine in settings:
        row: dict[str, Any] = {"coverage": min_coverage, "cosine": min_cosine}
        for corpus in (ENGLISH, CHINESE):
            on = [signals[q.id].relevant(min_coverage, min_cosine) for q in questions if q.corpus == corpus]
            off = [not signals[q.id].relevant(min_coverage, min_cosine) for q in off_topic if q.corpus == corpus]
            row[corpus] = {"answered": _share(on), "off_topic_refused": _share(off)}
        rows.append(row)
    return {"coverage": MIN_COVERAGE, "cosine": MIN_COSINE, "by_threshold": rows,
            "signals": {k: asdict(v) for k, v in signals.items()}}


def measure_ask(db: Any, questions: list[Question], off_topic: list[Question], vectors: dict[str, Any],
                generate: Callable[[dict], dict], progress: Callable[[str], None]) -> tuple[dict[str, Any], list[dict]]:
    """The model's answers to every question (off-topic ones included, which should be refused), scored."""
    cites = good = invalid = quotes = verified = citing = answered = refused_off = generated = 0
    records = []
    for i, q in enumerate([*questions, *off_topic], 1):
        result = ask(db, q.question, generate, q.corpus, query_vector=vectors[q.id])
        if not result.refused:
            generated += 1
        if not q.answer:
            refused_off += result.refused
        elif not result.refused:
            answered += 1
            span = answer_span(db, q)
            numbers = [c for c in result.checked.citations]
            cites += len(numbers)
            invalid += sum(not c.valid for c in numbers)
            good += sum(c.valid and correct(result.sources[c.number - 1], span) for c in numbers)
            citing += bool(numbers)
            quotes += len(result.checked.quotes)
            verified += sum(qt.verified for qt in result.checked.quotes)
        records.append({"id": q.id, **result.to_dict()})
        if i % 10 == 0:
            progress(f"ask: {i} of {len(questions) + len(off_topic)} questions")
    return ({"answered": answered, "citations": cites, "citations_correct": _ratio(good, cites),
             "citations_invalid": _ratio(invalid, cites), "answers_citing": _ratio(citing, answered), "quotes": quotes,
             "quotes_verified": _ratio(verified, quotes), "off_topic_refused": _ratio(refused_off, len(off_topic)),
             "generations": generated}, records)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _share(flags: list[bool]) -> float | None:
    """The share of true flags; None for none at all."""
    return _ratio(sum(flags), len(flags))


def run(args: argparse.Namespace) -> int:
    from inference.client import WorkerClient

    questions, off_topic = load_questions(), load_questions("off_topic.jsonl")
    if args.limit:
        questions = [q for c in (ENGLISH, CHINESE) for q in [x for x in questions if x.corpus == c][: args.limit]]
    with tempfile.TemporaryDirectory(prefix="scriptorium-retrieval-") as tmp, WorkerClient(home=Path(args.home)) as client:
        home = Path(tmp)
        build(home)
        embedding = [embed_corpus(home, corpus, client=client) for corpus in (ENGLISH, CHINESE)]
        with closing(store.open_db(home)) as db:
            vectors = _query_vectors(db, client, [*questions, *off_topic])
            result: dict[str, Any] = {"retrieval": measure_retrieval(db, questions, vectors),
                                      "refusal": measure_refusal(db, questions, off_topic, vectors),
                                      "embedding": [e.to_dict() for e in embedding], "sources": SOURCES}
            if not args.no_ask:
                model = client.call("load_model", model=args.model)["model"]
                generate = lambda request: client.call("generate", speculative="off", **request)  # noqa: E731
                result["ask"], records = measure_ask(db, questions, off_topic, vectors, generate, _progress)
                result["ask"]["model"] = model.get("name", "")
                if args.answers:
                    args.answers.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    if not args.json:
        print_table(result)
    summary = {k: v for k, v in result.items() if k != "refusal"} | {"refusal": {k: v for k, v in result["refusal"].items() if k != "signals"}}
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _query_vectors(db: Any, client: Any, questions: list[Question]) -> dict[str, Any]:
    """Each question embedded by its corpus's embedder."""
    embedders = {c: query_embedder(db, c) for c in (ENGLISH, CHINESE)}
    return {q.id: embed_query(q.question, embedders[q.corpus].name, client=client) for q in questions}


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{message}\033[K", end="", file=sys.stderr, flush=True)


def print_table(r: dict[str, Any]) -> None:
    """The human card: retrieval by corpus and mode, the fusion constant, refusal, and the model's answers."""
    print("\r\033[K" if sys.stderr.isatty() else "", end="", file=sys.stderr)
    print(f"{'corpus':<9} {'mode':<7} {'recall@5':>9} {'MRR@10':>7} {'questions':>10}")
    for corpus, row in r["retrieval"].items():
        for mode in MODES:
            s = row[mode]
            print(f"{corpus:<9} {mode:<7} {s['recall@5']:>9.3f} {s['mrr']:>7.3f} {s['n']:>10}")
    print("\nhybrid by RRF k: " + "; ".join(
        f"{corpus} " + ", ".join(f"k={k} {s['recall@5']:.3f}/{s['mrr']:.3f}" for k, s in row["rrf_k"].items())
        for corpus, row in r["retrieval"].items()) + "  (recall@5/MRR)")
    for e in r["embedding"]:
        print(f"embedding: {e['passages']} passages with {e['model']}, {e['per_second']} passages/s")
    ref = r["refusal"]
    print(f"\nrefusal (shipped: coverage {ref['coverage']}, cosine {ref['cosine']}, or a CJK pair)   "
          "on-topic answered / off-topic refused")
    for row in ref["by_threshold"]:
        shipped = " *" if (row["coverage"], row["cosine"]) == (ref["coverage"], ref["cosine"]) else ""
        cells = "   ".join(f"{c} {_num(row[c]['answered'])} / {_num(row[c]['off_topic_refused'])}" for c in (ENGLISH, CHINESE))
        print(f"  coverage {row['coverage']:.2f}, cosine {row['cosine']:.2f}: {cells}{shipped}")
    if "ask" in r:
        a = r["ask"]
        print(f"\nask ({a['model']}, {a['answered']} answered, {a['generations']} generations): citations correct "
              f"{_pct(a['citations_correct'])} of {a['citations']}, invalid {_pct(a['citations_invalid'])}; answers citing "
              f"{_pct(a['answers_citing'])}; quotes verified {_pct(a['quotes_verified'])} of {a['quotes']}; "
              f"off-topic refused {_pct(a['off_topic_refused'])}")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"
