"""Concordance meets the model: the sentences of chosen concordance hits in the manuscript, each sent to a writing
task, each answer reviewed as tracked changes (app/desk/review.py) before it lands in its document.

The hits are concordance lines of the Manuscript corpus (app/corpus/search.py mirrors each document as a text
whose source is "doc:N"); a hit's sentence is found with the passage cutter's sentence boundaries
(app/corpus/passages.sentences), and two hits in one sentence make one request. Landing: `apply` puts every
accepted sentence of one document into a body in one pass, from the end backwards so earlier offsets hold; a
sentence whose text has changed since it was read is left alone and reported stale, never overwritten. The
window applies the open document's sentences as ONE undo step (one edit block for all of them), and any other
document's as one new revision.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from app.corpus.passages import sentences
from app.desk.review import Review

TASKS = ("instruct", "rewrite", "proofread")  # tasks whose answer is a new version of the sentence
REVISION_REASON = "concordance rewrite"  # a revision made by landing sentences in a document not in the editor
_DOC_SOURCE = "doc:"  # app.corpus.search.document_source's prefix


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document holding one or more hits: [start, end) of the document's body as it was read."""

    doc_id: int
    title: str
    start: int
    end: int
    text: str
    hits: tuple[tuple[int, int], ...] = ()  # the hits' [start, end) in the body


def hit_sentences(db: Database, hits: Iterable[tuple[int, int, int]]) -> list[Sentence]:
    """The sentences holding hits given as (text id, start, end) of Manuscript texts, in document then text order.

    Hits in texts that are not documents (another corpus) are left out: only the writer's own text is rewritten.
    """
    by_text: dict[int, list[tuple[int, int]]] = {}
    for text_id, start, end in hits:
        by_text.setdefault(text_id, []).append((start, end))
    out = []
    for text_id, spans in sorted(by_text.items()):
        row = db.execute("SELECT source_path, title, body FROM texts WHERE id = ?", [text_id]).fetchone()
        if row is None or not row[0].startswith(_DOC_SOURCE):
            continue
        out += _sentences_of(int(row[0][len(_DOC_SOURCE):]), row[1], row[2], sorted(spans))
    return out


def _sentences_of(doc_id: int, title: str, body: str, spans: list[tuple[int, int]]) -> list[Sentence]:
    bounds = list(sentences(body))
    starts = [s for s, _ in bounds]
    found: dict[int, list[tuple[int, int]]] = {}
    for span in spans:
        i = bisect.bisect_right(starts, span[0]) - 1
        if i >= 0 and span[0] < bounds[i][1]:
            found.setdefault(i, []).append(span)
    return [Sentence(doc_id, title, bounds[i][0], bounds[i][1], body[bounds[i][0] : bounds[i][1]], tuple(found[i]))
            for i in sorted(found)]


def request(sentence: Sentence, task: str, instruction: str) -> dict:
    """The `generate` parameters that rewrite one sentence."""
    if task not in TASKS:
        raise ValueError(f"A sentence is rewritten by one of {', '.join(TASKS)}, not {task!r}.")
    return {"task": task, "text": sentence.text, "instruction": "" if task == "proofread" else instruction}


@dataclass
class Item:
    """One sentence of a run: its request, the model's answer as tracked changes, and the writer's decision."""

    sentence: Sentence
    request_id: str | None = None
    output: str | None = None  # None while the model writes
    error: str = ""
    review: Review | None = None
    accepted: bool | None = None  # None: not decided (left out when applying)

    @property
    def changed(self) -> bool:
        return self.review is not None and bool(self.review.changes)


@dataclass(frozen=True)
class Applied:
    """A body with accepted sentences put in, which were applied, and which had changed since they were read."""

    text: str
    applied: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)


class SentenceRewrites:
    """One run over chosen sentences: one request each, followed by request id (a stale answer is dropped)."""

    def __init__(self, sentences: Sequence[Sentence], task: str, instruction: str = "") -> None:
        self.items = [Item(s) for s in sentences]
        self.task, self.instruction = task, instruction

    def requests(self) -> list[dict]:
        """The `generate` parameters of each sentence, in order."""
        return [request(item.sentence, self.task, self.instruction) for item in self.items]

    def begin(self, index: int, request_id: str) -> None:
        """Follow the request sent for sentence `index`."""
        self.items[index].request_id = request_id

    def finished(self, request_id: str, output: str | None, error: str = "") -> int | None:
        """Record an answer (or why there is none); the sentence's index, or None for a request of no sentence here."""
        index = next((i for i, item in enumerate(self.items) if item.request_id == request_id), None)
        if index is None:
            return None
        item = self.items[index]
        item.error = error
        item.output = "" if error else (output or "").strip()
        item.review = Review(item.sentence.text, item.output) if item.output else None
        return index

    @property
    def pending(self) -> int:
        """Sentences still waiting for the model."""
        return sum(item.output is None and not item.error for item in self.items)

    def decide(self, index: int, accepted: bool) -> None:
        """Accept or leave out one sentence's rewrite (its own hunks are decided on its review)."""
        if not self.items[index].changed:
            raise ValueError(f"Sentence {index + 1} has no change to accept.")
        self.items[index].accepted = accepted

    def documents(self) -> list[int]:
        """The documents with an accepted sentence."""
        return sorted({item.sentence.doc_id for item in self.items if item.accepted})

    def apply(self, doc_id: int, body: str) -> Applied:
        """`body` (the document's text now) with its accepted sentences replaced by their reviews' results."""
        chosen = [(i, item) for i, item in enumerate(self.items) if item.accepted and item.sentence.doc_id == doc_id]
        applied, stale = [], []
        for i, item in sorted(chosen, key=lambda pair: -pair[1].sentence.start):
            s = item.sentence
            if body[s.start : s.end] != s.text:
                stale.append(i)
                continue
            body = body[: s.start] + item.review.result() + body[s.end :]  # type: ignore[union-attr]
            applied.append(i)
        return Applied(body, sorted(applied), sorted(stale))

    def replacements(self, doc_id: int, body: str) -> tuple[list[tuple[int, int, str]], list[int]]:
        """The (start, end, new text) edits of a document's accepted sentences, last first, and the stale ones:
        what an editor applies in one edit block (one undo step)."""
        applied = self.apply(doc_id, body)
        edits = [(self.items[i].sentence.start, self.items[i].sentence.end, self.items[i].review.result())  # type: ignore[union-attr]
                 for i in applied.applied]
        return sorted(edits, key=lambda e: -e[0]), applied.stale
