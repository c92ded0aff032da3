"""Cited answers from a corpus: retrieve passages, refuse when none is relevant, else ask the model and check its citations.

The flow has two halves around the one generation, so the desktop can run the model through its own worker:
`prepare` retrieves and decides (refused, or the `generate` request to send), `finish` checks the model's answer
against the numbered sources (app/corpus/citations.py). `ask` runs both with a `generate` function, as the
command line and the benchmark do.

Refusal: no generation at all unless one of the sources is relevant by one of three signals (`Relevance`):
- it holds at least MIN_COVERAGE of the question's content terms, each weighted by its IDF among the passages
  (app/corpus/passage_index.py's coverage: a word the corpus never has weighs most, so "How many moons has
  Jupiter?" holds little though "many" is found);
- it holds two neighbouring CJK characters of the question (a two-character word: 黄鹂, 江陵), which a question
  in modern Chinese about a classical text often shares with it when its single characters differ;
- its vector is at least MIN_COSINE from the question's (only when vectors ran: an English-only embedder's
  cosines of Chinese text are high whatever it says, and retrieve.py does not use them).
The thresholds were set on `scriptorium bench retrieval`'s questions and off-topic questions (both written for
it, so they are not a held-out test); the README gives what each threshold keeps and refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from app.corpus.citations import Checked, check
from app.corpus.passage_index import coverage
from app.corpus.retrieve import Found, Retrieval, retrieve
from app.corpus.store import TextFilter, fold_of
from app.corpus.vectors import QueryVector
from inference.tasks import ANSWER, number_sources

# Passages given to the model, best first. Measured on the embedded model (inference/tasks.py's answer examples):
# with 4, 73% of its citations named a correct passage and 28% of its quotes were verbatim; with 5, 73% and 16%.
SOURCES = 4
# Measured on the bench's sets with all-MiniLM-L6-v2: off-topic questions reached coverage 0.28 and cosine 0.26,
# on-topic ones answered only by one signal reached coverage 0.37 and cosine 0.33 (see the module docstring).
MIN_COVERAGE = 0.35
MIN_COSINE = 0.30
ANSWER_TOKENS = 120


@dataclass(frozen=True)
class Relevance:
    """The best the sources do on each signal of relevance (the module docstring gives them)."""

    coverage: float
    pair: bool
    cosine: float | None  # the best cosine among the sources; None when vectors did not run

    def relevant(self, min_coverage: float = MIN_COVERAGE, min_cosine: float = MIN_COSINE) -> bool:
        return self.coverage >= min_coverage or self.pair or (self.cosine is not None and self.cosine >= min_cosine)

    def describe(self) -> str:
        """The signals in words, for a refusal."""
        cosine = f", their meaning at most {self.cosine:.2f} from it (cosine)" if self.cosine is not None else ""
        return f"the best passage holds {self.coverage:.0%} of the question's words by weight{cosine}"


@dataclass(frozen=True)
class Prepared:
    """What was retrieved for a question, and either why nothing is asked of the model or the request to send."""

    question: str
    retrieval: Retrieval
    relevance: Relevance
    refused: bool
    reason: str = ""
    request: dict = field(default_factory=dict)  # the worker's `generate` parameters (empty when refused)

    @property
    def sources(self) -> list[Found]:
        """The numbered sources: source n is sources[n - 1]."""
        return [] if self.refused else self.retrieval.passages


@dataclass(frozen=True)
class Answer:
    """A finished answer: the model's text, what it cites and quotes as checked, and the sources it was given."""

    prepared: Prepared
    output: str = ""
    checked: Checked = field(default_factory=Checked)
    model: str = ""

    @property
    def refused(self) -> bool:
        return self.prepared.refused

    @property
    def sources(self) -> list[Found]:
        return self.prepared.sources

    def to_dict(self) -> dict[str, Any]:
        """Plain values for --json output: the question, refusal, the answer, its checks and the sources."""
        p = self.prepared
        return {"question": p.question, "refused": p.refused, "reason": p.reason, "relevance": asdict(p.relevance),
                "mode": p.retrieval.mode, "note": p.retrieval.note, "answer": self.output, "model": self.model,
                "citations": [asdict(c) for c in self.checked.citations], "quotes": [q.to_dict() for q in self.checked.quotes],
                "sources": [dict(s.to_dict(), number=n) for n, s in enumerate(self.sources, 1)]}


def prepare(db: Database, question: str, corpus: str | int | None = None, filters: TextFilter | None = None,
            query_vector: QueryVector | None = None, mode: str = "hybrid") -> Prepared:
    """Retrieve the sources of an answer and decide whether to ask the model at all."""
    found = retrieve(db, question, corpus, mode, SOURCES, filters, query_vector)
    relevance = relevance_of(db, question, found)
    if not relevance.relevant():
        reason = f"Nothing in the corpus answers this, so nothing was asked of the model: {relevance.describe()}."
        return Prepared(question, found, relevance, True, reason)
    text = number_sources([p.text for p in found.passages])
    request = {"task": ANSWER, "text": text, "instruction": question, "max_tokens": ANSWER_TOKENS, "temperature": 0.0}
    return Prepared(question, found, relevance, False, request=request)


def relevance_of(db: Database, question: str, found: Retrieval) -> Relevance:
    """How relevant the best of the retrieved passages is, by each signal."""
    covered = coverage(db, question, [p.passage_id for p in found.passages])
    cosines = [p.cosine for p in found.passages if p.cosine is not None]
    return Relevance(covered.share, covered.pair, max(cosines) if cosines else None)


def finish(db: Database, prepared: Prepared, output: str, model: str = "") -> Answer:
    """The answer with its citations and quotes checked against the sources it was given."""
    if prepared.refused:
        return Answer(prepared)
    return Answer(prepared, output, check(output, prepared.sources, fold_of(db)), model)


def ask(db: Database, question: str, generate: Callable[[dict], dict], corpus: str | int | None = None,
        filters: TextFilter | None = None, query_vector: QueryVector | None = None, mode: str = "hybrid") -> Answer:
    """Prepare, generate (`generate(request)` returns the worker's `generate` result), finish."""
    prepared = prepare(db, question, corpus, filters, query_vector, mode)
    if prepared.refused:
        return finish(db, prepared, "")
    result = generate(prepared.request)
    return finish(db, prepared, str(result.get("output", "")), str(result.get("model", "")))

