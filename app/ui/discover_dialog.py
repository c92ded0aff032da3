"""Find models on this computer: the GGUF files other apps keep, with their facts; tick some and add them by path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.desk import discovery
from app.ui.jobs import run_job
from inference.discover import Found
from inference.models import ModelInfo


class DiscoverDialog(QDialog):
    """Scans on a pool thread (headers of large files); registering checksums each chosen file, also on a pool thread."""

    added = Signal(list)  # the registered ModelInfo entries

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find models on this computer")
        self.resize(900, 420)
        self.home = Path(home)
        self.found: list[Found] = []
        self.table = QTableWidget(0, len(discovery.COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in discovery.COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.status = QLabel("Looking in LM Studio, GPT4All, Jan, KoboldCpp, Ollama and the Hugging Face cache…")
        self.status.setWordWrap(True)
        self.add_button = QPushButton("Add ticked models")
        self.add_button.setEnabled(False)
        self.add_button.clicked.connect(self.add_checked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.table, self.status, buttons):
            layout.addWidget(widget, 1 if widget is self.table else 0)
        run_job(discovery.find, self.home, on_done=self._listed, on_failed=self.status.setText)

    def _listed(self, found: list[Found]) -> None:
        self.found = found
        self.table.setRowCount(len(found))
        for r, f in enumerate(found):
            for c, value in enumerate(discovery.row(f).values()):
                item = QTableWidgetItem(value)
                item.setToolTip(f.problem or str(f.path))
                self.table.setItem(r, c, item)
            self._checkable(self.table.item(r, 0), f)
        usable = sum(f.usable and not f.registered for f in found)
        self.status.setText(f"{len(found)} model file(s) found, {usable} to add; tick the ones you want. Nothing is copied."
                            if found else f"No GGUF models found. Looked in: {discovery.where_searched()}.")
        self.add_button.setEnabled(usable > 0)

    def _checkable(self, item: QTableWidgetItem, found: Found) -> None:
        """A model that can be added gets a tick box; one already registered or unusable is shown greyed."""
        if found.usable and not found.registered:
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        else:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)

    def checked(self) -> list[Found]:
        return [f for r, f in enumerate(self.found) if self.table.item(r, 0).checkState() == Qt.CheckState.Checked]

    def add_checked(self) -> None:
        chosen = self.checked()
        if not chosen:
            self.status.setText("Tick the models to add first.")
            return
        self.add_button.setEnabled(False)
        self.status.setText(f"Adding {len(chosen)} model(s): each file's checksum is read once, which takes a while for large ones…")
        run_job(discovery.add, self.home, chosen, on_done=self._added, on_failed=self._failed)

    def _added(self, infos: list[ModelInfo]) -> None:
        self.added.emit(infos)
        message = f"Added {', '.join(i.name for i in infos)}; choose one in the model manager to use it."
        run_job(discovery.find, self.home, on_done=lambda found: (self._listed(found), self.status.setText(message)),
                on_failed=self.status.setText)

    def _failed(self, message: str) -> None:
        self.status.setText(message)
        self.add_button.setEnabled(True)
