"""The assistant's flow in the window: ask the worker, stream into the preview, review, accept into the editor."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtGui import QTextCursor

from app.desk.proofread import harper_lints
from app.desk.suggestion import Ask, Phase, Suggestion, make_ask
from app.desk.workspace import Workspace
from app.grammar import Lint, dialect_for_locale
from app.ui.assistant_panel import AssistantPanel
from app.ui.editor import Editor, selected_text
from app.ui.jobs import run_job
from app.worker_client import QtWorkerClient
from inference.protocol import Done, Error, ErrorCode

log = logging.getLogger(__name__)
CHANNEL = "suggestion"


class AssistantController(QObject):
    """Drives one Suggestion from the panel's buttons and the worker's events."""

    generationDone = Signal(dict)  # the `done` result, for the status bar

    def __init__(self, worker: QtWorkerClient, panel: AssistantPanel, editor: Editor, workspace: Workspace, loaded: SignalInstance) -> None:
        super().__init__(panel)
        self.worker, self.panel, self.editor, self.workspace = worker, panel, editor, workspace
        self.suggestion = Suggestion()
        self.anchor: QTextCursor | None = None
        worker.token.connect(self._token)
        worker.finished.connect(self._finished)
        panel.taskRequested.connect(self.run)
        panel.stopRequested.connect(self.stop)
        panel.acceptRequested.connect(self.accept)
        panel.retryRequested.connect(self.retry)
        panel.discardRequested.connect(self.discard)
        loaded.connect(lambda _: self.discard())  # a suggestion belongs to the document it was asked in

    def run(self, task: str) -> str | None:
        """Ask for `task` on the selection (or at the cursor); a running suggestion is superseded."""
        start, end = self.editor.selection()
        text = self.editor.text()
        notes = self.workspace.story_request(text, max(start, end))  # the notes, and the entries woken before the cursor
        ask = make_ask(task, text, start, end, doc_id=self.workspace.doc_id, notes=notes, **self.panel.options(task))
        if ask.task != "continue" and not ask.text.strip() and task not in ("outline", "brainstorm", "instruct"):
            self.panel.status.setText("There is no text to work on: write or select some first.")
            return None
        return self._send(ask)

    def _send(self, ask: Ask) -> str:
        # The worker client's channel cancels a running suggestion's request: newest request wins.
        request_id = self.worker.request("generate", channel=CHANNEL, **ask.params())
        self.suggestion.begin(request_id, ask)
        self.anchor = self.editor.anchor_cursor(ask.start, ask.end)
        self.panel.start_stream(f"{ask.task.title()}…")
        self.panel.set_phase(Phase.RUNNING)
        if self.suggestion.proofread:
            self._lint(request_id, ask.source)
        return request_id

    def _lint(self, request_id: str, text: str) -> None:
        """Harper reads a proofread's text on a pool thread while the model writes; the review waits for both."""
        dialect = self.workspace.dialect() or dialect_for_locale()
        run_job(harper_lints, text, dialect, self.workspace.dictionary(),
                on_done=lambda lints: self._linted(request_id, lints), on_failed=lambda message: self._linted(request_id, message))

    def _linted(self, request_id: str, lints: list[Lint] | str) -> None:
        if self.suggestion.linted(request_id, lints) and self.suggestion.phase in (Phase.READY, Phase.STOPPED):
            self._show_outcome()

    def _scored(self, request_id: str, event: Done | Error) -> None:
        scores = event.result.get("scores", []) if isinstance(event, Done) else event.message
        if self.suggestion.scored(request_id, scores) and self.suggestion.phase in (Phase.READY, Phase.STOPPED):
            self._show_outcome()

    def _token(self, request_id: str, text: str) -> None:
        if self.suggestion.feed(request_id, text):
            self.panel.append(text)

    def _finished(self, request_id: str, event: Done | Error) -> None:
        ask = self.suggestion.ask if request_id == self.suggestion.request_id else None
        if isinstance(event, Done):
            ended = self.suggestion.finish(request_id, event.result)
        else:
            ended = self.suggestion.finish(request_id, None, event.code, event.message)
        if ended and isinstance(event, Done):
            self.generationDone.emit(event.result)
        if ask is not None:
            self._log(ask, event)
        if ended:
            self._show_outcome()

    def _show_outcome(self) -> None:
        s = self.suggestion
        if s.phase is Phase.FAILED:
            self.panel.set_phase(s.phase, False, s.error)
            return
        self.panel.set_text(s.text)
        if texts := s.to_score():  # the proofread's candidates, weighed by the model before the review
            request_id = s.request_id
            self.worker.request("score", on_done=lambda event: self._scored(request_id, event), texts=texts)
        review = s.review()
        if review is not None:
            self.panel.show_review(review)
        elif s.waiting:
            self.panel.set_phase(s.phase, False, "Checking with Harper…" if s.waiting == "Harper" else "Weighing the corrections…")
            return
        note = " ".join([*s.notes, s.error or ("Stopped." if s.phase is Phase.STOPPED else "")]).strip()
        if s.can_accept:
            label = "Review the changes, then Accept." if s.tracked else "Accept to insert it, Retry for another, or Discard."
        else:
            label = "" if s.notes else "Nothing came back; try Retry."
        self.panel.set_phase(s.phase, s.can_accept, f"{note} {label}".strip())

    def _log(self, ask: Ask, event: Done | Error) -> None:
        """Every generation goes to the store's log after it ends, as llm does."""
        result = event.result if isinstance(event, Done) else {}
        status = "ok" if isinstance(event, Done) else ("cancelled" if event.code == ErrorCode.CANCELLED else "error")
        try:
            self.workspace.log_generation(
                task=ask.task, prompt=str(result.get("prompt", "")),
                output=str(result.get("output", self.suggestion.text)), model=str(result.get("model", "")),
                params=ask.params() | {"text": None}, stats=result.get("stats") or {}, status=status,
                document_id=ask.doc_id,
            )
        except Exception:  # the log is a record, never a reason to lose the suggestion
            log.exception("could not log a generation")

    def stop(self) -> None:
        """Stop the stream; what arrived stays in the preview to accept. A stuck worker is restarted."""
        request_id = self.suggestion.stop()
        if request_id is not None:
            self.worker.cancel(request_id, escalate=True)
            self._show_outcome()

    def retry(self) -> None:
        ask = self.suggestion.retry_ask()
        if ask is not None:
            self._send(ask)

    def discard(self) -> None:
        request_id = self.suggestion.discard()
        if request_id is not None:
            self.worker.cancel(request_id, escalate=True)
        self.anchor = None
        self.panel.clear()
        self.panel.set_phase(Phase.IDLE, message="Select text or place the cursor, then choose a task.")

    def accept(self) -> bool:
        """Put the suggestion into the editor as one undo step; refuse if the text it came from was changed."""
        s = self.suggestion
        if not s.can_accept or self.anchor is None or s.ask is None or s.ask.doc_id != self.workspace.doc_id:
            return False
        if selected_text(self.anchor) != s.ask.source:
            self.panel.status.setText("The text this suggestion was made from has changed since; Retry to ask again.")
            return False
        review = self.panel.review
        text = review.result() if review is not None else s.text
        if not self.anchor.hasSelection():
            self.anchor.setPosition(self.anchor.position())  # insert at the cursor as it is now
        self.editor.replace(self.anchor, text)
        self.editor.setFocus()
        self.discard()
        self.panel.status.setText("Accepted. Undo (Ctrl+Z) takes it back in one step.")
        return True
