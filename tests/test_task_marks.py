"""Weak-task marks from stored bench scores: only what was measured, only under the threshold, said in a sentence."""

from __future__ import annotations

from pathlib import Path

from app import store
from app.desk.task_marks import WEAK_BELOW, weak_tasks
from app.desk.workspace import Workspace
from app.store import TaskScore

EMBEDDED = {"name": "gemma-3-270m-q4_k_m", "sha256": "a" * 64, "embedded": True, "chat_template": None}


def score(task: str, passed: int, total: int) -> TaskScore:
    return TaskScore(task, passed, total, "2025-01-01T00:00:00+00:00")


def test_tasks_under_the_threshold_are_marked_with_the_measurement() -> None:
    marks = weak_tasks({"translate": score("translate", 4, 30), "proofread": score("proofread", 60, 66)}, EMBEDDED)
    assert list(marks) == ["translate"]
    assert marks["translate"].sentence == (
        "Translate: the embedded model passed 4 of 30 checks (13%) in scriptorium bench tasks; add an instruct model for this.")


def test_the_threshold_itself_is_not_weak() -> None:
    assert weak_tasks({"outline": score("outline", 6, 10)}, EMBEDDED) == {} and WEAK_BELOW == 0.6


def test_an_instruct_model_is_named_and_advised_otherwise() -> None:
    model = {"name": "gemma-3-12b-it", "sha256": "b" * 64, "chat_template": "{{ messages }}"}
    mark = weak_tasks({"instruct": score("instruct", 1, 24)}, model)["instruct"]
    assert mark.sentence.startswith("Ask: gemma-3-12b-it passed 1 of 24") and mark.sentence.endswith("a larger model may do better.")


def test_the_workspace_reads_the_scores_of_the_loaded_models_checksum(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    try:
        assert ws.task_marks(EMBEDDED) == {}  # never measured: nothing is claimed
        store.save_task_scores(ws.db, "b" * 64, {"translate": (0, 30)})
        assert ws.task_marks(EMBEDDED) == {}  # another model's scores say nothing of this one
        store.save_task_scores(ws.db, EMBEDDED["sha256"], {"translate": (4, 30), "continue": (25, 30)})
        assert list(ws.task_marks(EMBEDDED)) == ["translate"]
        assert ws.task_marks({"name": "remote"}) == {}
    finally:
        ws.close()
