"""The dispersion pane: where a term falls in each text (or each author's texts), drawn live with pyqtgraph."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QVBoxLayout

from app.desk import corpus_jobs
from app.ui.corpus_panes import Pane, Scope, _row

pg.setConfigOptions(antialias=True)
MAX_LABELS = 40


class DispersionPane(Pane):
    """A term, text-or-author, and a barcode plot: one row per text, a tick at each hit's place in it (0 = start, 1 = end)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.term = QLineEdit(placeholderText="A word, a phrase or characters")
        self.by = QComboBox()
        self.by.addItem("By text", "text")
        self.by.addItem("By author", "author")
        self.go = QPushButton("Plot")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setLabel("bottom", "position in the text (0 = start, 1 = end)")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideButtons()
        ink = self.palette().color(QPalette.ColorRole.Text)  # pyqtgraph's own grey is meant for a black background
        for name in ("left", "bottom"):
            self.plot.getAxis(name).setPen(ink)
            self.plot.getAxis(name).setTextPen(ink)
        self.ticks = pg.ScatterPlotItem(symbol="|", size=22, pen=pg.mkPen(ink, width=2), brush=pg.mkBrush(ink))
        self.plot.addItem(self.ticks)
        self.rows: list[Any] = []
        layout = QVBoxLayout(self)
        layout.addLayout(_row(self.term, self.by, self.go))
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        self.term.returnPressed.connect(self.run)
        self.go.clicked.connect(self.run)

    def run(self) -> None:
        if self.term.text().strip():
            self.ask(corpus_jobs.dispersion_of, self.term.text().strip(), self.by.currentData(), then=self.draw)

    def draw(self, result: Any) -> None:
        """One row per text or author, top to bottom; the axis names them."""
        self.rows = [p for p in result.parts if p.count]
        xs, ys = [], []
        for y, row in enumerate(self.rows):
            xs += list(row.positions)
            ys += [y] * len(row.positions)
        self.ticks.setData(xs, ys)
        step = max(1, len(self.rows) // MAX_LABELS)  # past that many rows, every step-th is named
        labels = [(y, _short(self.rows[y].label)) for y in range(0, len(self.rows), step)]
        axis = self.plot.getAxis("left")
        axis.setTicks([labels])
        # The axis does not always grow for labels set after it was shown: size it to the longest label.
        metrics = self.fontMetrics()
        axis.setWidth(max([metrics.horizontalAdvance(text) for _, text in labels], default=0) + 16)
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(-0.5, max(0, len(self.rows) - 0.5), padding=0.05)
        self.plot.getViewBox().invertY(True)
        parts = "texts" if result.by == "text" else "authors"
        self.status.setText(f"{result.count:,} hits in {len(self.rows):,} of {len(result.parts):,} {parts}; Gries's DP {result.dp:.2f} "
                            "(0: spread evenly, 1: all in one part)." if result.count else "No hits.")

    def points(self) -> int:
        """How many ticks the plot holds (for tests and the status line)."""
        return len(self.ticks.data)


def _short(label: str, chars: int = 18) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"
