"""The assistant panel marks the tasks the bench found weak for the loaded model, read from the store by its checksum."""

from __future__ import annotations

from pathlib import Path

from app import store
from app.ui.assistant_panel import WEAK_MARK
from inference.models import Registry
from tests.gui_helpers import gui_home, make_window  # noqa: F401 (fixtures)


def test_weak_tasks_are_marked_with_their_measurement(qtbot, make_window, gui_home: Path) -> None:
    sha256 = Registry(gui_home).default().sha256
    with store.open_db(gui_home) as db:
        store.save_task_scores(db, sha256, {"translate": (4, 30), "proofread": (60, 66), "continue": (3, 30)})
    window = make_window()
    buttons = window.panel.task_buttons
    assert buttons["translate"].text() == "Translate" + WEAK_MARK and buttons["translate"].property("weak")
    assert "passed 4 of 30 checks (13%)" in buttons["translate"].toolTip()
    assert buttons["proofread"].text() == "Proofread" and not buttons["proofread"].property("weak")
    continue_tip = buttons["continue"].toolTip().splitlines()
    assert continue_tip[0] == "Continue the text at the cursor (Ctrl+Enter)" and "passed 3 of 30" in continue_tip[1]


def test_no_marks_without_scores(qtbot, make_window) -> None:
    window = make_window()
    assert all(not b.property("weak") and WEAK_MARK not in b.text() for b in window.panel.task_buttons.values())
