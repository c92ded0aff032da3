"""Spelling and grammar as you type: Harper on a thread of its own, debounced, re-linting only changed paragraphs.

The GUI thread's part per check is one copy of the text (`toRawText`, about 2 ms for a megabyte) and the
re-highlighting of the blocks whose lints changed, a few at a time. Everything else — splitting, finding
the changed paragraphs, Harper — runs on the checking thread, whose Checker is made and used there only.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSignalBlocker, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QTextBlock, QTextDocument

from app.desk.autosave import AutosavePolicy
from app.desk.status import checking_label
from app.desk.workspace import Workspace
from app.grammar import DocumentCheck, Lint, Report, checker_for_thread, dialect_for_locale, ignore_key, release_thread
from app.ui.editor import MAX_HIGHLIGHT_LINE, Editor
from app.ui.grammar_marks import GrammarMarks

log = logging.getLogger(__name__)

QUIET_MS = 350  # check this long after the last keystroke ...
MAX_WAIT_MS = 1500  # ... and at least this often while the writer types without a pause
# GUI time per event-loop turn for re-highlighting blocks whose lints arrived: a typed key waits at most this.
PLACE_BUDGET_S = 0.002
BLOCK_SEPARATOR = "\u2029"  # QTextDocument.toRawText() ends each block with it (U+2028 stays inside a block)


@dataclass(frozen=True)
class CheckRequest:
    """One check of the open document, as the checking thread receives it."""

    generation: int  # a new document, dialect or switch-on makes a new one; older results are dropped
    text: str  # the document's raw text, blocks separated by BLOCK_SEPARATOR
    dialect: str
    words: frozenset[str]
    ignored: frozenset
    markdown: bool
    focus: int  # the cursor's block: its neighbours are linted first


class Generation:
    """The newest generation, written by the GUI thread and read by the checking thread (one int: atomic)."""

    value = 0


class CheckWorker(QObject):
    """Lives on the checking thread; one DocumentCheck per generation, Checkers made on this thread only."""

    reported = Signal(int, object)  # generation, Report
    finished = Signal(int)  # generation; exactly once per request
    failed = Signal(str)

    def __init__(self, newest: Generation) -> None:
        super().__init__()
        self.newest = newest
        self.document: DocumentCheck | None = None  # the newest generation's
        self._generation = -1

    @Slot(object)
    def check(self, request: CheckRequest) -> None:
        try:
            if request.generation == self.newest.value:
                self._run(request)
        except Exception as exc:  # Harper failing must reach the status bar, not end the thread
            log.exception("spelling and grammar check failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            self.finished.emit(request.generation)

    def _run(self, request: CheckRequest) -> None:
        checker = checker_for_thread(request.dialect, request.words)
        if self.document is None or self._generation != request.generation:
            self.document = DocumentCheck(checker, request.markdown, BLOCK_SEPARATOR, MAX_HIGHLIGHT_LINE)
            self._generation = request.generation
        report = self.document.run(request.text, request.ignored, request.focus, stop=lambda: self.newest.value != request.generation,
                                 partial=lambda r: self.reported.emit(request.generation, r))
        if report is not None:
            self.reported.emit(request.generation, report)


class GrammarController(QObject):
    """Wires one editor to a checking thread: when to check, which blocks to re-highlight, what the status says."""

    statusChanged = Signal(str)
    _request = Signal(object)

    def __init__(self, editor: Editor, workspace: Workspace, locale_name: str | None = None, dark: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor, self.workspace = editor, workspace
        self.default_dialect = dialect_for_locale(locale_name)
        self.dialect = self.default_dialect
        self.marks = GrammarMarks(dark)
        self.enabled = False
        self.words = set(workspace.dictionary())
        self.ignored: set[tuple[str, int, int, str]] = set()  # this session's "Ignore"s
        self.newest = Generation()
        self.policy = AutosavePolicy(QUIET_MS, MAX_WAIT_MS)
        self.in_flight = self.resend = False
        self.last_report: Report | None = None
        self._placing: deque[tuple[int, str, int]] = deque()
        self._start_thread()
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self._send)
        self.place_timer = QTimer(self, singleShot=True, interval=0)
        self.place_timer.timeout.connect(self._place)
        editor.document().contentsChange.connect(self._edited)
        self.marks.applyRequested.connect(lambda a, b, s: editor.replace(editor.anchor_cursor(a, b), s))
        self.marks.ignoreRequested.connect(self.ignore)
        self.marks.wordAdded.connect(self.add_word)

    def _start_thread(self) -> None:
        self.thread = QThread(self)
        self.thread.setObjectName("grammar")
        self.worker = CheckWorker(self.newest)
        self.worker.moveToThread(self.thread)
        self._request.connect(self.worker.check)
        self.worker.reported.connect(self._reported)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(lambda message: self.statusChanged.emit(f"Checking failed: {message}"))
        # Emitted on the ending thread itself: a direct connection frees that thread's Checkers there.
        self.thread.finished.connect(release_thread, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self.worker.deleteLater)
        self.thread.start()

    # -- what the writer chooses -------------------------------------------------------------
    def set_enabled(self, on: bool) -> None:
        """Check as the writer types, or stop and take every squiggle away."""
        self.enabled = on
        self.editor.set_marks(self.marks if on else None)
        self._restart()
        if not on:
            self.statusChanged.emit(checking_label(None))

    def document_loaded(self, _doc_id: int) -> None:
        """A document was opened: its own dialect, a fresh check."""
        self.dialect = self.workspace.dialect() or self.default_dialect
        self._restart()

    def set_dialect(self, dialect: str) -> None:
        """Check the open document in `dialect` from now on, and remember it with the document."""
        self.workspace.set_dialect(dialect)
        self.dialect = dialect
        self._restart()

    def ignore(self, paragraph: str, lint: Lint) -> None:
        """Stop showing this lint at this place, for this session."""
        self.ignored.add(ignore_key(paragraph, lint))
        self.check_soon(0)

    def add_word(self, word: str) -> None:
        """Accept `word` everywhere, now and in later sessions."""
        self.words.add(self.workspace.add_word(word))
        self.check_soon(0)

    def set_dark(self, dark: bool) -> None:
        self.marks.set_dark(dark)

    # -- when to check -----------------------------------------------------------------------
    def _edited(self, _position: int, removed: int, added: int) -> None:
        if self.enabled and (removed or added):
            self.check_soon(self.policy.edited(time.monotonic() * 1000))

    def check_soon(self, delay_ms: int) -> None:
        if self.enabled:
            self.timer.start(delay_ms)

    def _restart(self) -> None:
        """A new generation: results of the old one are dropped and its squiggles cleared; check at once."""
        self.newest.value += 1
        self.last_report = None
        self._placing.clear()
        old, self.marks.lints = self.marks.lints, {}
        self._rehighlight_texts(old)
        self.policy.saved()
        self.check_soon(0)

    def _send(self) -> None:
        if not self.enabled or self.workspace.closed:
            return
        if self.in_flight:  # one check at a time: the next one starts when this one has finished
            self.resend = True
            return
        self.policy.saved()
        self.in_flight = True
        doc = self.editor.document()
        self._request.emit(CheckRequest(
            self.newest.value, doc.toRawText(), self.dialect, frozenset(self.words), frozenset(self.ignored),
            self.workspace.doc_format == "markdown", self.editor.textCursor().blockNumber()))

    def _finished(self, _generation: int) -> None:
        self.in_flight = False
        if self.resend:
            self.resend = False
            self._send()

    # -- results -----------------------------------------------------------------------------
    def _reported(self, generation: int, report: Report) -> None:
        if generation != self.newest.value or not self.enabled:
            return
        self.last_report = report
        self.marks.lints = report.lints
        self._placing.extend((index, text, report.blocks) for index, text in report.changed)
        self._place()
        self.statusChanged.emit(self.status())

    def settled(self) -> bool:
        """Whether the newest text is checked and painted: nothing waiting, running or left to re-highlight."""
        r = self.last_report
        return not self.timer.isActive() and not self.in_flight and not self._placing and r is not None and r.done

    def status(self) -> str:
        """What the status bar says about checking."""
        if not self.enabled:
            return checking_label(None)
        r = self.last_report
        if r is None:
            return checking_label(self.dialect, done=False)
        return checking_label(self.dialect, r.issues, r.skipped, r.too_long, r.done)

    def _place(self) -> None:
        """Re-highlight blocks whose lints changed, within PLACE_BUDGET_S; the rest on the next turn of the loop."""
        doc, deadline = self.editor.document(), time.perf_counter() + PLACE_BUDGET_S
        with QSignalBlocker(self.editor):  # a re-highlight is no edit: autosave and the counts must not see one
            while self._placing and time.perf_counter() < deadline:
                block = _block_now(doc, *self._placing.popleft())
                if block is not None:
                    self.editor.highlighter.rehighlightBlock(block)
        if self._placing:
            self.place_timer.start()

    def _rehighlight_texts(self, lints: dict[str, tuple[Lint, ...]]) -> None:
        """Re-highlight every block whose text has lints in `lints` (to take their squiggles away)."""
        if not lints:
            return
        with QSignalBlocker(self.editor):
            block = self.editor.document().begin()
            while block.isValid():
                if block.text() in lints:
                    self.editor.highlighter.rehighlightBlock(block)
                block = block.next()

    def close(self) -> None:
        """Stop the checking thread (it notices between two paragraphs)."""
        self.enabled = False
        self.newest.value += 1
        self.timer.stop()
        self.thread.quit()
        if not self.thread.wait(5000):
            # A Harper call cannot be interrupted, and a QThread destroyed while it runs aborts the whole process
            # (SIGABRT at exit, seen when the window closes seconds after opening on a loaded machine): wait it out.
            log.warning("the grammar check is still running; waiting for it to end before closing")
            self.thread.wait()


def _block_now(doc: QTextDocument, index: int, text: str, blocks: int) -> QTextBlock | None:
    """The block that held `text` at `index` when the document had `blocks` blocks, if it still holds it.

    Lines inserted or removed above it since moved it by the change in the block count; a block whose text
    changed since is not it (newest wins: its new text is checked next).
    """
    for number in (index, index + doc.blockCount() - blocks):
        block = doc.findBlockByNumber(number)
        if block.isValid() and block.text() == text:
            return block
    return None
