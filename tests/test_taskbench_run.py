"""The task benchmark end to end on the scripted fake backend: requests, the engine's guard, verdicts, the report, the store."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from app import store
from app.taskbench import bench, report
from app.taskbench.data import Item, load_set
from app.proofing.judge import CONTEXT
from app.taskbench.run import Measurement, measure
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo
from inference.scoring import ScoreParams, run_score

MODEL = ModelInfo("fake", Path("fake.gguf"), "f" * 64, "llama", None, "F32", 4096, 0, None)
# Per task: an item and a reply that passes, then an item and a reply that fails (and why).
SCRIPT = {
    "continue": [("continue-1", " She went to the window and listened to the wind."),
                 ("continue-21", " She walked to the window.")],  # a Chinese opening continued in English
    "rewrite": [("rewrite-1", "We cannot refund the item yet."),
                ("rewrite-2", "If you cannot attend, please tell us in advance.")],  # the few-shot example given back
    "proofread": [("proofread-less-fewer-1", "There were fewer people at the concert than last year."),
                  ("proofread-agreement-1", "The list of names is on.")],  # fixed, but the model drops "the desk"
    "summarize": [("summarize-1", "The library closes for three months while its roof is replaced."),
                  ("summarize-2", "A shop sells a new loaf.\nText: The museum")],  # runs on into the next example
    "translate": [("translate-1", "Anna a acheté 12 pommes au marché samedi."),
                  ("translate-9", "Thomas trabaja en Berlin y gana 2000 euros al mes.")],  # Spanish, not German
    "outline": [("outline-1", " Choosing seeds\n2. Planting out\n3. Watering and feeding"),
                ("outline-2", " Prepare")],
    "brainstorm": [("brainstorm-1", " Wings over the Pit\n2. The Pigeon Girl\n3. Coal and Feathers"),
                   ("brainstorm-11", " Rain")],
    "instruct": [("instruct-1", "Does the train leave at noon?"),
                 ("instruct-19", "Stay Calm And Go On.")],  # not in capitals
}


# The fake judge finds these corrected sentences far likelier than anything else (every other text: a tenth of a nat a byte).
SCORES = {CONTEXT + "There were fewer people at the concert than last year.": -0.5, CONTEXT + "The list of names is on the desk.": -0.5}


class EngineSession:
    """The harness's Session over an in-process engine with the fake backend, scripted replies and scripted scores."""

    def __init__(self, replies: list[str], sha256: str = MODEL.sha256) -> None:
        backend = FakeBackend()
        backend.enqueue(replies)
        backend.scores.update(SCORES)
        self.model = ModelInfo(**{**MODEL.__dict__, "sha256": sha256})
        self.engine = Engine(backend)
        self.requests: list[dict] = []

    def load(self, model: str | None) -> dict:
        self.engine.load(self.model, LoadOptions())
        return self.model.to_json()

    def generate(self, params: dict) -> dict:
        self.requests.append(params)
        return self.engine.generate(GenerateParams.from_wire(params), lambda text, n: None, threading.Event()).to_result()

    def score(self, texts: list[str]) -> list[float]:
        return run_score(self.engine, ScoreParams(tuple(texts)), threading.Event())["scores"]


def scripted(passing_only: bool = False) -> tuple[dict[str, list[Item]], list[str]]:
    by_id = {i.id: i for items in load_set().values() for i in items}
    items = {task: [by_id[i] for i, _ in pairs] for task, pairs in SCRIPT.items()}
    replies = [reply for pairs in SCRIPT.values() for _, reply in pairs]
    if passing_only:  # the second item of each task answered with the first's kind of reply: a "reference" that passes more
        items = {task: [by_id[pairs[0][0]]] * 2 for task, pairs in SCRIPT.items()}
        replies = [pairs[0][1] for pairs in SCRIPT.values() for _ in range(2)]
    return items, replies


def run_scripted() -> tuple[Measurement, EngineSession]:
    items, replies = scripted()
    session = EngineSession(replies)
    return measure(session, items), session


def test_each_task_passes_the_good_answer_and_fails_the_bad_one() -> None:
    m, session = run_scripted()
    # Proofread's verdict is on what the desk shows: the merge keeps the words the model dropped.
    assert m.scores() == {task: (2, 2) if task == "proofread" else (1, 2) for task in SCRIPT}
    failures = {task: answers[1].verdict.failures for task, answers in m.answers.items()}
    assert failures["continue"] == ("not in Chinese",)
    assert failures["rewrite"] == ("copied a few-shot example",)
    assert failures["translate"] == ("in Spanish, not German",)
    assert failures["instruct"] == ("not in capitals",)
    assert all(r["temperature"] == 0.0 for r in session.requests)  # greedy: repeatable


def test_the_engines_guard_strips_a_run_on_label_before_the_checks() -> None:
    m, _ = run_scripted()
    summary = m.answers["summarize"][1]
    assert summary.shown == "A shop sells a new loaf." and m.leaks() == 0
    assert summary.verdict.failures == ("key nouns missing (bakery, bread)",)


def test_proofreading_is_scored_for_harper_the_model_and_the_combination() -> None:
    m, _ = run_scripted()
    figures = report.summary(m)["proofread"]
    assert (figures["harper"]["fixed"], figures["harper"]["dropped"]) == (0, 0)  # Harper misses both of these
    assert (figures["model"]["fixed"], figures["model"]["dropped"], figures["model"]["dropped_words"]) == (2, 1, 2)
    assert figures["combined"]["dropped"] == 0  # the merge never takes the model's deletion of "the desk"
    assert m.answers["proofread"][1].shown.endswith("on the desk.")


def test_the_report_is_a_table_then_one_json_line_and_scores_are_stored(tmp_path: Path) -> None:
    m, _ = run_scripted()
    s = report.summary(m)
    card = report.table(s)
    assert "proofread" in card and "Harper alone" in card and "combination" in card
    assert json.loads(report.json_line(s))["tasks"]["translate"] == {"passed": 1, "total": 2, "rate_pct": 50.0}
    bench.save_scores(tmp_path, [m])
    with store.open_db(tmp_path) as db:
        assert {t: (x.passed, x.total) for t, x in store.task_scores(db, MODEL.sha256).items()} == m.scores()


def test_task_accuracy_kept_is_the_candidates_rate_over_the_references() -> None:
    candidate, _ = run_scripted()
    items, replies = scripted(passing_only=True)
    reference = measure(EngineSession(replies, "e" * 64), items)
    c, r = report.summary(candidate), report.summary(reference)
    comparison = bench.compare(c, r, None, None, top1=0.95)
    assert comparison["kept"]["tasks"]["translate"] == 50.0 and comparison["kept"]["tasks"]["proofread"] == 100.0
    assert comparison["kept"]["all"] == 100.0 * c["all"]["rate_pct"] / r["all"]["rate_pct"]
    card = report.comparison_table(c, r, comparison["kept"], 0.95)
    assert "top-1 agreement 95.0%" in card
