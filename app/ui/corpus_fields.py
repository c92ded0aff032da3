"""The field-mapping dialog for CSV and JSON imports: which column or key holds each field, with a live preview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from app.ui.corpus_tables import Column, RowsModel, field, table_view
from app.ui.jobs import run_job

FIELD_LABELS = {"body": "Text", "title": "Title", "author": "Author", "collection": "Collection", "date": "Date"}
PREVIEW_ROWS = 5


def needs_fields(path: Path) -> bool:
    """Whether a path is named as a record file (each row or object a text), whose fields a person may map.

    By its extension only: this runs on the GUI thread, and the importer reads the bytes to decide in the end."""
    from app.corpus.importers.dispatch import EXTENSIONS, RECORD_FORMATS

    return EXTENSIONS.get(path.suffix.lower().lstrip(".")) in RECORD_FORMATS


def read_sample(path: Path) -> tuple[list[str], dict[str, str]]:
    """The keys a record file's first records have, and the mapping guessed from them (on a pool thread)."""
    from app.corpus.importers import guess_fields, sample

    records = sample(path, 50)
    keys = list(dict.fromkeys(str(k) for record in records for k in record))
    return keys, guess_fields(records)


def read_preview(path: Path, fields: dict[str, str]) -> list[Any]:
    """The first records as they would be imported with `fields` (on a pool thread)."""
    from app.corpus.importers import preview

    return preview(path, fields, PREVIEW_ROWS)


class FieldsDialog(QDialog):
    """Shows a record file's keys per field, guessed first, and the first texts as they would be imported."""

    previewed = Signal()  # a preview is on screen

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Fields of {path.name}")
        self.resize(760, 440)
        self.path = path
        self.combos = {name: QComboBox() for name in FIELD_LABELS}
        self.model = RowsModel([Column(FIELD_LABELS[k], field(k)) for k in ("title", "author", "collection", "date", "body")])
        self.table = table_view(self.model, stretch=4)
        self.status = QLabel(f"Reading {path.name}…")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        for name, combo in self.combos.items():
            form.addRow(FIELD_LABELS[name], combo)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Which column or key holds each field? Texts from every record file of this import are read this way."))
        layout.addLayout(form)
        layout.addWidget(QLabel(f"The first {PREVIEW_ROWS} texts as they will be imported:"))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._asked = 0
        run_job(read_sample, path, on_done=self._sampled, on_failed=self.status.setText)

    def fields(self) -> dict[str, str]:
        """The mapping chosen: field -> key, unmapped fields left out."""
        return {name: combo.currentData() for name, combo in self.combos.items() if combo.currentData()}

    def _sampled(self, sample: tuple[list[str], dict[str, str]]) -> None:
        keys, guessed = sample
        for name, combo in self.combos.items():
            combo.blockSignals(True)
            combo.addItem("(none)", "")
            for key in keys:
                combo.addItem(key, key)
            combo.setCurrentIndex(max(0, combo.findData(guessed.get(name, ""))))
            combo.blockSignals(False)
            combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Preview the first texts with the mapping as it now stands (the newest request wins)."""
        fields = self.fields()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled("body" in fields)
        if "body" not in fields:
            self.model.set_rows([])
            self.status.setText("Choose the column or key that holds the text.")
            return
        self._asked += 1
        token = self._asked
        run_job(read_preview, self.path, fields, on_done=lambda rows: self._show(token, rows), on_failed=self.status.setText)

    def _show(self, token: int, rows: list[Any]) -> None:
        if token == self._asked:
            self.model.set_rows(rows)
            self.status.setText(f"{len(rows)} texts previewed." if rows else "No record has text in that field.")
            self.previewed.emit()
