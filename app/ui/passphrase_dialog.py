"""Asking for passphrases: the library's at start (unlock or quit), and the current and new ones for Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.desk import encryption

CURRENT, NEW, AGAIN = "current", "new", "again"
_LABELS = {CURRENT: "Passphrase", NEW: "New passphrase", AGAIN: "The same again"}
Check = Callable[[dict[str, str]], "str | None"]  # the typed values -> what is wrong (None: accept)


class PassphraseDialog(QDialog):
    """Password fields and a line that says what was wrong; it closes only when `check` accepts what was typed."""

    def __init__(self, title: str, intro: str, fields: tuple[str, ...], check: Check, accept_text: str = "OK",
                 reject_text: str = "Cancel", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.check = check
        self.fields = {name: QLineEdit(echoMode=QLineEdit.EchoMode.Password) for name in fields}
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        form = QFormLayout()
        for name, edit in self.fields.items():
            form.addRow(_LABELS[name], edit)
        buttons = QDialogButtonBox()
        self.ok = buttons.addButton(accept_text, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(reject_text, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro_label)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def values(self) -> dict[str, str]:
        return {name: edit.text() for name, edit in self.fields.items()}

    def accept(self) -> None:
        """Close only when the check passes; otherwise say why, clear the fields and wait for another try."""
        problem = self.check(self.values())
        if problem is None:
            super().accept()
            return
        self.problem.setText(problem)
        for edit in self.fields.values():
            edit.clear()
        next(iter(self.fields.values())).setFocus()


def unlock_dialog(home: Path, parent: QWidget | None = None) -> PassphraseDialog:
    """At start: the library's passphrase, tried on OK (a wrong one says so and waits); Quit leaves the app."""
    return PassphraseDialog("Unlock the library", "This library is encrypted. Type its passphrase to open it.", (CURRENT,),
                            lambda v: encryption.try_unlock(home, v[CURRENT]), "Unlock", "Quit", parent)


def action_dialog(home: Path, action: str, parent: QWidget | None = None) -> PassphraseDialog:
    """For Settings: the passphrases an action needs — the current one before decrypting or re-keying, a new one twice."""
    fields = {encryption.ENCRYPT: (NEW, AGAIN), encryption.CHANGE: (CURRENT, NEW, AGAIN), encryption.DECRYPT: (CURRENT,)}[action]
    intros = {
        encryption.ENCRYPT: "Choose a passphrase. Keep it safe: without it the library cannot be read, by you or anyone.",
        encryption.CHANGE: "Type the current passphrase, then the new one twice.",
        encryption.DECRYPT: "Type the passphrase to store the library unencrypted again.",
    }

    def check(values: dict[str, str]) -> str | None:
        if CURRENT in values and (problem := encryption.check_current(home, values[CURRENT])):
            return problem
        return encryption.check_new(values[NEW], values[AGAIN]) if NEW in values else None

    return PassphraseDialog("Encryption", intros[action], fields, check, parent=parent)
