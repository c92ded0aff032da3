"""The dialog at start when the library was found damaged: what happened, and a button that restores the backup."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import ScriptoriumError
from app.store.recovery import CorruptDatabase

log = logging.getLogger(__name__)
RESTORE = "Restore the backup"


def recovery_box(damage: CorruptDatabase, parent: QWidget | None = None) -> QMessageBox:
    """A warning with the damage; when there is a good backup, Restore restores it and the other button starts afresh."""
    box = QMessageBox(QMessageBox.Icon.Warning, "The library was damaged", damage.question(), parent=parent)
    if damage.backup is None:
        box.addButton(QMessageBox.StandardButton.Ok)
        return box
    restore = box.addButton(RESTORE, QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Start an empty library", QMessageBox.ButtonRole.RejectRole)
    restore.clicked.connect(lambda: _restore(damage, box))
    return box


def _restore(damage: CorruptDatabase, box: QMessageBox) -> None:
    try:
        damage.restore_backup()
    except ScriptoriumError as exc:  # the backup went bad since it was checked: say so, the app starts empty
        log.warning("could not restore %s: %s", damage.backup.name if damage.backup else "-", exc)
        QMessageBox.warning(box.parentWidget(), "The backup was not restored", str(exc))
