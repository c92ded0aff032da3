"""Task scores in the store: per model checksum and task, a later run replacing an earlier one."""

from __future__ import annotations

import pytest

from app.store import open_memory_db, save_task_scores, task_scores


def test_scores_are_kept_per_model_and_replaced_by_a_later_run() -> None:
    db = open_memory_db()
    save_task_scores(db, "a" * 64, {"translate": (4, 30), "summarize": (20, 24)})
    save_task_scores(db, "b" * 64, {"translate": (28, 30)})
    save_task_scores(db, "a" * 64, {"translate": (5, 30)})
    scores = task_scores(db, "a" * 64)
    assert {t: (s.passed, s.total) for t, s in scores.items()} == {"summarize": (20, 24), "translate": (5, 30)}
    assert scores["translate"].rate == pytest.approx(5 / 30)
    assert task_scores(db, "c" * 64) == {}


def test_a_score_cannot_pass_more_checks_than_it_ran() -> None:
    db = open_memory_db()
    with pytest.raises(Exception):
        save_task_scores(db, "a" * 64, {"translate": (31, 30)})
