"""Spelling and grammar in the window: squiggles by kind, the menu's suggestions, the dictionary, dialects, the toggle."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QToolTip

from app.grammar import KINDS
from app.ui.grammar_marks import COLOURS, KIND_LABELS

pytest_plugins = ["tests.gui_helpers"]

WAVE = QTextCharFormat.UnderlineStyle.WaveUnderline


def _checked(qtbot, window) -> None:
    """Wait until the check of the editor's current text is finished and every squiggle is painted."""
    qtbot.waitUntil(window.grammar.settled, timeout=15000)


def _open(qtbot, window, text: str) -> None:
    window.editor.set_text(text)
    window.grammar.document_loaded(window.documents.doc_id)
    _checked(qtbot, window)


def _squiggles(window, line: int) -> list[tuple[int, int, str]]:
    """(start, length, colour) of the wavy underlines in block `line`, in Qt's (UTF-16) offsets."""
    block = window.editor.document().findBlockByNumber(line)
    return [(r.start, r.length, r.format.underlineColor().name()) for r in block.layout().formats()
            if r.format.underlineStyle() == WAVE]


def _wavy_text(window, line: int) -> list[str]:
    text = window.editor.document().findBlockByNumber(line).text().encode("utf-16-le")
    return [text[2 * a : 2 * (a + n)].decode("utf-16-le") for a, n, _ in _squiggles(window, line)]


def _point(window, position: int) -> QPoint:
    cursor = QTextCursor(window.editor.document())
    cursor.setPosition(position)
    return window.editor.cursorRect(cursor).center()


def _menu_at(window, position: int):
    menu = window.editor.context_menu(_point(window, position))
    return menu, {a.text(): a for a in menu.actions()}


def test_squiggles_sit_on_the_errors_after_chinese_accents_and_emoji(qtbot, make_window) -> None:
    window = make_window()
    line = "中文 café 😀𠀀 Its a nice day. I saw a elephant. Teh cat will recieve it."
    _open(qtbot, window, f"{line}\n\n这是一个中文段落，没有英文。")
    assert _wavy_text(window, 0) == ["Its", "a", "Teh", "recieve"]
    assert set(COLOURS) == set(KIND_LABELS) == set(KINDS)  # every kind Harper's lints map to has a colour and a name
    for theme, side in (("dark", 1), ("light", 0)):
        window.set_theme(theme, remember=False)
        colours = dict(zip(_wavy_text(window, 0), (colour for _, _, colour in _squiggles(window, 0))))
        assert (colours["recieve"], colours["Its"]) == (COLOURS["spelling"][side], COLOURS["grammar"][side])
    assert _squiggles(window, 2) == []
    assert window.check_label.text() == "English (American) · 4 issues · 1 paragraph skipped: not English"


def test_hovering_a_squiggle_shows_its_message(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "The cat will recieve it.")
    point = _point(window, 15)
    event = QHelpEvent(QEvent.Type.ToolTip, point, window.editor.viewport().mapToGlobal(point))
    window.editor.viewportEvent(event)
    assert QToolTip.text().startswith("Spelling: Did you mean to spell `recieve`")


def test_a_suggestion_from_the_menu_is_one_undo_step(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "Intro.\nThe cat will recieve it.")
    menu, actions = _menu_at(window, len("Intro.\nThe cat will re"))
    assert menu.actions()[0].text() == "receive" and "Ignore" in actions
    actions["receive"].trigger()
    assert window.editor.text() == "Intro.\nThe cat will receive it."
    window.editor.undo()
    assert window.editor.text() == "Intro.\nThe cat will recieve it."


def test_ignore_hides_this_occurrence_for_the_session(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "Teh florilegium.")
    window.documents.save("save")
    _, actions = _menu_at(window, 1)
    actions["Ignore"].trigger()
    _checked(qtbot, window)
    assert _wavy_text(window, 0) == ["florilegium"]
    assert not window.workspace.policy.dirty  # re-highlighting the squiggles is not an edit to autosave


def test_add_to_dictionary_persists_into_a_new_window(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "The florilegium is bound.")
    assert _wavy_text(window, 0) == ["florilegium"]
    _, actions = _menu_at(window, 6)
    actions["Add “florilegium” to dictionary"].trigger()
    qtbot.waitUntil(lambda: _wavy_text(window, 0) == [], timeout=10000)
    window.documents.save("save")
    window.close()
    again = make_window()
    _checked(qtbot, again)
    assert again.editor.text() == "The florilegium is bound." and _wavy_text(again, 0) == []


def test_the_dialect_is_chosen_per_document_and_remembered(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "The colour is grey.")
    assert _wavy_text(window, 0) == ["colour", "grey"]
    window.dialect_actions["British"].trigger()
    _checked(qtbot, window)
    assert _wavy_text(window, 0) == [] and window.check_label.text() == "English (British) · 0 issues"
    window.documents.save("save")
    window.close()
    again = make_window()
    _checked(qtbot, again)
    assert again.grammar.dialect == "British" and again.dialect_actions["British"].isChecked()
    assert _wavy_text(again, 0) == []


def test_only_changed_paragraphs_are_linted_again_by_the_threads_one_checker(qtbot, make_window) -> None:
    window = make_window()
    _checked(qtbot, window)
    checker = window.grammar.worker.document.checker
    _open(qtbot, window, "First line here.\nSecond line here.\nThird line here.")
    assert window.grammar.worker.document.checker is checker  # a new document, the same Harper
    before = window.grammar.last_report.linted
    cursor = window.editor.textCursor()
    cursor.setPosition(len("First line here.\nSecond"))
    window.editor.setTextCursor(cursor)
    qtbot.keyClicks(window.editor, " shiny")
    _checked(qtbot, window)
    assert window.grammar.last_report.linted == before + 1


def test_toggling_off_removes_the_squiggles_and_is_remembered(qtbot, make_window) -> None:
    window = make_window()
    _open(qtbot, window, "Teh cat.")
    assert _wavy_text(window, 0) == ["Teh"]
    window.check_action.trigger()
    assert _squiggles(window, 0) == [] and window.check_label.text() == "Checking off"
    _, actions = _menu_at(window, 1)
    assert "Ignore" not in actions
    window.close()
    again = make_window()
    assert not again.check_action.isChecked() and not again.grammar.enabled
    assert again.check_label.text() == "Checking off"
