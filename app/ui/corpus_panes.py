"""The Corpus view's panes: search with metadata filters, the concordance, the frequency list.

Each pane asks its view for the corpus and filters in force (`scope`), runs its query with run_job, and shows
only the answer to its newest request: an answer that arrives after a newer question is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget,
)

from app.corpus.search import MARKS
from app.corpus.store import TextFilter
from app.desk import corpus_jobs
from app.ui.corpus_tables import ALIGN_CENTER, ALIGN_RIGHT, Column, ElideLeft, MarkedText, RowsModel, field, table_view
from app.ui.jobs import run_job

Scope = Callable[[], tuple[Path, str | None, TextFilter]]  # (home, corpus name or None for all, filters)
SORT_KEYS = ("L3", "L2", "L1", "R1", "R2", "R3")


class Pane(QWidget):
    """What every pane shares: a status line, the newest-request-wins rule, and the hit a double-click opens."""

    openRequested = Signal(int, int, int)  # text id, start, end
    answered = Signal()  # a query's answer is on screen (tests and the view wait on it)

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self.scope = scope
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._asked = 0

    def ask(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None]) -> None:
        """Run `fn(home, corpus, filters, *args)` on a pool thread and pass its answer to `then`, if still the newest."""
        home, corpus, filters = self.scope()
        self._asked += 1
        token = self._asked
        self.status.setText("Working…")
        run_job(fn, home, corpus, filters, *args, on_done=lambda value: self._answer(token, then, value),
                on_failed=lambda message: self._answer(token, self.status.setText, message))

    def _answer(self, token: int, then: Callable[[Any], None], value: Any) -> None:
        if token != self._asked:  # a newer question was asked meanwhile
            return
        then(value)
        self.answered.emit()

    def open_row(self, view: QTableView, index: QModelIndex) -> None:
        """Ask to open the text of the double-clicked row at its match."""
        row = view.model().row(index.row())  # type: ignore[attr-defined]
        self.openRequested.emit(row.text_id, row.start, row.end)


def _row(*widgets: QWidget, stretch: int = 0) -> QHBoxLayout:
    line = QHBoxLayout()
    for i, w in enumerate(widgets):
        line.addWidget(w, 1 if i == stretch else 0)
    return line


class SearchPane(Pane):
    """A query box and a page of hits with their snippets (the view's metadata filters apply)."""

    PAGE = 100

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.query = QLineEdit(placeholderText="Words, \"a phrase\", or characters: 明月, 床前 …")
        self.query.setClearButtonEnabled(True)
        self.go = QPushButton("Search")
        self.more = QPushButton("More")
        self.more.hide()
        self.model = RowsModel([Column("Title", field("title")), Column("Author", lambda h: h.extra.get("author", "")),
                                Column("Snippet", lambda h: h.extra.get("snippet", ""))])
        self.table = table_view(self.model, stretch=2)
        self.table.setItemDelegateForColumn(2, MarkedText(MARKS, self.table))
        self.total = 0
        layout = QVBoxLayout(self)
        layout.addLayout(_row(self.query, self.go))
        layout.addWidget(self.table, 1)
        layout.addLayout(_row(self.status, self.more))
        self.query.returnPressed.connect(self.run)
        self.go.clicked.connect(self.run)
        self.more.clicked.connect(self.next_page)
        self.table.doubleClicked.connect(lambda index: self.open_row(self.table, index))

    def run(self) -> None:
        if self.query.text().strip():
            self.ask(corpus_jobs.search_page, self.query.text().strip(), self.PAGE, 0, then=self._show)

    def next_page(self) -> None:
        self.ask(corpus_jobs.search_page, self.query.text().strip(), self.PAGE, len(self.model.rows), then=self._add)

    def _show(self, page: Any) -> None:
        self.model.set_rows([])
        self._add(page)

    def _add(self, page: Any) -> None:
        self.total = page.total
        self.model.set_rows(self.model.rows + list(page.hits))
        self.more.setVisible(self.total > len(self.model.rows))
        shown = len(self.model.rows)
        self.status.setText(f"{self.total:,} hits" + (f", the first {shown:,} shown" if shown < self.total else "") + "; double-click one to read it."
                            if self.total else "No texts match.")


class KwicPane(Pane):
    """A concordance: every hit of a term, left context | match | right context, sorted by the tokens around it."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.term = QLineEdit(placeholderText="A word, a phrase or characters")
        self.width = QSpinBox(minimum=5, maximum=200, value=40, suffix=" chars")
        self.sort = [QComboBox() for _ in range(3)]
        for i, (combo, default) in enumerate(zip(self.sort, ("R1", "R2", ""))):
            if i:
                combo.addItem("—", "")
            for key in SORT_KEYS:
                combo.addItem(key, key)
            combo.setCurrentIndex(combo.findData(default))
        self.go = QPushButton("Concordance")
        self.export = QPushButton("Export CSV…")
        self.export.setEnabled(False)
        self.model = RowsModel([Column("Text", field("title")), Column("Left", field("left"), ALIGN_RIGHT),
                                Column("Match", field("match"), ALIGN_CENTER, bold=True), Column("Right", field("right"))])
        self.table = table_view(self.model, stretch=3)
        self.table.setItemDelegateForColumn(1, ElideLeft(self.table))
        self.table.setColumnWidth(1, 320)
        layout = QVBoxLayout(self)
        layout.addLayout(_row(self.term, QLabel("Context"), self.width, QLabel("Sort by"), *self.sort, self.go, stretch=0))
        layout.addWidget(self.table, 1)
        layout.addLayout(_row(self.status, self.export))
        self.term.returnPressed.connect(self.run)
        self.go.clicked.connect(self.run)
        for combo in self.sort:  # sorting asks again: the keys are read from the texts around each hit
            combo.currentIndexChanged.connect(lambda _: self.run())
        self.export.clicked.connect(lambda: self.export_csv())
        self.table.doubleClicked.connect(lambda index: self.open_row(self.table, index))

    def sort_keys(self) -> tuple[str, ...]:
        """The keys chosen, in order, each once."""
        return tuple(dict.fromkeys(k for k in (c.currentData() for c in self.sort) if k))

    def run(self) -> None:
        if self.term.text().strip():
            self.ask(corpus_jobs.concordance, self.term.text().strip(), self.width.value(), self.sort_keys(), then=self._show)

    def _show(self, lines: list[Any]) -> None:
        self.model.set_rows(lines)
        self.export.setEnabled(bool(lines))
        self.status.setText(f"{len(lines):,} lines, sorted by {', '.join(self.sort_keys()) or 'place'}." if lines else "No hits.")

    def export_csv(self, path: str | None = None) -> None:
        """Write the lines on screen to a CSV file (chosen in a dialog unless given), UTF-8 as Excel reads it."""
        from app.corpus.kwic import to_csv

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the concordance", f"{self.term.text().strip() or 'kwic'}.csv", "CSV (*.csv)")
        if path:
            to_csv(self.model.rows, path)
            self.status.setText(f"Wrote {len(self.model.rows):,} lines to {path}.")


class FrequencyPane(Pane):
    """The commonest words, characters or n-grams of the corpus in scope."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.unit = QComboBox()
        self.unit.addItem("Words (CJK: characters)", "word")
        self.unit.addItem("Characters", "char")
        self.n = QSpinBox(minimum=1, maximum=6, value=1, prefix="n = ")
        self.limit = QSpinBox(minimum=10, maximum=100_000, value=500, singleStep=100, prefix="top ")
        self.go = QPushButton("Count")
        # rows are (rank, Count) pairs
        self.model = RowsModel([Column("Rank", lambda r: r[0], ALIGN_RIGHT), Column("Item", lambda r: r[1].item),
                                Column("Count", lambda r: r[1].count, ALIGN_RIGHT), Column("Texts", lambda r: r[1].texts, ALIGN_RIGHT),
                                Column("Per million", lambda r: r[1].per_million, ALIGN_RIGHT)])
        self.table = table_view(self.model, stretch=1)
        layout = QVBoxLayout(self)
        layout.addLayout(_row(self.unit, self.n, self.limit, self.go, QWidget(), stretch=4))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.go.clicked.connect(self.run)

    def run(self) -> None:
        self.ask(corpus_jobs.frequency_list, self.unit.currentData(), self.n.value(), self.limit.value(), then=self._show)

    def _show(self, result: Any) -> None:
        self.model.set_rows(list(enumerate(result.rows, 1)))
        self.status.setText(f"The {len(result.rows):,} commonest of {result.types:,} types in {result.tokens:,} tokens."
                            if result.rows else "Nothing to count.")
