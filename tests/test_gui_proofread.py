"""Proofread in the real window: Harper's and the model's changes reviewed together, rewordings apart; the notes of a loop and an echo."""

from __future__ import annotations

from app.proofing.judge import CONTEXT
from inference.degenerate import ECHO_NOTE, REPETITION_NOTE
from tests.gui_helpers import gui_home, make_window, wait_phase  # noqa: F401 (fixtures)

TEXT = "Their going to the libary tomorow, weather or not it rains."
ANSWER = "They're going to the library tomorrow, whether or not it rains. The end is near."
FIXED = "They're going to the library tomorrow, whether or not it rains."
# The fake judge: each single fix of TEXT far likelier than TEXT (every other text costs a tenth of a nat a byte).
SCORES = {CONTEXT + TEXT.replace(old, new): -1.0 for old, new in [("Their", "They're"), ("libary", "library"), ("tomorow", "tomorrow"),
                                                        ("weather", "whether")]}


def proofread(qtbot, window, text: str = TEXT):
    window.editor.setPlainText(text)
    window.assistant.run("proofread")  # nothing selected: the whole document
    wait_phase(qtbot, window, "ready")
    qtbot.waitUntil(lambda: window.panel.review is not None, timeout=10000)  # Harper has answered too
    return window.panel.review


def test_proofread_reviews_harpers_and_the_models_changes_together(qtbot, make_window):
    window = make_window(reply=ANSWER, scores=SCORES)
    review = proofread(qtbot, window)
    sources = {review.info[i].source for i in review.corrections}
    assert sources == {"harper+model", "model"} and len(review.rewordings) == 1
    page = window.panel.review_view.toHtml()
    assert "Rewordings" in page and "The end is near." in page
    assert window.panel.buttons["accept"].isEnabled()
    window.panel.buttons["accept_all"].click()  # the corrections; a rewording is accepted on its own
    assert "1 rewording set apart below, left out unless you accept it." in window.panel.status.text()
    assert window.assistant.accept()
    assert window.editor.text() == FIXED


def test_a_rewording_is_taken_only_when_accepted(qtbot, make_window):
    window = make_window(reply=ANSWER, scores=SCORES)
    review = proofread(qtbot, window)
    [rewording] = review.rewordings
    window.panel.decide(rewording, True)
    assert window.assistant.accept()
    assert window.editor.text() == ANSWER


def test_a_loop_is_cut_and_the_panel_says_so(qtbot, make_window):
    window = make_window(reply=" and the rain fell" * 12)
    window.editor.setPlainText("It was late")
    window.assistant.run("continue")
    wait_phase(qtbot, window, "ready")
    assert window.panel.preview.toPlainText() == " and the rain fell"
    assert REPETITION_NOTE in window.panel.status.text() and window.panel.buttons["accept"].isEnabled()


def test_an_echo_is_reported_with_nothing_to_accept(qtbot, make_window):
    window = make_window(reply=TEXT)
    window.editor.setPlainText(TEXT)
    window.assistant.run("summarize")
    wait_phase(qtbot, window, "ready")
    assert window.panel.status.text() == ECHO_NOTE
    assert not window.panel.buttons["accept"].isEnabled() and window.panel.preview.toPlainText() == ""
