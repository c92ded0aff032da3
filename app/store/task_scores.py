"""Task scores: how many of each task's checks a model passed in its latest `scriptorium bench tasks` run."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from app.store.db import now_iso


@dataclass(frozen=True)
class TaskScore:
    """One task's latest measurement for one model."""

    task: str
    passed: int
    total: int
    measured_at: str

    @property
    def rate(self) -> float:
        return self.passed / self.total


def save_task_scores(db: Database, model_sha256: str, scores: dict[str, tuple[int, int]]) -> None:
    """Record `{task: (passed, total)}` for a model, replacing what an earlier run measured of those tasks."""
    when = now_iso()
    with db.atomic():
        for task, (passed, total) in scores.items():
            db.execute(
                "INSERT INTO task_scores (model_sha256, task, passed, total, measured_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (model_sha256, task) DO UPDATE SET passed = excluded.passed, total = excluded.total, "
                "measured_at = excluded.measured_at",
                [model_sha256, task, passed, total, when],
            )


def task_scores(db: Database, model_sha256: str) -> dict[str, TaskScore]:
    """A model's scores by task; empty when the bench has never run on it."""
    rows = db.query("SELECT task, passed, total, measured_at FROM task_scores WHERE model_sha256 = ? ORDER BY task", [model_sha256])
    return {row["task"]: TaskScore(**row) for row in rows}
