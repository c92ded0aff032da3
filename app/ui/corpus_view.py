"""The Corpus view: choose a corpus, import into it (files, a folder, or dropped), search, read concordances, count, plot.

A window of its own beside the desk, so the desk's layout stays as it is. Widgets and wiring only: every query runs
in app/corpus on a pool thread (app/desk/corpus_jobs opens a connection per job), never on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QMenu, QProgressBar, QPushButton, QTabWidget,
    QToolButton, QVBoxLayout, QWidget,
)

from app.corpus.store import TextFilter
from app.desk import corpus_jobs
from app.desk.corpus_report import import_summary, progress_fraction, progress_text
from app.ui.corpus_chart import DispersionPane
from app.ui.corpus_fields import FieldsDialog, needs_fields
from app.ui.corpus_import import ImportRun
from app.ui.corpus_ask import AskPane, HybridSearchPane
from app.ui.corpus_panes import FrequencyPane
from app.ui.jobs import run_job
from app.ui.progress import show_fraction
from app.ui.sentence_rewrite import ConcordancePane
from app.ui.text_viewer import TextViewer

ALL = ""  # the chooser's entry for every corpus at once


class CorpusView(QWidget):
    """The workbench's widgets; it holds no connection and runs no SQL."""

    corporaLoaded = Signal()  # the chooser has been refilled
    importFinished = Signal(object)  # the report of an import (also a cancelled one)
    textShown = Signal()  # a text is open in the viewer at a hit
    rewriteRequested = Signal(list, str)  # concordance hits of the Manuscript whose sentences go to the model, the term

    def __init__(self, home: Path, parent: QWidget | None = None, worker: Any = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.home = Path(home)
        self.setWindowTitle("Corpus — Scriptorium")
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.chooser = QComboBox(minimumContentsLength=18)
        self.import_button = QToolButton(text="Import…", popupMode=QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.import_button)
        menu.addAction("Files…", lambda: self.import_paths())
        menu.addAction("A folder…", lambda: self.import_paths(folder=True))
        self.import_button.setMenu(menu)
        self.filters = {k: QLineEdit(placeholderText=p) for k, p in (("author", "Author"), ("collection", "Collection"), ("title", "Title contains"))}
        self.progress = QProgressBar(textVisible=True)
        self.cancel_button = QPushButton("Cancel")
        self.report = QLabel("Drop files or a folder here to import them.")
        self.report.setWordWrap(True)
        # The worker (the desk's) embeds queries and answers questions; without one, passages are found by BM25 only.
        self.search, self.ask_pane = HybridSearchPane(self.scope, worker), AskPane(self.scope, worker)
        self.kwic, self.freq, self.chart = ConcordancePane(self.scope), FrequencyPane(self.scope), DispersionPane(self.scope)
        self.kwic.rewriteRequested.connect(self.rewriteRequested)
        self.tabs = QTabWidget()
        for pane, name in ((self.search, "Search"), (self.ask_pane, "Ask"), (self.kwic, "Concordance"), (self.freq, "Frequencies"),
                           (self.chart, "Dispersion")):
            self.tabs.addTab(pane, name)
            pane.openRequested.connect(self.open_text)
        self.importer = ImportRun(self)
        self.viewer = TextViewer(self)
        self._pending_choice: str | None = None
        self._build()
        self._connect()
        self._set_importing(False)
        self.reload()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Corpus"))
        top.addWidget(self.chooser)
        top.addWidget(self.import_button)
        for edit in self.filters.values():
            top.addWidget(edit)
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(running)
        layout.addWidget(self.report)
        layout.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        self.cancel_button.clicked.connect(self.cancel_import)
        self.importer.progress.connect(self._import_progress)
        self.importer.finished.connect(self._import_finished)
        self.importer.failed.connect(self._import_failed)

    def scope(self) -> tuple[Path, str | None, TextFilter]:
        """What the panes query: the data directory, the chosen corpus (None: all) and the metadata filters."""
        values = {k: e.text().strip() for k, e in self.filters.items()}
        return self.home, self.chooser.currentData() or None, TextFilter(**values)

    def corpus(self) -> str | None:
        return self.chooser.currentData() or None

    # -- the corpus chooser ------------------------------------------------------------------
    def reload(self, choose: str | None = None) -> None:
        """Refill the chooser from the store, keeping the choice (or making `choose`)."""
        self._pending_choice = choose if choose is not None else self.corpus()
        run_job(corpus_jobs.corpora, self.home, on_done=self._fill, on_failed=self.report.setText)

    def _fill(self, corpora: list[Any]) -> None:
        choice = self._pending_choice
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItem("All corpora", ALL)
        for c in corpora:
            self.chooser.addItem(f"{c.name} ({c.texts:,} texts, {c.chars:,} characters)", c.name)
        index = self.chooser.findData(choice) if choice else 0
        self.chooser.setCurrentIndex(max(0, index))
        self.chooser.blockSignals(False)
        self.corporaLoaded.emit()

    # -- importing ---------------------------------------------------------------------------
    def import_paths(self, paths: list[Path] | None = None, corpus: str | None = None, folder: bool = False,
                     fields: dict[str, str] | None = None) -> None:
        """Import files or folders (asked for when not given) into `corpus` (the chosen one, else asked for)."""
        if self.importer.running:
            return
        paths = self._ask_paths(folder) if paths is None else [Path(p) for p in paths]
        if not paths:
            return
        corpus = corpus or self._ask_corpus(paths[0])
        if not corpus:
            return
        if fields is None and (mapped := [p for p in paths if needs_fields(p)]):
            dialog = FieldsDialog(mapped[0], self)
            dialog.accepted.connect(lambda: self._start_import(paths, corpus, dialog.fields()))
            dialog.open()
            return
        self._start_import(paths, corpus, fields)

    def _ask_paths(self, folder: bool) -> list[Path]:
        if folder:
            chosen = QFileDialog.getExistingDirectory(self, "Import a folder into the corpus")
            return [Path(chosen)] if chosen else []
        files, _ = QFileDialog.getOpenFileNames(self, "Import files into the corpus", "",
                                                "Texts (*.txt *.md *.html *.htm *.docx *.epub *.pdf *.csv *.json *.jsonl);;All files (*)")
        return [Path(f) for f in files]

    def _ask_corpus(self, first: Path) -> str | None:
        chosen = self.corpus()
        if chosen and chosen != corpus_jobs.MANUSCRIPT:
            return chosen
        name, ok = QInputDialog.getText(self, "Import into a corpus", "Corpus name (new or existing):", text=first.stem or first.name)
        return name.strip() if ok and name.strip() else None

    def _start_import(self, paths: list[Path], corpus: str, fields: dict[str, str] | None) -> None:
        self._importing_into = corpus
        self._set_importing(True)
        self.report.setText(f"Importing into {corpus!r}…")
        show_fraction(self.progress, None)
        self.importer.start(self.home, paths, corpus, fields)

    def cancel_import(self) -> None:
        self.importer.cancel()
        self.report.setText("Cancelling after the text being read…")

    def _set_importing(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        self.import_button.setEnabled(not on)

    def _import_progress(self, p: Any) -> None:
        show_fraction(self.progress, progress_fraction(p))
        self.progress.setFormat(progress_text(p))

    def _import_finished(self, report: Any) -> None:
        self._set_importing(False)
        self.report.setText(import_summary(self._importing_into, report))
        self.reload(choose=self._importing_into)
        self.importFinished.emit(report)

    def _import_failed(self, message: str) -> None:
        self._set_importing(False)
        self.report.setText(message)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()) and not self.importer.running:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # -- reading and the manuscript ----------------------------------------------------------
    def open_text(self, text_id: int, start: int, end: int) -> None:
        """Open a text read-only, scrolled to [start, end) and with it selected (read on a pool thread)."""
        run_job(corpus_jobs.text, self.home, text_id, on_done=lambda text: self._show_text(text, start, end), on_failed=self.report.setText)

    def _show_text(self, text: Any, start: int, end: int) -> None:
        self.viewer.show_text(text, start, end)
        self.viewer.show()
        self.viewer.raise_()
        self.textShown.emit()

    def search_manuscript(self, query: str = "") -> None:
        """Bring the Manuscript corpus up to date with the documents, choose it and put the cursor in the search box."""
        self.tabs.setCurrentWidget(self.search)
        self.report.setText("Indexing the manuscript…")
        run_job(corpus_jobs.sync_manuscript, self.home, on_done=lambda name: self._manuscript_ready(name, query), on_failed=self.report.setText)

    def _manuscript_ready(self, name: str, query: str) -> None:
        self.report.setText("Searching your own documents (the Manuscript corpus).")
        if query:
            self.search.query.setText(query)
        self.corporaLoaded.connect(self.search.run, Qt.ConnectionType.SingleShotConnection)  # search once it is chosen
        self.reload(choose=name)
        self.search.query.setFocus()
