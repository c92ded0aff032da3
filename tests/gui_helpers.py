"""Fixtures for GUI tests: a data directory whose default model is the tiny one, and windows on the fake worker or a replayed one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from inference.models import Registry
from app.worker_client import ProcessTransport
from tests.replay import ReplayTransport, transcript


@pytest.fixture
def gui_home(home: Path, tiny_model: Path) -> Path:
    """A data directory whose default model is the tiny GGUF, so no test assembles the embedded model."""
    Registry(home).use(str(tiny_model))
    return home


@pytest.fixture
def make_window(qtbot, gui_home: Path) -> Callable:
    """Open MainWindows on `gui_home` (fake backend unless told); each is closed, its worker stopped, at teardown."""
    from app.ui.main_window import MainWindow

    windows = []

    def make(reply: str = "", backend: str = "fake", home: Path | None = None, ready: bool = True, replay: str | None = None,
             delay_ms: int = 0, scores: dict[str, float] | None = None):
        """A window on a real worker (the fake's tokens `delay_ms` apart); with `replay`, on that transcript instead
        (`window.worker.transport` plays it); `scores` scripts the fake's log-probabilities of some texts."""
        env = {"SCRIPTORIUM_FAKE_REPLY": reply} if reply else {}
        env |= {"SCRIPTORIUM_FAKE_SCORES": json.dumps(scores)} if scores else {}
        env |= {"SCRIPTORIUM_FAKE_DELAY_MS": str(delay_ms)} if delay_ms else {}
        transport = ReplayTransport(transcript(replay)).factory if replay is not None else ProcessTransport
        window = MainWindow(home or gui_home, backend=backend, worker_env=env, transport=transport)
        # Not qtbot.addWidget: pytest-qt would close and delete the window before this fixture's teardown,
        # taking the worker's QProcess with it while the worker still runs.
        window.show()
        windows.append(window)
        if replay is not None:
            window.worker.transport.play_through("q2", "done")  # the window's hello (q1) and load_model (q2)
        if ready:
            qtbot.waitUntil(lambda: window.n_ctx is not None, timeout=15000)
        return window

    yield make
    for window in windows:
        if window.worker.running:
            with qtbot.waitSignal(window.worker.stopped, timeout=10000):
                window.close()
        else:
            window.close()
        window.deleteLater()


def type_into(qtbot, window, text: str) -> None:
    """Type at the end of the editor as a person would."""
    editor = window.editor
    cursor = editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    editor.setFocus()
    # QTest aborts on a newline or a character outside Latin-1 in keyClicks: press Enter between lines.
    from PySide6.QtCore import Qt

    for i, line in enumerate(text.split("\n")):
        if i:
            qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.keyClicks(editor, line)


def wait_phase(qtbot, window, *names: str, timeout: int = 10000) -> None:
    """Wait until the suggestion reaches one of these phases ('ready', 'stopped', 'failed' …)."""
    qtbot.waitUntil(lambda: window.assistant.suggestion.phase.value in names, timeout=timeout)
