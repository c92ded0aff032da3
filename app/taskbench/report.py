"""The task benchmark's report: a table a person reads, then one JSON line; a compressed model beside its reference."""

from __future__ import annotations

import json
from collections import Counter

from app.taskbench.run import PROOF_METHODS, Measurement
from app.taskbench.proofing import Proof

_METHOD_LABELS = {"harper": "Harper alone", "model": "model alone", "merge": "merge, no scoring (before)",
                  "combined": "combination (what the desk shows)"}


def pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def proof_figures(proofs: list[Proof]) -> dict:
    """Fixed % and dropped-words % (sentences that lost a word outside the error span) of one method."""
    n = len(proofs)
    return {"sentences": n, "fixed": sum(p.fixed for p in proofs), "fixed_pct": pct(sum(p.fixed for p in proofs), n),
            "dropped": sum(bool(p.dropped) for p in proofs), "dropped_pct": pct(sum(bool(p.dropped) for p in proofs), n),
            "dropped_words": sum(len(p.dropped) for p in proofs)}


def false_alarm_figures(alarms: list[bool]) -> dict:
    """How many error-free sentences a method changed."""
    return {"clean_sentences": len(alarms), "false_alarms": sum(alarms), "false_alarm_pct": pct(sum(alarms), len(alarms))}


def summary(m: Measurement) -> dict:
    """Everything the table shows, as plain values (the JSON line)."""
    scores = m.scores()
    passed, total = sum(p for p, _ in scores.values()), sum(t for _, t in scores.values())
    out = {"bench": "tasks", "model": m.model.get("name"), "sha256": m.model.get("sha256"), "seconds": round(m.seconds, 1),
           "tasks": {t: {"passed": p, "total": n, "rate_pct": pct(p, n)} for t, (p, n) in scores.items()},
           "all": {"passed": passed, "total": total, "rate_pct": pct(passed, total)}, "leaked_labels": m.leaks()}
    if m.proof:
        out["proofread"] = {method: proof_figures(m.proof[method]) | false_alarm_figures(m.false_alarms.get(method, []))
                            for method in PROOF_METHODS}
        out["proofread_by_kind"] = _by_kind(m)
    return out


def _by_kind(m: Measurement) -> dict[str, dict[str, int]]:
    kinds = [a.item.kind for a in m.answers["proofread"]]
    table: dict[str, dict[str, int]] = {k: {"sentences": n} for k, n in Counter(kinds).items()}
    for method in PROOF_METHODS:
        for kind, proof in zip(kinds, m.proof[method]):
            table[kind][method] = table[kind].get(method, 0) + proof.fixed
    return table


def table(s: dict) -> str:
    """The human card for one model's summary."""
    lines = [f"tasks benchmark: {s['model']} (sha256 {str(s['sha256'])[:12]}…), greedy, {s['all']['total']} items in {s['seconds']:.0f} s",
             f"{'task':<12}{'passed':>8}{'total':>8}{'rate':>9}"]
    rows = [*s["tasks"].items(), ("all", s["all"])]
    lines += [f"{task:<12}{r['passed']:>8}{r['total']:>8}{_fmt(r['rate_pct']):>9}" for task, r in rows]
    lines.append(f"answers with a leaked scaffold label: {s['leaked_labels']}")
    if "proofread" in s:
        first = s["proofread"]["model"]
        lines += ["", f"proofread, {first['sentences']} sentences with one known error each, {first['clean_sentences']} error-free",
                  f"{'':<36}{'fixed':>9}{'dropped words':>15}{'false alarms':>14}"]
        lines += [f"{_METHOD_LABELS[m]:<36}{_fmt(r['fixed_pct']):>9}{_fmt(r['dropped_pct']):>15}{_fmt(r['false_alarm_pct']):>14}"
                  for m, r in s["proofread"].items()]
        lines += ["", f"{'fixed, by kind':<16}" + "".join(f"{m:>10}" for m in PROOF_METHODS)]
        lines += [f"{kind:<16}" + "".join(f"{r.get(m, 0):>7}/{r['sentences']:<2}" for m in PROOF_METHODS) for kind, r in s["proofread_by_kind"].items()]
    return "\n".join(lines)


def kept(candidate: dict, reference: dict) -> dict:
    """Task accuracy kept: the candidate's pass rate ÷ the reference's, per task and overall (None where the reference passed none)."""
    def ratio(c: dict, r: dict) -> float | None:
        return 100.0 * c["rate_pct"] / r["rate_pct"] if c["rate_pct"] is not None and r["rate_pct"] else None

    per_task = {t: ratio(c, reference["tasks"][t]) for t, c in candidate["tasks"].items() if t in reference["tasks"]}
    return {"tasks": per_task, "all": ratio(candidate["all"], reference["all"])}


def comparison_table(candidate: dict, reference: dict, kept_: dict, top1: float | None) -> str:
    """The candidate's and the reference's pass rates side by side, the accuracy kept, and top-1 agreement beside it."""
    lines = [f"task accuracy kept: {candidate['model']} against its reference {reference['model']}",
             f"{'task':<12}{'candidate':>16}{'reference':>16}{'kept':>9}"]
    rows = [(t, candidate["tasks"][t], reference["tasks"][t], kept_["tasks"][t]) for t in kept_["tasks"]]
    rows.append(("all", candidate["all"], reference["all"], kept_["all"]))
    for task, c, r, k in rows:
        lines.append(f"{task:<12}{c['passed']:>6}/{c['total']:<3}{_fmt(c['rate_pct']):>7}{r['passed']:>6}/{r['total']:<3}{_fmt(r['rate_pct']):>7}{_fmt(k):>9}")
    agreement = f", top-1 agreement {100 * top1:.1f}%" if top1 is not None else ""
    lines.append(f"task accuracy kept {_fmt(kept_['all'])}{agreement}")
    return "\n".join(lines)


def json_line(s: dict) -> str:
    return json.dumps(s, ensure_ascii=False)
