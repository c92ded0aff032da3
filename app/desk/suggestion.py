"""The life of one assistant suggestion: asked, streaming, ready or stopped, then accepted, retried or discarded.

Newest request wins: a suggestion follows exactly one request id, and tokens or results for any other id
(a request that was superseded by Retry, a new task or a document switch) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from app.desk.proofread import merge
from app.desk.review import Review
from app.grammar import Lint
from app.proofing import Plan, plan
from app.store.documents import session_key

# Tasks whose answer is a new version of the selected text: shown as tracked changes, accepted hunk by hunk.
TRACKED_TASKS = frozenset({"rewrite", "proofread"})
# Tasks that work on the whole document when nothing is selected (and then replace it).
WHOLE_TEXT_TASKS = frozenset({"rewrite", "proofread"})
# A continuation reads at most this much before the cursor: several times what an 8k-token context holds,
# so the worker still chooses the cut, but a megabyte document is not re-sent and re-tokenized per request.
CONTINUE_CHARS = 65_536


class Phase(Enum):
    IDLE = "idle"
    RUNNING = "running"
    READY = "ready"  # the stream ended normally
    STOPPED = "stopped"  # the writer stopped it; what arrived so far can still be accepted
    FAILED = "failed"


@dataclass(frozen=True)
class Ask:
    """What was asked and where the answer goes: replace [start, end) of the document, or insert at start."""

    task: str
    text: str  # what the model reads
    start: int
    end: int
    source: str  # the document's text in [start, end) when asked; checked again before applying
    instruction: str = ""
    language: str = "French"
    cursor: int | None = None
    doc_id: int | None = None
    notes: dict | None = None  # the story notes and the entries woken near the cursor (story_match.request_notes)

    def params(self) -> dict:
        """The generate request's parameters."""
        p = {"task": self.task, "text": self.text, "instruction": self.instruction, "language": self.language}
        if self.cursor is not None:
            p["cursor"] = self.cursor
        if self.doc_id is not None:
            p["doc_key"] = session_key(self.doc_id)
        if self.notes is not None:
            p["notes"] = self.notes
        return p


def make_ask(task: str, document: str, sel_start: int, sel_end: int, **options: object) -> Ask:
    """The request for `task` on a document with this selection (start == end: just a cursor)."""
    start, end = sorted((sel_start, sel_end))
    if start == end and task in WHOLE_TEXT_TASKS:
        start, end = 0, len(document)
    if start != end:
        return Ask(task, document[start:end], start, end, document[start:end], **options)  # type: ignore[arg-type]
    # A continuation reads what comes before the cursor; other tasks read the whole document.
    if task == "continue":
        return Ask(task, document[max(0, start - CONTINUE_CHARS):start], start, start, "", **options)  # type: ignore[arg-type]
    return Ask(task, document, start, start, "", **options)  # type: ignore[arg-type]


class Suggestion:
    """The assistant's current suggestion, driven by the request's events."""

    def __init__(self) -> None:
        self.phase = Phase.IDLE
        self.request_id: str | None = None
        self.ask: Ask | None = None
        self.text = ""
        self.result: dict = {}
        self.error = ""
        self.lints: list[Lint] | str | None = None  # a proofread's Harper lints (a message if Harper failed); None: not yet
        self.plan: Plan | None = None  # a proofread's candidates for the model to weigh (app/proofing/)
        self.scores: dict[str, float] | str | None = None  # their scores (why not, if scoring failed); None: not yet

    @property
    def running(self) -> bool:
        return self.phase is Phase.RUNNING

    @property
    def tracked(self) -> bool:
        """Whether the answer is reviewed as tracked changes against the selection."""
        return bool(self.ask and self.ask.task in TRACKED_TASKS and self.ask.source)

    def begin(self, request_id: str, ask: Ask) -> None:
        """Follow a new request from now on; events of the one before are dropped."""
        self.phase, self.request_id, self.ask = Phase.RUNNING, request_id, ask
        self.text, self.result, self.error, self.lints = "", {}, "", None
        self.plan, self.scores = None, None

    @property
    def proofread(self) -> bool:
        """Whether the answer is merged with Harper's fixes before it is reviewed (app/desk/proofread.py)."""
        return self.tracked and self.ask.task == "proofread"  # type: ignore[union-attr]

    def linted(self, request_id: str, lints: list[Lint] | str) -> bool:
        """Harper's lints of the proofread's text (or why it could not lint); False for a stale request."""
        if request_id != self.request_id or not self.proofread:
            return False
        self.lints = lints
        return True

    def to_score(self) -> list[str]:
        """The texts a proofread's candidates need scored, once its answer and Harper's lints are in (asked once;
        empty when there is nothing to ask)."""
        if not self.proofread or self.lints is None or self.plan is not None or self.phase not in (Phase.READY, Phase.STOPPED):
            return []
        self.plan = plan(self.ask.source, self._lints(), self.text)  # type: ignore[union-attr]
        texts = self.plan.texts()
        if not texts:
            self.scores = {}
        return texts

    def scored(self, request_id: str, scores: list[float] | str) -> bool:
        """The model's scores of `to_score()`'s texts (or why it could not score); False for a stale request."""
        if request_id != self.request_id or self.plan is None:
            return False
        self.scores = dict(zip(self.plan.texts(), scores)) if isinstance(scores, list) else scores
        return True

    @property
    def waiting(self) -> str:
        """What a finished proofread still waits for before its review: "Harper", "the model's scores", or ""."""
        if not self.proofread or not self.text.strip():
            return ""
        return "Harper" if self.lints is None else "the model's scores" if self.scores is None else ""

    def review(self) -> Review | None:
        """The tracked changes to show; None when there are none, or while a proofread still waits (see `waiting`).

        A proofread shows the candidates the model's scores support; when the model cannot score (a remote
        server), Harper's fixes and the model's answer merged without scoring."""
        if not self.tracked or not self.text.strip() or self.waiting:
            return None
        if not self.proofread:
            return Review(self.ask.source, self.text)  # type: ignore[union-attr]
        if isinstance(self.scores, dict) and self.plan is not None:
            return Review(self.ask.source, changes=self.plan.decide(self.scores).hunks)  # type: ignore[union-attr]
        return Review(self.ask.source, changes=merge(self.ask.source, self._lints(), self.text).hunks)  # type: ignore[union-attr]

    def _lints(self) -> list[Lint]:
        return self.lints if isinstance(self.lints, list) else []

    @property
    def notes(self) -> list[str]:
        """What the writer should know about the answer: the worker's notes (a loop cut, an echo), Harper failing."""
        harper = [f"Harper could not check the text ({self.lints})."] if isinstance(self.lints, str) else []
        unscored = [f"The model could not weigh the corrections ({self.scores}); they are merged unweighed."] if isinstance(self.scores, str) else []
        return [*self.result.get("notes", []), *harper, *unscored]

    def feed(self, request_id: str, text: str) -> bool:
        """Append streamed text; False (and nothing changes) for a request this suggestion no longer follows."""
        if request_id != self.request_id or not self.running:
            return False
        self.text += text
        return True

    def finish(self, request_id: str, result: dict | None = None, error_code: str = "", message: str = "") -> bool:
        """The request ended; False for a stale id."""
        if request_id != self.request_id or not self.running:
            return False
        if result is not None:
            self.phase, self.result = Phase.READY, result
            # The result's output is the cleaned answer (trimmed, stop strings removed): it wins over the stream.
            self.text = str(result.get("output", self.text))
        elif error_code == "cancelled":
            self.phase = Phase.STOPPED
        elif error_code == "stream_dropped" and self.text:  # a remote server hung up mid-answer: what came is kept
            self.phase, self.error = Phase.STOPPED, message
        else:
            self.phase, self.error = Phase.FAILED, message or error_code
        return True

    def stop(self) -> str | None:
        """The writer pressed Stop: the id to cancel; the text so far stays acceptable."""
        if not self.running:
            return None
        self.phase = Phase.STOPPED
        return self.request_id

    @property
    def can_accept(self) -> bool:
        return self.phase in (Phase.READY, Phase.STOPPED) and bool(self.text.strip()) and self.ask is not None

    def retry_ask(self) -> Ask | None:
        """The same request again, for Retry."""
        return replace(self.ask) if self.ask else None

    def discard(self) -> str | None:
        """Forget the suggestion; return a running request's id to cancel."""
        running = self.request_id if self.running else None
        self.__init__()  # type: ignore[misc]
        return running
