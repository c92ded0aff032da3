"""The encrypted library in the window: the passphrase asked at start (a wrong one said so, nothing touched, retry or
quit), and Settings encrypting, re-keying and decrypting the open library off the GUI thread."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from app.desk import encryption
from app.store import library_key, rekey
from app.ui.passphrase_dialog import AGAIN, CURRENT, NEW, unlock_dialog
from inference import sqlfile
from tests.encryption_helpers import OTHER, PASS, SENTENCE, no_key_held, snapshot  # noqa: F401 (fixture)
from tests.gui_helpers import gui_home, make_window  # noqa: F401 (fixtures)


def test_the_start_asks_for_the_passphrase_and_a_wrong_one_touches_nothing(qtbot, home: Path) -> None:
    from app.store import create_document, open_db

    db = open_db(home)
    create_document(db, "Draft", SENTENCE)
    db.close()
    rekey.encrypt(home, PASS)
    sqlfile.hold_key(home, None)  # as a new start finds it
    before = snapshot(home)
    dialog = unlock_dialog(home)
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.fields[CURRENT].setText(OTHER)
    dialog.ok.click()
    assert "does not open this library" in dialog.problem.text() and dialog.isVisible()
    assert dialog.fields[CURRENT].text() == "" and sqlfile.held_key(home) is None
    assert snapshot(home) == before  # bytes and mtimes
    dialog.fields[CURRENT].setText(PASS)
    dialog.ok.click()
    assert dialog.result() == QDialog.DialogCode.Accepted and sqlfile.held_key(home) is not None
    assert open_db(home).execute("SELECT body FROM documents").fetchone()[0] == SENTENCE


def test_settings_encrypt_rekey_and_decrypt_the_open_library(qtbot, make_window, gui_home: Path) -> None:
    from app.ui.settings_dialog import SettingsDialog

    window = make_window()
    window.editor.set_text(SENTENCE)
    window.documents.save("save")
    settings = SettingsDialog(window.worker, window.workspace, window, window.encryption)
    qtbot.addWidget(settings)
    first_worker = window.worker.pid

    def run(action: str, **typed: str) -> tuple[bool, str]:
        settings.encryption_buttons[action].click()
        asking = settings.asking
        assert asking is not None
        for name, text in typed.items():
            asking.fields[name].setText(text)
        with qtbot.waitSignal(window.encryption.finished, timeout=30000) as done:
            asking.ok.click()
            assert not settings.buttons.isEnabled()  # nothing writes while the connection is let go
        qtbot.waitUntil(lambda: window.worker.running and window.n_ctx is not None, timeout=15000)
        return tuple(done.args)  # type: ignore[return-value]

    ok, said = run(encryption.ENCRYPT, **{NEW: PASS, AGAIN: PASS})
    assert ok and said.startswith("Encrypted")
    assert window.worker.pid != first_worker  # restarted with the key, on stdin
    assert all(sqlfile.is_encrypted(p) for p in rekey.library_files(gui_home))
    assert not any(SENTENCE.encode() in p.read_bytes() for p in gui_home.rglob("*") if p.is_file())
    assert window.workspace.documents()[0].title  # the window reads the library again, now under the key
    assert settings.encryption_buttons[encryption.DECRYPT].isVisibleTo(settings)

    settings.encryption_buttons[encryption.CHANGE].click()  # a wrong current passphrase: said, and nothing runs
    settings.asking.fields[CURRENT].setText(OTHER)  # type: ignore[union-attr]
    settings.asking.fields[NEW].setText("x")  # type: ignore[union-attr]
    settings.asking.fields[AGAIN].setText("x")  # type: ignore[union-attr]
    settings.asking.ok.click()  # type: ignore[union-attr]
    assert "does not open" in settings.asking.problem.text() and not window.encryption.busy  # type: ignore[union-attr]
    settings.asking.reject()  # type: ignore[union-attr]

    ok, said = run(encryption.CHANGE, **{CURRENT: PASS, NEW: OTHER, AGAIN: OTHER})
    assert ok, said
    sqlfile.hold_key(gui_home, None)
    with pytest.raises(library_key.WrongPassphrase):
        library_key.unlock(gui_home, PASS)
    library_key.unlock(gui_home, OTHER)

    ok, said = run(encryption.DECRYPT, **{CURRENT: OTHER})
    assert ok and said.startswith("Decrypted") and not library_key.is_encrypted(gui_home)
    assert window.editor.text() == SENTENCE
    assert any(SENTENCE.encode() in p.read_bytes() for p in gui_home.rglob("scriptorium.db*"))


def test_the_app_unlocks_before_its_window_opens_or_quits(qtbot, home: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.__main__ import _unlock

    assert _unlock(home)  # a plain library: nothing asked
    rekey.encrypt(home, PASS)
    sqlfile.hold_key(home, None)

    def answer(*texts: str | None) -> None:
        """Type the first answer into the modal dialog; the rest follow, one per turn of its event loop."""
        dialog = QApplication.activeModalWidget()
        if texts[0] is None:
            dialog.reject()  # Quit
            return
        dialog.fields[CURRENT].setText(texts[0])  # type: ignore[attr-defined]
        dialog.ok.click()  # type: ignore[attr-defined]
        if texts[1:]:
            assert "does not open" in dialog.problem.text()  # type: ignore[attr-defined]
            QTimer.singleShot(0, lambda: answer(*texts[1:]))

    QTimer.singleShot(0, lambda: answer(None))
    assert not _unlock(home) and sqlfile.held_key(home) is None
    QTimer.singleShot(0, lambda: answer(OTHER, PASS))  # a wrong one: said, the dialog stays; then the right one
    assert _unlock(home) and sqlfile.held_key(home) is not None
