"""The harness: each item's request sent to a model, each answer judged; proofreading also by Harper and the merge.

A `Session` is what the harness talks to: `load(model)` gives the loaded model's facts (name, sha256, embedded),
`generate(params)` one `generate` result and `score(texts)` the `score` op's sums (None when the model cannot
score: proofreading then falls back to the merge). The command line runs a worker (`WorkerSession`); the tests
run an engine with the scripted fake backend in the same process. Proofreading is also run on error-free
sentences (`clean`), where any change is a false alarm.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from app.taskbench.checks import Verdict, check
from app.taskbench.data import Item
from app.taskbench.proofing import Proof, Proofreader, false_alarm, score_item
from inference.protocol import ErrorCode, WorkerError

PROOF_METHODS = ("harper", "model", "merge", "combined")


class Session(Protocol):
    def load(self, model: str | None) -> dict: ...
    def generate(self, params: dict) -> dict: ...
    def score(self, texts: list[str]) -> list[float]: ...


class WorkerSession:
    """A worker client as a Session; speculation off, as it cannot change a greedy answer and costs time here."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def load(self, model: str | None) -> dict:
        return self.client.call("load_model", model=model)["model"]

    def generate(self, params: dict) -> dict:
        return self.client.call("generate", speculative="off", **params)

    def score(self, texts: list[str]) -> list[float]:
        return self.client.score(texts)


@dataclass(frozen=True)
class Answer:
    """One item's answer as the writer would see it (`shown`; for proofread, the merge), the model's own, the verdict."""

    item: Item
    shown: str
    model: str
    stop_reason: str
    verdict: Verdict


@dataclass
class Measurement:
    """One model's run over the set: its answers by task, and proofreading scored three ways."""

    model: dict
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    proof: dict[str, list[Proof]] = field(default_factory=dict)  # by PROOF_METHODS
    false_alarms: dict[str, list[bool]] = field(default_factory=dict)  # by PROOF_METHODS, one per clean sentence
    clean: list[Answer] = field(default_factory=list)  # the answers to the error-free sentences
    proofreader: Proofreader | None = None  # what was scored, kept for calibration
    seconds: float = 0.0

    def score(self, task: str) -> tuple[int, int]:
        """(passed, total) of a task's checks."""
        answers = self.answers[task]
        return sum(a.verdict.passed for a in answers), len(answers)

    def scores(self) -> dict[str, tuple[int, int]]:
        return {task: self.score(task) for task, answers in self.answers.items() if answers}

    def leaks(self) -> int:
        """Answers in which a scaffold label leaked, over every task."""
        return sum(any(f.startswith("leaked ") for f in a.verdict.failures) for answers in self.answers.values() for a in answers)


def measure(session: Session, items: dict[str, list[Item]], model: str | None = None,
            progress: Callable[[str], None] | None = None, clean: list[Item] = ()) -> Measurement:
    """Run every item through the model and judge each answer; `clean`: error-free sentences for proofreading."""
    t0 = time.perf_counter()
    result = Measurement(session.load(model))
    proofreader = Proofreader(scorer=_scorer(session)) if items.get("proofread") else None
    for task, task_items in items.items():
        result.answers[task] = [_answer(session, item, proofreader) for item in task_items]
        if progress and task_items:
            passed, total = result.score(task)
            progress(f"{task}: {passed}/{total} passed ({time.perf_counter() - t0:.0f} s)")
    if proofreader is not None:
        result.proof = _proof_scores(result.answers["proofread"], proofreader)
        result.clean = [_answer(session, item, proofreader) for item in clean]
        result.false_alarms = _false_alarms(result.clean, proofreader)
        result.proofreader = proofreader
    result.seconds = time.perf_counter() - t0
    return result


def _scorer(session: Session) -> Callable[[list[str]], list[float]] | None:
    """The session's `score`, or None when the loaded model cannot score (the merge is used instead)."""
    try:
        session.score(["A probe."])
    except WorkerError as exc:
        if exc.code != ErrorCode.UNSUPPORTED:
            raise
        return None
    return session.score


def _answer(session: Session, item: Item, proofreader: Proofreader | None) -> Answer:
    reply = session.generate(item.request())
    output, reason = reply.get("output", ""), reply.get("stop_reason", "")
    shown = proofreader.combined(item.text, output) if proofreader is not None and item.task == "proofread" else output
    return Answer(item, shown, output, reason, check(item, shown, reason))


def _texts(proofreader: Proofreader) -> dict[str, Callable[[Answer], str]]:
    """What each method shows for an answer."""
    return {"harper": lambda a: proofreader.harper(a.item.text), "model": lambda a: a.model,
            "merge": lambda a: proofreader.merged(a.item.text, a.model), "combined": lambda a: a.shown}


def _proof_scores(answers: list[Answer], proofreader: Proofreader) -> dict[str, list[Proof]]:
    """Harper alone, the model alone, the merge and the combination (what the desk shows), each against the gold."""
    texts = _texts(proofreader)
    return {method: [score_item(a.item, texts[method](a)) for a in answers] for method in PROOF_METHODS}


def _false_alarms(answers: list[Answer], proofreader: Proofreader) -> dict[str, list[bool]]:
    """For each method, whether it changed each error-free sentence."""
    texts = _texts(proofreader)
    return {method: [false_alarm(a.item.text, texts[method](a)) for a in answers] for method in PROOF_METHODS}
