"""The Corpus view: a researcher imports a folder, searches it in Chinese and English, reads a sorted concordance, counts, plots."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.ui.corpus_fields import FieldsDialog
from app.ui.corpus_view import CorpusView
from tests.corpus_texts import write_corpus, write_csv
from tests.gui_helpers import gui_home, make_window, type_into  # noqa: F401 (fixtures)

WAIT = 20000


@pytest.fixture
def view(qtbot, home: Path) -> CorpusView:
    view = CorpusView(home)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.chooser.count() >= 1, timeout=WAIT)
    return view


def import_folder(qtbot, view: CorpusView, paths: list[Path], corpus: str | None = None) -> None:
    """Import and wait until the chooser shows the corpus with its new counts."""
    with qtbot.waitSignals([view.importFinished, view.corporaLoaded], timeout=WAIT):
        view.import_paths(paths, corpus=corpus)


def ask(qtbot, pane, run=None) -> None:
    """Run a pane's query and wait for its answer on screen."""
    with qtbot.waitSignal(pane.answered, timeout=WAIT):
        (run or pane.run)()


def cells(model, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_a_researcher_imports_a_folder_searches_reads_and_counts(qtbot, view: CorpusView, tmp_path: Path) -> None:
    import_folder(qtbot, view, [write_corpus(tmp_path / "texts")], corpus="tang")
    assert view.report.text().startswith("Imported 7 texts into 'tang'")
    assert not view.progress.isVisible() and view.chooser.currentText().startswith("tang (7 texts")

    view.search.query.setText("举头")  # the traditional copy's 舉頭 folds to it
    ask(qtbot, view.search)
    assert view.search.model.rowCount() == 2 and view.search.status.text().startswith("2 hits")
    view.search.query.setText("moon")
    ask(qtbot, view.search)
    assert view.search.model.rowCount() == 2

    view.search.query.setText("处处闻")
    ask(qtbot, view.search)
    with qtbot.waitSignal(view.textShown, timeout=WAIT):
        view.search.table.doubleClicked.emit(view.search.model.index(0, 2))
    assert view.viewer.isVisible() and view.viewer.selected() == "处处闻"

    view.tabs.setCurrentWidget(view.kwic)
    view.kwic.term.setText("明月")
    ask(qtbot, view.kwic)
    assert cells(view.kwic.model, 2) == ["明月"] * 4
    with qtbot.waitSignal(view.kwic.answered, timeout=WAIT):
        view.kwic.sort[0].setCurrentIndex(view.kwic.sort[0].findData("L1"))  # a new sort asks again
    lefts = [line.keys["L1"] for line in view.kwic.model.rows]
    assert lefts == sorted(lefts) and view.kwic.status.text() == "4 lines, sorted by L1, R2."
    with qtbot.waitSignal(view.textShown, timeout=WAIT):
        view.kwic.table.doubleClicked.emit(view.kwic.model.index(3, 2))
    line = view.kwic.model.rows[3]
    assert view.viewer.selected() == "明月" and view.viewer.windowTitle() == line.title
    assert view.viewer.view.textCursor().selectionStart() == line.start
    out = tmp_path / "kwic.csv"
    view.kwic.export_csv(str(out))
    assert [row["match"] for row in csv.DictReader(out.open(encoding="utf-8-sig"))] == ["明月"] * 4

    view.tabs.setCurrentWidget(view.freq)
    ask(qtbot, view.freq)
    assert cells(view.freq.model, 1)[0] == "the" and cells(view.freq.model, 0)[:2] == ["1", "2"]

    view.tabs.setCurrentWidget(view.chart)
    view.chart.term.setText("明月")
    ask(qtbot, view.chart)
    assert view.chart.points() == 4 and len(view.chart.rows) == 2
    assert view.chart.status.text().startswith("4 hits in 2 of 7 texts")


def test_import_shows_progress_and_cancel_stops_it_resumably(qtbot, view: CorpusView, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"note-{i:03d}.txt").write_text(f"Note {i}: the tide came in over the flats. 潮水{i}", encoding="utf-8")
    reports = []
    view.importFinished.connect(reports.append)
    with qtbot.waitSignals([view.importFinished, view.corporaLoaded], timeout=WAIT):
        view.import_paths([folder], corpus="notes")
        assert view.progress.isVisible() and view.cancel_button.isVisible() and not view.import_button.isEnabled()
        view.cancel_button.click()
    assert reports[0].cancelled and "run the same import again to resume" in view.report.text()
    assert not view.progress.isVisible() and view.import_button.isEnabled()
    import_folder(qtbot, view, [folder], corpus="notes")
    assert view.chooser.currentText().startswith("notes (300 texts"), view.report.text()


def test_a_csv_import_maps_its_fields_with_a_preview(qtbot, view: CorpusView, tmp_path: Path) -> None:
    songs = write_csv(tmp_path / "songs.csv")
    view.import_paths([songs], corpus="songs")
    dialog = view.findChild(FieldsDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=WAIT)
    assert dialog.fields() == {"title": "name", "author": "writer", "body": "words"}  # guessed
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT):
        dialog.combos["body"].setCurrentIndex(dialog.combos["body"].findData("notes"))
    assert cells(dialog.model, 4) == ["a note", "another"]
    with qtbot.waitSignal(dialog.previewed, timeout=WAIT):
        dialog.combos["body"].setCurrentIndex(dialog.combos["body"].findData("words"))
    with qtbot.waitSignal(view.importFinished, timeout=WAIT):
        dialog.buttons.accepted.emit()
    view.search.query.setText("wheat")
    ask(qtbot, view.search)
    assert cells(view.search.model, 0) == ["Field song"] and cells(view.search.model, 1) == ["Bo Chen"]


def test_files_dropped_on_the_view_are_imported_into_the_chosen_corpus(qtbot, view: CorpusView, tmp_path: Path) -> None:
    texts = write_corpus(tmp_path / "texts")
    import_folder(qtbot, view, [texts / "harbour.txt"], corpus="prose")
    extra = tmp_path / "tide.txt"
    extra.write_text("The tide and the moon.", encoding="utf-8")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(extra))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignals([view.importFinished, view.corporaLoaded], timeout=WAIT):
        view.dropEvent(drop)
    assert view.chooser.currentText().startswith("prose (2 texts")


def test_search_the_manuscript_from_the_desk(qtbot, make_window) -> None:  # noqa: F811
    from PySide6.QtGui import QTextCursor

    window = make_window(ready=False)
    type_into(qtbot, window, "The lighthouse keeper climbed the stairs.")
    cursor = window.editor.textCursor()
    cursor.setPosition(4)
    cursor.setPosition(14, QTextCursor.MoveMode.KeepAnchor)  # "lighthouse" selected: it becomes the query
    window.editor.setTextCursor(cursor)
    window.search_manuscript()
    corpus = window.corpus_view
    qtbot.waitUntil(lambda: corpus.search.model.rowCount() == 1, timeout=WAIT)
    assert corpus.chooser.currentData() == "Manuscript" and corpus.search.query.text() == "lighthouse"
    assert corpus.isVisible() and window.isVisible()  # a window of its own: the desk keeps its layout


def test_the_text_view_selects_a_hit_after_characters_beyond_the_bmp(qtbot) -> None:
    from types import SimpleNamespace

    from app.ui.text_viewer import TextViewer

    viewer = TextViewer()
    qtbot.addWidget(viewer)
    body = "𠀀𠀁 (Extension B) 明月光"  # two characters Qt counts as two UTF-16 units each
    viewer.show_text(SimpleNamespace(id=1, title="t", author="", collection="", date="", body=body), body.index("明月"), body.index("光"))
    assert viewer.selected() == "明月"
