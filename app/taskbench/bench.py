"""`scriptorium bench tasks`: every writing task run on a held-out evaluation set and judged by checks a program can make.

Why it is measured this way:
- The set (tests/data/tasks/*.jsonl, English and Chinese) is held out from the prompts' few-shot examples, and
  each answer is judged by a check a program can make (app/taskbench/checks.py says which), so a figure is a
  count anyone can re-run, not an opinion.
- Greedy decoding (temperature 0, no repetition penalty) through the worker, as the desk asks: a run is
  repeatable, and the answer is the one the engine's guard lets through (labels stripped, loops cut).
- Proofreading is scored four ways on the same sentences: Harper alone (each lint's first suggestion), the
  model alone, the merge of both without scoring (app/desk/proofread.py), and the combination the desk shows
  (app/proofing/: candidates judged by the model's scores); fixed is the known error corrected, dropped is a
  sentence that lost a word of the original outside the error span, a false alarm an error-free sentence
  (proofread_clean.jsonl) changed. --calibrate sweeps the judge's margins over what was scored: run it on the
  dev split (--data tests/data/tasks/dev), never to tune on the reported set.
- Scores are stored per model checksum (task_scores), where the assistant panel reads them to mark weak tasks.
- With --reference, both models run the same items in one worker, one after the other (a worker holds one
  model), and the report gives task accuracy kept (the candidate's pass rate ÷ the reference's) beside top-1
  token agreement over the compress report's held-out text.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from app import store
from app.errors import UserError
from app.taskbench import report
from app.taskbench.data import DATA_DIR, load_clean, load_set
from app.taskbench.run import Measurement, WorkerSession, measure
from inference.tasks import TASKS

AGREEMENT_TOKENS = 512  # enough for a top-1 agreement figure to two digits, a few seconds a model here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the default model)")
    parser.add_argument("--reference", help="a reference model (the uncompressed one): report task accuracy kept")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks (default: all)")
    parser.add_argument("--limit", type=int, help="at most N items a task, taken in turn from each kind and language")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of <task>.jsonl files (default: the shipped set)")
    parser.add_argument("--answers", type=Path, metavar="FILE", help="write every answer with its verdict to FILE (JSON lines)")
    parser.add_argument("--calibrate", action="store_true", help="proofread: sweep the judge's margins (run it on the dev split)")


def parse_tasks(text: str) -> tuple[str, ...]:
    tasks = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise UserError(f"Unknown task(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TASKS)}.")
    return tasks


def run(args: argparse.Namespace) -> int:
    items = load_set(parse_tasks(args.tasks), args.limit, args.data)
    clean = load_clean(args.data) if "proofread" in items else []
    results = measure_models(Path(args.home), items, [args.model] + ([args.reference] if args.reference else []), clean)
    if args.answers:
        write_answers(args.answers, results)
    summaries = [report.summary(m) for m in results]
    for s in summaries:
        print(report.table(s), end="\n\n")
    line = summaries[0]
    if args.reference:
        line = compare(summaries[0], summaries[1], results[0].model["path"], results[1].model["path"])
        print(report.comparison_table(line["candidate"], line["reference"], line["kept"], line["top1_agreement"]))
    print(report.json_line(line))
    if args.calibrate and results[0].proofreader is not None and results[0].proofreader.scorer is not None:
        print("\n" + calibration_table(results[0]))
    return 0


def measure_models(home: Path, items: dict, models: list[str | None], clean: list = ()) -> list[Measurement]:
    """Each model measured on the items in one worker, one after the other; the scores stored per checksum."""
    from inference.client import WorkerClient

    with WorkerClient(home=home) as client:
        session = WorkerSession(client)
        results = [measure(session, items, model, _progress, list(clean)) for model in models]
    save_scores(home, results)
    return results


def task_accuracy_kept(home: Path, candidate: Path, reference: Path, top1: float | None, limit: int | None = None) -> dict:
    """`compress --tasks`: the compressed model and its reference on the whole set, compared (see `compare`)."""
    results = measure_models(home, load_set(limit=limit), [str(candidate), str(reference)])
    return compare(*(report.summary(m) for m in results), str(candidate), str(reference), top1)


def compare(candidate: dict, reference: dict, candidate_path: str | None, reference_path: str | None,
            top1: float | None = None) -> dict:
    """The comparison's JSON: both summaries, task accuracy kept, and top-1 agreement (measured here unless given)."""
    if top1 is None and candidate_path and reference_path:
        top1 = top1_agreement(Path(candidate_path), Path(reference_path))
    return {"bench": "tasks", "candidate": candidate, "reference": reference, "kept": report.kept(candidate, reference),
            "top1_agreement": top1}


def top1_agreement(candidate: Path, reference: Path, tokens: int = AGREEMENT_TOKENS) -> float:
    """How often the candidate's most likely next token is the reference's, over the compress report's held-out text."""
    from inference.compress import fidelity
    from inference.compress.pipeline import read_held_out

    evaluator = fidelity.Evaluator(reference, fidelity.tokenize(reference, read_held_out(None)[0], tokens))
    try:
        return evaluator.compare(candidate).top1_agreement
    finally:
        evaluator.close()


def calibration_table(m: Measurement) -> str:
    """For each source's margin in turn (the others as shipped): fixed %, dropped % and false alarms % of the set."""
    from app.proofing import MARGINS

    lines = [f"{'source':<8}{'margin':>8}{'fixed':>9}{'dropped':>9}{'false alarms':>14}"]
    for source in MARGINS:
        for step in range(0, 21):
            margins = MARGINS | {source: step / 2}
            fixed, dropped, alarms = sweep_point(m, margins)
            mark = "  ← shipped" if margins == MARGINS else ""
            lines.append(f"{source:<8}{step / 2:>8.1f}{_pct(fixed):>9}{_pct(dropped):>9}{_pct(alarms):>14}{mark}")
    return "\n".join(lines)


def sweep_point(m: Measurement, margins: dict[str, float]) -> tuple[float, float, float]:
    """Fixed, dropped and false-alarm shares of one run decided again with other margins (no model calls)."""
    from app.taskbench.proofing import false_alarm, score_item

    p = m.proofreader
    proofs = [score_item(a.item, p.judged(a.item.text, a.model, margins).corrected)
              for a in m.answers["proofread"]]
    alarms = [false_alarm(a.item.text, p.judged(a.item.text, a.model, margins).corrected) for a in m.clean]
    n = max(len(proofs), 1)
    return sum(x.fixed for x in proofs) / n, sum(bool(x.dropped) for x in proofs) / n, sum(alarms) / max(len(alarms), 1)


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def save_scores(home: Path, results: list[Measurement]) -> None:
    """Each measured model's scores into the store, keyed by its checksum."""
    with contextlib.closing(store.open_db(home)) as db:
        for m in results:
            store.save_task_scores(db, m.model["sha256"], m.scores())


def write_answers(path: Path, results: list) -> None:
    """Every answer with its verdict, one JSON line each: what a person reads to see why a check failed."""
    with open(path, "w", encoding="utf-8") as f:
        for m in results:
            for answers in m.answers.values():
                for a in answers:
                    row = {"model": m.model.get("name"), "id": a.item.id, "input": a.item.text, "answer": a.model,
                           "shown": a.shown, "stop_reason": a.stop_reason, "failures": list(a.verdict.failures)}
                    f.write(report.json_line(row) + "\n")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
