"""Rewriting the sentences of concordance hits: the concordance pane that asks, the dialog that reviews each
sentence as tracked changes, and the controller between them, the worker and the editor.

Widgets and wiring only (app/desk/sentence_rewrite.py holds the logic). Every sentence is one `generate` request
to the desk's worker; each answer shows as tracked changes to decide hunk by hunk, then the sentence is accepted or
left out. Apply lands the accepted ones: in the document open in the editor as ONE undo step for all of them (one
edit block), in any other document as one new revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QSplitter, QTextBrowser, QVBoxLayout,
    QWidget,
)

from app.corpus.search import MANUSCRIPT
from app.desk import ask_jobs
from app.desk.review import parse_link
from app.desk.sentence_rewrite import TASKS, SentenceRewrites
from app.ui.corpus_panes import KwicPane, Scope
from app.ui.jobs import run_job
from app.ui.text_viewer import utf16_offset
from inference.protocol import Done, Error
from inference.tasks import REWRITE_STYLES

_STATES = {None: "…", True: "✓", False: "✗"}


def default_instruction(term: str) -> str:
    return f"Rewrite the sentence without the word “{term}”, keeping its meaning." if term else "Rewrite the sentence."


class SentenceRewriteDialog(QDialog):
    """The sentences, a task for all of them, and each answer's tracked changes with its decision."""

    runRequested = Signal()  # the task is chosen: send the requests
    applyRequested = Signal()
    reviewed = Signal()  # an answer arrived and is on screen (tests wait on it)

    def __init__(self, sentences: list[Any], term: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Rewrite {len(sentences)} sentence{'s' if len(sentences) != 1 else ''} — Scriptorium")
        self.resize(900, 560)
        self.sentences = sentences
        self.run: SentenceRewrites | None = None
        self.task = QComboBox()
        for task in TASKS:
            self.task.addItem(task.title(), task)
        self.instruction = QLineEdit(default_instruction(term))
        self.style = QComboBox()
        self.style.addItems(list(REWRITE_STYLES))
        self.go = QPushButton("Run")
        self.list = QListWidget()
        self.review_view = QTextBrowser(openLinks=False, openExternalLinks=False)
        self.accept_button, self.leave_button, self.apply_button = QPushButton("Accept sentence"), QPushButton("Leave out"), QPushButton("Apply accepted")
        self.status = QLabel("Choose a task and Run: each sentence is sent to the model alone.")
        self.status.setWordWrap(True)
        self._build()
        self._fill()
        self.task.currentIndexChanged.connect(lambda _: self._options())
        self.go.clicked.connect(self.runRequested)
        self.list.currentRowChanged.connect(lambda _: self._show())
        self.review_view.anchorClicked.connect(lambda url: self._hunk(url.toString()))
        self.accept_button.clicked.connect(lambda: self._decide(True))
        self.leave_button.clicked.connect(lambda: self._decide(False))
        self.apply_button.clicked.connect(self.applyRequested)
        self._options()

    def _build(self) -> None:
        top = QHBoxLayout()
        for w in (QLabel("Task"), self.task, self.style, self.instruction, self.go):
            top.addWidget(w, 1 if w is self.instruction else 0)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.review_view)
        split.setSizes([320, 580])
        buttons = QHBoxLayout()
        for w in (self.status, self.accept_button, self.leave_button, self.apply_button):
            buttons.addWidget(w, 1 if w is self.status else 0)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    def _options(self) -> None:
        task = self.task.currentData()
        self.style.setVisible(task == "rewrite")
        self.instruction.setVisible(task == "instruct")
        self._enable()

    def chosen(self) -> tuple[str, str]:
        """The task and its instruction (a rewrite's style, the free instruction, nothing for proofread)."""
        task = self.task.currentData()
        return task, {"rewrite": self.style.currentText(), "instruct": self.instruction.text().strip()}.get(task, "")

    def start(self, run: SentenceRewrites) -> None:
        self.run = run
        self.go.setEnabled(False)
        self.status.setText(f"The model is rewriting {len(run.items)} sentences…")
        self._fill()

    def answered(self, index: int) -> None:
        """Sentence `index` has its answer: update its row, and show it if it is the one selected."""
        self._fill_row(index)
        if self.list.currentRow() in (index, -1):
            self.list.setCurrentRow(index)
            self._show()
        waiting = self.run.pending if self.run else 0
        self.status.setText(f"{waiting} sentences still with the model." if waiting else
                            "Decide each change (✓ ✗ in the text), then accept or leave out each sentence, then Apply.")
        self.reviewed.emit()

    def _fill(self) -> None:
        self.list.clear()
        for i, s in enumerate(self.sentences):
            self.list.addItem(f"{s.title}: {s.text}")
            self._fill_row(i)

    def _fill_row(self, index: int) -> None:
        s, item = self.sentences[index], self.run.items[index] if self.run else None
        state = "" if item is None else (f"{_STATES[item.accepted]} " if item.output is not None or item.error else "⋯ ")
        self.list.item(index).setText(f"{state}{s.title}: {s.text}")

    def _show(self) -> None:
        item = self._current()
        if item is None:
            self.review_view.setPlainText(self.sentences[self.list.currentRow()].text if self.list.currentRow() >= 0 else "")
        elif item.error:
            self.review_view.setPlainText(f"{item.sentence.text}\n\nNo answer: {item.error}")
        elif item.review is None:
            self.review_view.setPlainText(item.sentence.text + ("\n\n(The model is writing…)" if item.output is None else "\n\n(No change.)"))
        else:
            self.review_view.setHtml(item.review.to_html())
        self._enable()

    def _current(self) -> Any:
        row = self.list.currentRow()
        return self.run.items[row] if self.run is not None and row >= 0 else None

    def _hunk(self, href: str) -> None:
        item, parsed = self._current(), parse_link(href)
        if item is not None and item.review is not None and parsed is not None:
            item.review.decide(*parsed)
            self._show()

    def _decide(self, accepted: bool) -> None:
        row = self.list.currentRow()
        if self.run is not None and self.run.items[row].changed:
            self.run.decide(row, accepted)
            self._fill_row(row)
            if row + 1 < self.list.count():
                self.list.setCurrentRow(row + 1)
        self._enable()

    def _enable(self) -> None:
        item = self._current()
        for button in (self.accept_button, self.leave_button):
            button.setEnabled(bool(item is not None and item.changed))
        self.apply_button.setEnabled(bool(self.run and self.run.documents()))


class SentenceRewriteController(QObject):
    """From concordance hits to sentences landed in documents, through the worker and the dialog."""

    message = Signal(str)  # what was applied, for the status bar
    opened = Signal(object)  # the dialog, once it is on screen

    def __init__(self, home: Path, worker: Any, editor: Any, workspace: Any, save: Any, parent: QObject) -> None:
        super().__init__(parent)
        self.home, self.worker, self.editor, self.workspace, self.save = Path(home), worker, editor, workspace, save
        self.dialog: SentenceRewriteDialog | None = None

    def start(self, hits: list[tuple[int, int, int]], term: str) -> None:
        """Find the hits' sentences (the open document saved first, so the manuscript mirror can be current)."""
        self.save()
        run_job(ask_jobs.hit_sentences, self.home, hits, on_done=lambda sentences: self._open(sentences, term),
                on_failed=self.message.emit)

    def _open(self, sentences: list[Any], term: str) -> None:
        if not sentences:
            self.message.emit("None of those hits is in a document of yours: only the Manuscript's sentences are rewritten.")
            return
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog = SentenceRewriteDialog(sentences, term, self.editor.window())
        dialog.runRequested.connect(lambda: self._run(dialog))
        dialog.applyRequested.connect(lambda: self.apply(dialog))
        dialog.finished.connect(lambda _: self._cancel(dialog))
        dialog.show()
        self.opened.emit(dialog)

    def _run(self, dialog: SentenceRewriteDialog) -> None:
        run = SentenceRewrites(dialog.sentences, *dialog.chosen())
        dialog.start(run)
        for i, params in enumerate(run.requests()):
            run.begin(i, self.worker.request("generate", on_done=lambda event, d=dialog: self._answered(d, event), **params))

    def _answered(self, dialog: SentenceRewriteDialog, event: Done | Error) -> None:
        if dialog.run is None:
            return
        done = isinstance(event, Done)
        index = dialog.run.finished(event.id, event.result.get("output", "") if done else None, "" if done else event.message)
        if index is not None:
            dialog.answered(index)

    def _cancel(self, dialog: SentenceRewriteDialog) -> None:
        """A closed dialog's requests still with the model are cancelled."""
        for item in dialog.run.items if dialog.run else []:
            if item.output is None and not item.error and item.request_id:
                self.worker.cancel(item.request_id)

    def apply(self, dialog: SentenceRewriteDialog) -> None:
        """Land the accepted sentences: the open document's in one undo step, another document's as a revision."""
        run = dialog.run
        if run is None:
            return
        notes = []
        for doc_id in run.documents():
            if doc_id == self.workspace.doc_id:
                notes.append(self._into_editor(run, doc_id))
            else:
                run_job(ask_jobs.land_sentences, self.home, run, doc_id,
                        on_done=lambda a: self.message.emit(_landed(len(a.applied), len(a.stale), "saved as a new revision")),
                        on_failed=self.message.emit)
        dialog.close()
        for note in notes:
            self.message.emit(note)

    def _into_editor(self, run: SentenceRewrites, doc_id: int) -> str:
        """The open document's accepted sentences as one edit block: one Undo takes them all back."""
        text = self.editor.text()
        edits, stale = run.replacements(doc_id, text)
        cursor = QTextCursor(self.editor.document())
        cursor.beginEditBlock()
        for start, end, new in edits:  # last first: the offsets before each edit still hold
            cursor.setPosition(utf16_offset(text, start))
            cursor.setPosition(utf16_offset(text, end), QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(new)
        cursor.endEditBlock()
        return _landed(len(edits), len(stale), "Undo takes them back in one step")


def _landed(n: int, stale: int, how: str) -> str:
    """What landing did, for the status bar."""
    text = f"Rewrote {n} sentence{'s' if n != 1 else ''} ({how})."
    return text + (f" {stale} had changed since they were read and were left alone." if stale else "")


class ConcordancePane(KwicPane):
    """The concordance, with a way to the model: select hits of the Manuscript and rewrite their sentences."""

    rewriteRequested = Signal(list, str)  # [(text id, start, end)] of the hits, the term

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.rewrite = QPushButton("Rewrite sentences…")
        self.rewrite.setToolTip("Send the sentence of each selected hit (all hits when none is selected) to the model, "
                                "and review each change before it lands in your document.")
        self.layout().itemAt(self.layout().count() - 1).layout().insertWidget(1, self.rewrite)  # beside Export
        self.rewrite.clicked.connect(self.request_rewrite)

    def request_rewrite(self) -> None:
        """Ask for the selected hits' sentences to be rewritten (the Manuscript's only)."""
        if self.scope()[1] != MANUSCRIPT:
            self.status.setText("Only your own text is rewritten: choose the Manuscript corpus (Edit › Search the manuscript).")
            return
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()}) or range(len(self.model.rows))
        hits = [(line.text_id, line.start, line.end) for line in (self.model.rows[r] for r in rows)]
        if hits:
            self.rewriteRequested.emit(hits, self.term.text().strip())
