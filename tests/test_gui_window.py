"""The real window on the offscreen platform, driven through its widgets: with the fake worker, or a recorded one replayed where timing matters."""

from __future__ import annotations

import os
import signal

from PySide6.QtCore import Qt

from app import store
from app.worker_client import WORKER_NICE
from tests.gui_helpers import gui_home, make_window, type_into, wait_phase  # noqa: F401 (fixtures)


def test_continue_accept_is_one_undo_step(qtbot, make_window):
    window = make_window(reply=" and the rain kept falling.")
    type_into(qtbot, window, "It was late")
    qtbot.keyClick(window.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_phase(qtbot, window, "ready")
    assert window.panel.preview.toPlainText() == " and the rain kept falling."
    assert "tokens/s" in window.speed_label.text()
    qtbot.keyClick(window.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.editor.text() == "It was late and the rain kept falling."
    window.editor.undo()
    assert window.editor.text() == "It was late"
    window.editor.undo()
    assert window.editor.text() != "It was late"  # the typing before is its own history


def test_stop_keeps_what_arrived_and_accepts_it(qtbot, make_window):
    window = make_window(replay="window_stop")
    replay = window.worker.transport
    type_into(qtbot, window, "Count:")
    rid = window.assistant.run("continue")
    replay.play_through(rid, "token")
    replay.play_through(rid, "token")  # the stream is held here while the writer presses Escape
    qtbot.waitUntil(lambda: replay.delivered, timeout=5000)
    partial = window.panel.preview.toPlainText()
    assert partial
    qtbot.keyClick(window.editor, Qt.Key.Key_Escape)
    wait_phase(qtbot, window, "stopped")
    assert [r.params for r in replay.requests("cancel")] == [{"target": rid}]
    with qtbot.waitSignal(window.worker.finished, timeout=5000):
        replay.play()  # the rest, up to the cancelled request's terminal event: it must change nothing
    assert window.assistant.suggestion.text == partial
    assert window.assistant.accept()
    assert window.editor.text() == "Count:" + partial


def test_retry_supersedes_the_running_request(qtbot, make_window):
    window = make_window(replay="window_retry")
    replay = window.worker.transport
    type_into(qtbot, window, "Letters:")
    first = window.assistant.run("continue")
    replay.play_through(first, "token")
    qtbot.waitUntil(lambda: replay.delivered and window.panel.preview.toPlainText() != "", timeout=5000)
    window.assistant.stop()
    window.assistant.retry()  # before the worker has answered the stop
    second = window.assistant.suggestion.request_id
    assert second != first
    replay.play()  # the first's late tokens and `cancelled`, then the second's stream
    wait_phase(qtbot, window, "ready")
    assert window.panel.preview.toPlainText() == ("abcdefghij" * 30)[:200]  # max_tokens 200
    assert {r.id for r in replay.requests("generate")} == {first, second}


def test_rewrite_reviewed_hunk_by_hunk(qtbot, make_window):
    window = make_window(reply="The cat sat on a warm mat today.")
    window.editor.setPlainText("Intro. The cat sat on the mat. End.")
    start = len("Intro. ")
    window.editor.setTextCursor(window.editor.anchor_cursor(start, start + len("The cat sat on the mat.")))
    window.assistant.run("rewrite")
    wait_phase(qtbot, window, "ready")
    review = window.panel.review
    assert review is not None and len(review.changes) >= 2
    # Reject the first change, accept the rest.
    window.panel.decide(review.changes[0], False)
    for i in review.changes[1:]:
        window.panel.decide(i, True)
    expected = review.result()
    assert window.assistant.accept()
    assert window.editor.text() == "Intro. " + expected + " End."
    assert "warm" not in expected and "today" in expected
    window.editor.undo()
    assert window.editor.text() == "Intro. The cat sat on the mat. End."


def test_autosave_then_a_second_window_shows_the_text(qtbot, make_window, gui_home):
    window = make_window()
    window.workspace.policy.idle_ms = 50  # the real delay is 2 s; the rule under test is the same
    type_into(qtbot, window, "Saved without asking.")
    db = store.open_db(gui_home)
    qtbot.waitUntil(lambda: store.get_document(db, window.documents.doc_id).body == "Saved without asking.", timeout=3000)
    doc_id = window.documents.doc_id
    second = make_window(ready=False)
    assert second.documents.doc_id == doc_id
    assert second.editor.text() == "Saved without asking."


def test_worker_killed_mid_generation_leaves_the_document_intact_and_restarts(qtbot, make_window, gui_home):
    window = make_window(reply=" again.", delay_ms=150)  # a token every 150 ms: the kill lands mid-stream
    type_into(qtbot, window, "Kept safe")
    window.documents.save()
    window.assistant.run("continue")
    qtbot.waitUntil(lambda: window.panel.preview.toPlainText() != "", timeout=5000)
    os.kill(window.worker.pid, signal.SIGKILL)
    wait_phase(qtbot, window, "failed")
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    assert "stopped unexpectedly" in window.banner.label.text()
    assert window.editor.text() == "Kept safe"
    db = store.open_db(gui_home)
    assert store.get_document(db, window.documents.doc_id).body == "Kept safe"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    qtbot.mouseClick(window.banner.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.worker.running and window.model_label.text().startswith("tiny"), timeout=10000)
    window.assistant.run("continue")
    wait_phase(qtbot, window, "ready")
    assert window.assistant.accept()
    assert window.editor.text() == "Kept safe again."


def test_generation_during_a_crash_finishes_as_failed(qtbot, make_window):
    window = make_window(replay="window_stop")
    replay = window.worker.transport
    type_into(qtbot, window, "Go")
    rid = window.assistant.run("continue")
    replay.play_through(rid, "token")
    qtbot.waitUntil(lambda: window.panel.preview.toPlainText() != "", timeout=5000)
    replay.die("exit code 9")  # killed mid-stream
    wait_phase(qtbot, window, "failed")
    assert window.editor.text() == "Go"
    assert window.banner.isVisible() and "stopped unexpectedly" in window.banner.label.text()


def test_generations_are_logged(qtbot, make_window, gui_home):
    window = make_window(reply=" logged.")
    type_into(qtbot, window, "This is")
    window.assistant.run("continue")
    wait_phase(qtbot, window, "ready")
    logged = store.list_generations(store.open_db(gui_home))
    assert logged and logged[0].output == " logged." and logged[0].task == "continue"
    assert logged[0].document_id == window.documents.doc_id


def test_the_desks_worker_runs_below_the_window_in_priority(qtbot, make_window):
    """Typing must win a contended core from the model: the worker the desk starts is niced, the window is not."""
    window = make_window()
    qtbot.waitUntil(lambda: window.worker.pid is not None, timeout=10000)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, window.worker.pid) == min(mine + WORKER_NICE, 19)
