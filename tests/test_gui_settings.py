"""Settings and the sidebar's filter, from the widget to where they take effect: the worker and the store."""

from __future__ import annotations

from pathlib import Path

from inference.protocol import Done
from tests.gui_helpers import gui_home, make_window  # noqa: F401 (fixtures)


def _cache_stats(qtbot, window) -> dict:
    got: list = []
    window.worker.request("cache_stats", on_done=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=15000)
    assert isinstance(got[0], Done), got[0]
    return got[0].result


def test_cache_budget_from_settings_reaches_the_worker_now_and_at_the_next_start(qtbot, make_window, gui_home: Path) -> None:
    from app.ui.settings_dialog import SettingsDialog

    window = make_window(backend="llama_cpp")
    dialog = SettingsDialog(window.worker, window.workspace, window)
    qtbot.waitUntil(lambda: "saved session" in dialog.usage.text(), timeout=15000)
    dialog.budget.setValue(320)
    dialog.accept()
    qtbot.waitUntil(lambda: _cache_stats(qtbot, window)["budget"] == 320 * 2**20, timeout=15000)
    assert window.workspace.cache_budget_mb() == 320

    later = make_window(backend="llama_cpp")  # the next start: a new worker loads the model with the stored budget
    assert later.worker.pid != window.worker.pid
    assert _cache_stats(qtbot, later)["budget"] == 320 * 2**20


def test_sidebar_filter_finds_words_in_the_text_as_well_as_the_title(qtbot, make_window) -> None:
    window = make_window(ready=False)
    first = window.documents.doc_id
    window.editor.set_text("The harbour at dawn, gulls over the nets.")
    window.documents.save("save")
    window.documents.rename_to(first, "Morning")
    second = window.documents.new()
    window.documents.rename_to(second, "Harbour lights")
    window.sidebar.filter.setText("harbour")
    assert sorted(window.sidebar.ids()) == sorted([first, second])  # the first matches by its text
    window.sidebar.filter.setText("gulls")
    assert window.sidebar.ids() == [first]
    window.documents.trash(first)
    window.sidebar.show_trash.setChecked(True)
    assert window.sidebar.ids() == [first]  # the trash is filtered the same way
    window.sidebar.filter.setText("lights")
    assert window.sidebar.ids() == []
