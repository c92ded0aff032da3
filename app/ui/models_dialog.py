"""The model manager: registered models with their metadata; add, choose the default, remove, compress."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QProcess, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
    QPushButton, QVBoxLayout, QWidget,
)

from app.desk import compress_feed
from app.desk.model_facts import describe
from app.ui.discover_dialog import DiscoverDialog
from app.ui.jobs import run_job
from app.ui.progress import show_fraction
from inference.client import key_line
from inference.models import ModelInfo, Registry
from inference.wire import LineBuffer

log = logging.getLogger(__name__)


def _list_models(home: Path) -> tuple[list[ModelInfo], str]:
    registry = Registry(home)
    return registry.list(), registry.default().name


class ModelManager(QDialog):
    """Reads and changes the registry on pool threads (files may be large); compresses through the CLI in a QProcess."""

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(820, 480)
        self.home = Path(home)
        self.models: dict[str, ModelInfo] = {}
        self.default_name = ""
        self.list = QListWidget()
        self.details = QFormLayout()
        self.status = QLabel("Reading the models…")
        self.status.setWordWrap(True)
        self.qtype = QComboBox()
        self.qtype.addItems(list(compress_feed.QUANT_TYPES))
        self.progress = QProgressBar(textVisible=True)
        self.progress.hide()
        self.chart = QLabel()  # the fidelity chart of the selected model's last compression
        self.chart.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.chart.hide()
        self.buttons = {n: QPushButton(t) for n, t in (("add", "Add GGUF file…"), ("find", "Find models on this computer…"), ("use", "Use as default"),
                                                       ("remove", "Remove"), ("compress", "Compress…"))}
        self.proc: QProcess | None = None
        self.compressing = False  # from Compress… until the process ended (or never started)
        self._lines = LineBuffer()
        self._reported = False  # a result or error line arrived: the exit code adds nothing
        self._build()
        self.list.currentItemChanged.connect(lambda item, _: self._show(item))
        self.buttons["add"].clicked.connect(lambda: self.add())
        self.buttons["find"].clicked.connect(self.find_models)
        self.buttons["use"].clicked.connect(self.use_selected)
        self.buttons["remove"].clicked.connect(self.remove_selected)
        self.buttons["compress"].clicked.connect(self.compress_selected)
        self.reload()

    def _build(self) -> None:
        right = QVBoxLayout()
        right.addLayout(self.details)
        right.addWidget(self.chart, 1)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.buttons["compress"])
        row.addWidget(self.qtype)
        right.addLayout(row)
        right.addWidget(self.progress)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(right, 2)
        actions = QHBoxLayout()
        for name in ("add", "find", "use", "remove"):
            actions.addWidget(self.buttons[name])
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.status)
        layout.addLayout(actions)

    def reload(self) -> None:
        run_job(_list_models, self.home, on_done=self._listed, on_failed=self.status.setText)

    def _listed(self, listed: tuple[list[ModelInfo], str]) -> None:
        models, self.default_name = listed
        self.models = {m.name: m for m in models}
        current = self.list.currentItem().text().lstrip("★ ") if self.list.currentItem() else self.default_name
        self.list.clear()
        for m in models:
            item = QListWidgetItem(("★ " if m.name == self.default_name else "") + m.name)
            item.setData(Qt.ItemDataRole.UserRole, m.name)
            self.list.addItem(item)
            if m.name == current:
                self.list.setCurrentItem(item)
        self.status.setText(f"{len(models)} model(s); ★ marks the default, used from the next generation.")

    def selected(self) -> ModelInfo | None:
        item = self.list.currentItem()
        return self.models.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _show(self, item: QListWidgetItem | None) -> None:
        while self.details.rowCount():
            self.details.removeRow(0)
        info = self.selected()
        if info is None:
            return
        for key, value in describe(info).items():
            label = QLabel(str(value))
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.details.addRow(key.capitalize(), label)
        self.buttons["remove"].setEnabled(not info.embedded)
        self._show_chart(None if info.remote else Path(info.path).with_suffix(".report.png"))

    def _show_chart(self, path: Path | None) -> None:
        """Show a fidelity chart scaled to the panel, or hide the panel when there is none."""
        pixmap = QPixmap(str(path)) if path is not None and path.is_file() else QPixmap()
        if pixmap.isNull():
            self.chart.hide()
            return
        self.chart.setPixmap(pixmap.scaledToWidth(460, Qt.TransformationMode.SmoothTransformation))
        self.chart.show()

    def add(self, path: str | None = None) -> None:
        """Register a GGUF file (validated and checksummed on a pool thread)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Add a model", "", "GGUF models (*.gguf)")
        if path:
            self.status.setText(f"Reading {Path(path).name}…")
            run_job(lambda p: Registry(self.home).add(Path(p)), path, on_done=lambda info: self._changed(f"Added {info.name}."), on_failed=self.status.setText)

    def find_models(self) -> DiscoverDialog:
        """Open the list of models other apps keep; what it adds appears here."""
        dialog = DiscoverDialog(self.home, self)
        dialog.added.connect(lambda infos: self._changed(f"Added {', '.join(i.name for i in infos)}."))
        dialog.open()
        return dialog

    def use_selected(self) -> None:
        info = self.selected()
        if info is not None:
            run_job(Registry(self.home).use, info.name, on_done=lambda i: self._changed(f"{i.name} is now the default."), on_failed=self.status.setText)

    def remove_selected(self) -> None:
        info = self.selected()
        if info is not None and not info.embedded:
            run_job(Registry(self.home).remove, info.name, on_done=lambda _: self._changed(f"Removed {info.name} (the file stays)."), on_failed=self.status.setText)

    def _changed(self, message: str) -> None:
        self.reload()
        self.status.setText(message)

    # -- compress ---------------------------------------------------------------------------
    def compress_selected(self) -> None:
        """Gather the held-out text on a pool thread, then run `scriptorium compress MODEL --type T --progress-json`."""
        info = self.selected()
        if info is None or self.compressing:
            return
        self.compressing = True
        qtype = self.qtype.currentText()
        self.buttons["compress"].setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(f"Compressing {info.name} to {qtype}…")
        # the writer's own documents make the held-out text when there are enough: read in bulk, so off the GUI thread
        run_job(compress_feed.held_out_text, self.home, on_done=lambda text: self._start_compress(info, qtype, text),
                on_failed=self._compress_refused)

    def _start_compress(self, info: ModelInfo, qtype: str, text_file: Path | None) -> None:
        if not self.compressing:  # the dialog was closed while the text was gathered
            return
        cmd = compress_feed.compress_command(str(info.path), qtype, str(self.home), text_file)
        self.proc = QProcess(self)
        self._lines, self._reported = LineBuffer(), False
        self.proc.readyReadStandardOutput.connect(self._compress_output)
        self.proc.finished.connect(self._compress_finished)
        self.proc.errorOccurred.connect(lambda err: self._compress_finished(-1, None) if err == QProcess.ProcessError.FailedToStart else None)
        self.proc.start(cmd[0], cmd[1:])
        if secret := key_line(Path(self.home)):  # an encrypted library: the command opens it with the window's key
            self.proc.write(secret)

    def _compress_refused(self, message: str) -> None:
        self.status.setText(f"Could not gather the held-out text: {message}")
        self._compress_ended()

    def _compress_ended(self) -> None:
        self.compressing = False
        self.progress.hide()
        self.buttons["compress"].setEnabled(True)

    def _compress_output(self) -> None:
        for text in self._lines.feed(bytes(self.proc.readAllStandardOutput().data())):  # type: ignore[union-attr]
            self._compress_line(text)

    def _compress_line(self, text: str) -> None:
        line = compress_feed.parse(text)
        if line.kind == "progress":
            self.progress.setFormat(f"{line.stage} %p%")
            show_fraction(self.progress, line.fraction)
        elif line.kind == "result":
            self._reported = True
            self.status.setText(compress_feed.summary(line.payload))
            self._show_chart(compress_feed.chart_path(line.payload))
        elif line.kind == "error":
            self._reported = True
            self.status.setText(str(line.payload.get("message", "Compression failed.")))

    def _compress_finished(self, code: int, _status: object) -> None:
        if self.proc is None:
            return
        for text in self._lines.close():  # a last line without its newline
            self._compress_line(text)
        if code != 0 and not self._reported:
            self.status.setText(f"Compression stopped (exit code {code}); run `scriptorium compress` in a terminal to see why.")
        self.proc.deleteLater()
        self.proc = None
        compress_feed.forget_held_out(Path(self.home))
        self._compress_ended()
        self.reload()

    def done(self, result: int) -> None:  # noqa: D102 (QDialog's close path): a running compression is stopped
        self.compressing = False
        if self.proc is not None:
            self.proc.kill()
        super().done(result)
