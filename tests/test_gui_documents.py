"""Documents in the window: sidebar, trash, revisions, find and replace, export and import, remembered layout."""

from __future__ import annotations

from app import store
from app.desk import prefs
from app.ui.revisions import RevisionsDialog
from tests.gui_helpers import gui_home, make_window, type_into, wait_phase  # noqa: F401 (fixtures)


def test_sidebar_new_rename_filter_trash_restore_empty(qtbot, make_window, gui_home):
    window = make_window(ready=False)
    first = window.documents.doc_id
    window.documents.rename_to(first, "Garden notes")
    second = window.documents.new()
    window.documents.rename_to(second, "Letters")
    assert window.sidebar.ids() == [second, first]  # last edited first
    window.sidebar.filter.setText("garden")
    assert window.sidebar.ids() == [first]
    window.sidebar.filter.clear()
    window.documents.trash(second)
    assert window.documents.doc_id == first and window.sidebar.ids() == [first]
    window.sidebar.show_trash.setChecked(True)
    assert window.sidebar.ids() == [second]
    window.documents.restore(second)
    assert window.sidebar.ids() == []
    window.sidebar.show_trash.setChecked(False)
    window.documents.trash(second)
    assert store.empty_trash(window.workspace.db) == 1
    window.sidebar.list.setCurrentRow(0)
    assert window.documents.doc_id == first


def test_switching_documents_saves_the_one_left(qtbot, make_window, gui_home):
    window = make_window(ready=False)
    first = window.documents.doc_id
    type_into(qtbot, window, "First draft")
    window.documents.new()
    assert store.get_document(window.workspace.db, first).body == "First draft"
    window.documents.open(first)
    assert window.editor.text() == "First draft"


def test_revisions_show_differences_and_restore(qtbot, make_window):
    window = make_window(ready=False)
    type_into(qtbot, window, "The first version.")
    window.documents.save("save")
    window.editor.selectAll()
    qtbot.keyClicks(window.editor, "A second version.")
    window.documents.save("save")
    dialog = RevisionsDialog(window.documents, window)
    assert dialog.list.count() == 2
    dialog.list.setCurrentRow(1)  # the older one
    assert "line-through" in dialog.view.toHtml() or "first" in dialog.view.toPlainText()
    dialog.restore_selected()
    assert window.editor.text() == "The first version."
    reasons = [r.reason for r in store.list_revisions(window.workspace.db, window.documents.doc_id)]
    assert reasons[0].startswith("restore rev")
    window.editor.undo()
    assert window.editor.text() == "A second version."
    dialog.close()


def test_find_and_replace_all_is_one_undo_step(qtbot, make_window):
    window = make_window(ready=False)
    window.editor.setPlainText("cat and cat and dog")
    bar = window.find_bar
    bar.open_bar()
    bar.find_edit.setText("cat")
    assert bar.find_next()
    assert window.editor.textCursor().selectedText() == "cat"
    bar.replace_edit.setText("owl")
    assert bar.replace_all() == 2
    assert window.editor.text() == "owl and owl and dog"
    window.editor.undo()
    assert window.editor.text() == "cat and cat and dog"


def test_counts_zoom_theme_and_layout_are_remembered(qtbot, make_window, gui_home):
    window = make_window(ready=False)
    window.editor.insertPlainText("春眠不觉晓 and more")  # QTest cannot type characters outside Latin-1
    qtbot.waitUntil(lambda: window.count_label.text().startswith("7 words"), timeout=2000)
    size = window.editor.font().pointSizeF()
    window._zoom(2)
    assert window.editor.font().pointSizeF() == size + 2
    window.set_theme("dark")
    window.splitter.setSizes([300, 500, 400])
    sizes = window.splitter.sizes()
    doc_id = window.documents.doc_id
    window.documents.new()
    window.documents.open(doc_id)
    window.save_state()
    again = make_window(ready=False)
    assert again.documents.doc_id == doc_id
    assert again.editor.font().pointSizeF() == size + 2
    assert again.settings.value(prefs.THEME) == "dark"
    assert [again.splitter.sizes()[i] for i in (0, 2)] == [sizes[0], sizes[2]]  # the middle takes what is left
    window.set_theme("light")


def test_export_and_import_run_off_the_gui_thread(qtbot, make_window, tmp_path):
    window = make_window(ready=False)
    type_into(qtbot, window, "# Chapter\n\nWords to keep.")
    messages = []
    window.documents.message.connect(messages.append)
    window.documents.export(str(tmp_path / "book.docx"))
    qtbot.waitUntil(lambda: (tmp_path / "book.docx").exists() and bool(messages), timeout=5000)
    assert messages[-1].startswith("Exported")
    before = window.documents.doc_id
    window.documents.import_files([str(tmp_path / "book.docx")])
    qtbot.waitUntil(lambda: window.documents.doc_id != before, timeout=5000)
    assert "Words to keep." in window.editor.text()


def test_real_worker_with_the_tiny_model(qtbot, make_window):
    window = make_window(backend="llama_cpp")
    assert window.model_label.text().startswith("tiny")
    assert window.device_label.text() in ("CPU",) or window.device_label.text().startswith("GPU")
    type_into(qtbot, window, "The garden was quiet")
    window.assistant.run("continue")
    # The real path, not its speed: a few characters from llama.cpp, then Stop and accept what came.
    qtbot.waitUntil(lambda: len(window.assistant.suggestion.text.strip()) >= 3 or window.assistant.suggestion.phase.value != "running", timeout=30000)
    window.assistant.stop()
    suggestion = window.assistant.suggestion
    assert suggestion.phase.value in ("ready", "stopped"), suggestion.error
    text = suggestion.text
    assert window.assistant.accept()
    assert window.editor.text() == "The garden was quiet" + text
