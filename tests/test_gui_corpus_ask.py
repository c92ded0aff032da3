"""The Corpus view meets the model: passages by search mode, a cited answer whose links open the text at the spot,
a refusal, and concordance hits of the manuscript rewritten sentence by sentence as tracked changes (fake worker)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from app.corpus.records import TextRecord
from app.corpus.store import add_text, corpus_id
from app.store import list_generations, open_db
from tests.gui_helpers import gui_home, make_window  # noqa: F401 (fixtures)

WAIT = 20000
MILL = "In winter the river froze.\n\nThe mill by the river was built in 1820 by the Carter family. It ground corn for a century."


def add_town(home: Path) -> None:
    with closing(open_db(home)) as db:
        add_text(db, corpus_id(db, "town"), TextRecord(title="Mill", body=MILL))


def choose(qtbot, view, name: str) -> None:
    view.reload(choose=name)
    qtbot.waitUntil(lambda: view.corpus() == name, timeout=WAIT)


def test_passages_by_search_mode_open_at_their_place(qtbot, make_window, gui_home: Path) -> None:
    add_town(gui_home)
    window = make_window()
    view = window.show_corpus()
    choose(qtbot, view, "town")
    view.search.query.setText("Who built the mill?")
    with qtbot.waitSignal(view.search.answered, timeout=WAIT):
        view.search.mode.setCurrentIndex(view.search.mode.findData("bm25"))
    [best, *_] = view.search.passages.rows
    assert view.search.table.model() is view.search.passages and "Carter" in best.text
    with qtbot.waitSignal(view.textShown, timeout=WAIT):
        view.search.table.doubleClicked.emit(view.search.passages.index(0, 3))
    assert view.viewer.selected() == best.text == MILL[best.start : best.end]
    with qtbot.waitSignal(view.search.answered, timeout=WAIT):
        view.search.mode.setCurrentIndex(view.search.mode.findData("hybrid"))
    assert "No embeddings" in view.search.status.text()  # hybrid fell back to BM25 and said so


def test_an_answer_cites_passages_that_open_at_the_spot_and_a_refusal_asks_nothing(qtbot, make_window, gui_home: Path) -> None:
    add_town(gui_home)
    window = make_window(reply='1] "was built in 1820 by the Carter family" and [4]')
    view = window.show_corpus()
    choose(qtbot, view, "town")
    pane = view.ask_pane
    view.tabs.setCurrentWidget(pane)
    pane.question.setText("Who built the mill?")
    with qtbot.waitSignal(pane.answered, timeout=WAIT):
        pane.run()
    html = pane.answer_view.toHtml()
    assert "cite:1" in html and "quote:0" in html and "cite:4" not in html  # [4] names no source: no link
    assert pane.status.text().startswith("2 citations, 1 invalid; 1 of 1 quote verified")
    source = pane.answer.sources[0]
    with qtbot.waitSignal(view.textShown, timeout=WAIT):
        pane.open_link("cite:1")
    assert view.viewer.selected() == source.text == MILL[source.start : source.end]
    with qtbot.waitSignal(view.textShown, timeout=WAIT):
        pane.open_link("quote:0")
    assert view.viewer.selected() == "was built in 1820 by the Carter family"
    [logged] = list_generations(open_db(gui_home))
    assert logged.task == "answer"

    pane.question.setText("What is the capital of Australia?")
    with qtbot.waitSignal(pane.answered, timeout=WAIT):
        pane.run()
    assert pane.status.text() == "Nothing was asked of the model." and "Nothing in the corpus answers this" in pane.answer_view.toPlainText()
    assert len(list_generations(open_db(gui_home))) == 1


def test_concordance_hits_rewritten_as_tracked_changes_land_as_one_undo_step(qtbot, make_window) -> None:
    window = make_window(reply="It was bitterly cold.")
    draft = "It was very cold. Nobody spoke. She was very quiet."
    window.editor.set_text(draft)
    window.documents.save("save")
    window.search_manuscript()
    view = window.corpus_view
    qtbot.waitUntil(lambda: view.corpus() == "Manuscript", timeout=WAIT)
    view.tabs.setCurrentWidget(view.kwic)
    view.kwic.term.setText("very")
    with qtbot.waitSignal(view.kwic.answered, timeout=WAIT):
        view.kwic.run()
    assert len(view.kwic.model.rows) == 2
    with qtbot.waitSignal(window.sentence_rewrites.opened, timeout=WAIT) as opened:
        view.kwic.request_rewrite()  # nothing selected: every hit
    dialog = opened.args[0]
    assert [s.text for s in dialog.sentences] == ["It was very cold.", "She was very quiet."]
    dialog.task.setCurrentIndex(dialog.task.findData("rewrite"))
    dialog.go.click()
    qtbot.waitUntil(lambda: dialog.run is not None and dialog.run.pending == 0, timeout=WAIT)
    dialog.list.setCurrentRow(0)
    assert "line-through" in dialog.review_view.toHtml() and "bitterly" in dialog.review_view.toPlainText()  # tracked
    dialog.accept_button.click()  # the first sentence, then the list moves on to the second
    assert dialog.list.currentRow() == 1
    dialog.leave_button.click()
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    assert window.editor.text() == "It was bitterly cold. Nobody spoke. She was very quiet."
    assert "Undo takes them back in one step" in window.statusBar().currentMessage()
    window.editor.undo()
    assert window.editor.text() == draft
