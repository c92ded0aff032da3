"""The story notes tab in the real window: edited there, given to the worker with a request, kept in revisions."""

from __future__ import annotations

from app import store
from app.ui.revisions import RevisionsDialog
from tests.gui_helpers import gui_home, make_window, type_into, wait_phase  # noqa: F401 (fixtures)


def _add_entry(window, name: str, keys: str, text: str) -> None:
    dialog = window.story_panel.open_entry(None)
    dialog.name.setText(name)
    dialog.keys.setText(keys)
    dialog.text.setPlainText(text)
    dialog.accept()


def test_notes_and_a_woken_entry_reach_the_worker_and_the_log(qtbot, make_window):
    window = make_window(reply=" She waved.")
    window.side_tabs.setCurrentWidget(window.story_panel)
    window.story_panel.notes.setPlainText("Past tense; a lighthouse in 1911.")
    _add_entry(window, "Mara", "Mara", "The keeper's daughter, seventeen.")
    _add_entry(window, "Tobias", "Tobias", "A smuggler.")
    assert [window.story_panel.list.item(i).text() for i in range(2)] == ["Mara  —  Mara", "Tobias  —  Tobias"]
    type_into(qtbot, window, "At dawn Mara climbed the tower.")
    window.assistant.run("continue")
    wait_phase(qtbot, window, "ready")
    qtbot.waitUntil(lambda: bool(store.list_generations(window.workspace.db)), timeout=5000)
    logged = store.list_generations(window.workspace.db)[0]
    assert logged.prompt.startswith("Past tense; a lighthouse in 1911.\n\nMara: The keeper's daughter, seventeen.\n\n***")
    assert "smuggler" not in logged.prompt and logged.prompt.endswith("At dawn Mara climbed the tower.")


def test_notes_are_saved_in_revisions_and_a_restore_brings_them_back(qtbot, make_window):
    window = make_window()
    type_into(qtbot, window, "The lamp was lit.")
    window.story_panel.notes.setPlainText("First person.")
    window.documents.save("save")
    window.story_panel.notes.setPlainText("Third person.")
    _add_entry(window, "Mara", "Mara", "A keeper.")
    window.documents.save("save")
    doc = window.documents.doc_id
    revisions = store.list_revisions(window.workspace.db, doc)
    assert '"Third person."' in (store.get_revision(window.workspace.db, revisions[0].id).notes or "")
    dialog = RevisionsDialog(window.documents, window)
    qtbot.addWidget(dialog)
    dialog.list.setCurrentRow(1)  # the save before, with its own notes and no entries
    dialog.restore_selected()
    assert window.story_panel.notes.toPlainText() == "First person." and window.story_panel.list.count() == 0
    other = window.documents.new()
    assert window.story_panel.notes.toPlainText() == "" and window.workspace.doc_id == other
    window.documents.open(doc)
    assert window.story_panel.notes.toPlainText() == "First person."


def test_notes_typed_just_before_switching_document_stay_with_their_document(qtbot, make_window):
    window = make_window()
    first = window.documents.doc_id
    qtbot.keyClicks(window.story_panel.notes, "Premise: a storm.")
    second = window.documents.new()
    assert window.story_panel.notes.toPlainText() == ""
    window.documents.open(first)
    assert window.story_panel.notes.toPlainText() == "Premise: a storm."
    assert second != first
