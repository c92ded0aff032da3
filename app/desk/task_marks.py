"""Which tasks `scriptorium bench tasks` found weak for the loaded model, with the sentence the assistant panel says.

Only what was measured is said: a task is marked when the bench has stored a score for this model's checksum
and its pass rate is under WEAK_BELOW; with no scores, nothing is marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.desk.prefs import TASK_LABELS
from app.store import TaskScore

# Under 60% of its checks passed, a task fails the writer more often than not once a wrong answer's cost
# (reading it, discarding it) is counted: worth a mark, and the advice to bring a stronger model.
WEAK_BELOW = 0.6


@dataclass(frozen=True)
class TaskMark:
    """A weak task: its measured checks and what the panel says of it."""

    task: str
    passed: int
    total: int
    sentence: str


def model_label(model: dict) -> str:
    """How the sentence names the model: "the embedded model", else its name."""
    return "the embedded model" if model.get("embedded") else str(model.get("name") or "this model")


def weak_tasks(scores: dict[str, TaskScore], model: dict) -> dict[str, TaskMark]:
    """The marks for a model (its load result's `model`) from its stored scores, by task."""
    advice = "a larger model may do better" if model.get("chat_template") else "add an instruct model for this"
    return {task: TaskMark(task, s.passed, s.total, _sentence(task, s, model_label(model), advice))
            for task, s in scores.items() if s.rate < WEAK_BELOW}


def _sentence(task: str, score: TaskScore, who: str, advice: str) -> str:
    label = TASK_LABELS.get(task, task.title())
    return f"{label}: {who} passed {score.passed} of {score.total} checks ({score.rate:.0%}) in scriptorium bench tasks; {advice}."
