"""Proofreading scored against a known error: was it fixed, and was any other word of the writer's lost?

Texts are compared as words (single characters for Chinese and Japanese), casefolded, with punctuation and
spaces left out (app/textdiff.py's tokens), so a changed comma or capital is neither a fix nor a loss.
- The error span is where the original and its gold correction differ (one run: each item has one error).
- *Fixed*: the answer has the gold correction in place — the gold's changed words with one word of context on
  each side — and no longer has the error with its context.
- *Dropped*: words of the original outside the error span that the answer does not keep, found by aligning
  the original with the answer (a word deleted or replaced by another counts; an added word does not).
An empty answer shows the writer nothing to accept: it counts as the original unchanged (not fixed, nothing lost).
- *False alarm*: an error-free sentence whose answer changed any of its words.
- An item may list, beside its intended correction, equally correct ones (`also`): where the intended fix is a
  contraction whose full form is its only reading ("It's been" can only be "It has been"), the full form. The
  answer is judged against each and counts by the best.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from typing import TYPE_CHECKING

from app.textdiff import tokenize

if TYPE_CHECKING:
    from app.desk.proofread import Proofread
    from app.taskbench.data import Item
    from app.proofing import Plan, Scorer


@dataclass(frozen=True)
class Proof:
    """One answer to one item: whether the known error was fixed, and the original's words it lost."""

    fixed: bool
    dropped: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.fixed and not self.dropped


def words(text: str) -> list[str]:
    """The casefolded words (CJK characters) of a text, punctuation and spaces left out."""
    return [t.casefold() for t in tokenize(text) if t[0].isalnum()]


def error_span(original: list[str], corrected: list[str]) -> tuple[int, int, int, int]:
    """(i1, i2, j1, j2): original[i1:i2] became corrected[j1:j2], the one run where they differ."""
    runs = [op for op in _opcodes(original, corrected) if op[0] != "equal"]
    if not runs:
        raise ValueError("the corrected text has no change from the original")
    return runs[0][1], runs[-1][2], runs[0][3], runs[-1][4]


def score(original: str, corrected: str, answer: str) -> Proof:
    """How `answer` deals with the one error that `corrected` fixes in `original`."""
    orig, gold = words(original), words(corrected)
    out = words(answer) if answer.strip() else orig
    i1, i2, j1, j2 = error_span(orig, gold)
    fix = gold[max(0, j1 - 1) : j2 + 1]
    error = orig[max(0, i1 - 1) : i2 + 1]
    fixed = _contains(out, fix) and not _contains(out, error)
    return Proof(fixed, tuple(orig[k] for k in _lost(orig, out) if not i1 <= k < i2))


def score_item(item: "Item", answer: str) -> Proof:
    """`score` against the item's intended correction, or against an equally correct one (`also`) that it fixes."""
    proofs = [score(item.text, gold, answer) for gold in [item.expect["corrected"], *item.expect.get("also", ())]]
    return next((p for p in proofs if p.passed), proofs[0])


def false_alarm(original: str, answer: str) -> bool:
    """Whether the answer to an error-free sentence changed, added or lost a word of it."""
    return bool(answer.strip()) and words(answer) != words(original)


def _lost(orig: list[str], out: list[str]) -> list[int]:
    """Positions of `orig` that the alignment with `out` deletes or replaces."""
    return [k for op, a1, a2, _, _ in _opcodes(orig, out) if op in ("delete", "replace") for k in range(a1, a2)]


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    # autojunk off: common words would otherwise be junk, and short sentences align badly.
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _contains(seq: list[str], run: list[str]) -> bool:
    n = len(run)
    return any(seq[k : k + n] == run for k in range(len(seq) - n + 1))


class Proofreader:
    """The desk's own proofreading: Harper's fixes alone, the merge without scoring (app/desk/proofread.py), and the
    combination the desk shows when the model can score (app/proofing/: candidates judged by the model)."""

    def __init__(self, dialect: str = "American", scorer: "Scorer | None" = None) -> None:
        self.dialect = dialect
        self.scorer = scorer
        self.plans: dict[tuple[str, str], tuple["Plan", dict[str, float]]] = {}  # (text, answer) → what was scored

    def lints(self, text: str) -> list:
        from app.desk.proofread import harper_lints

        return harper_lints(text, self.dialect)

    def harper(self, text: str) -> str:
        """Harper alone: the merge with an answer that changes nothing, so only Harper's fixes are taken."""
        return self.merged(text, text)

    def merged(self, text: str, answer: str) -> str:
        """The merge without scoring: Harper's lints and the model's answer, the corrections taken."""
        from app.desk.proofread import merge

        return merge(text, self.lints(text), answer).corrected

    def combined(self, text: str, answer: str) -> str:
        """What the desk's proofread applies: the judged candidates when the model scores, else the merge."""
        if self.scorer is None:
            return self.merged(text, answer)
        return self.judged(text, answer).corrected

    def judged(self, text: str, answer: str, margins: dict | None = None) -> "Proofread":
        """The candidates of Harper, the word lists and the answer, scored once by the model and decided."""
        from app.proofing import MARGINS, plan

        key = (text, answer)
        if key not in self.plans:
            p = plan(text, self.lints(text), answer)
            texts = p.texts()
            self.plans[key] = (p, dict(zip(texts, self.scorer(texts))) if texts else {})  # type: ignore[misc]
        p, scores = self.plans[key]
        return p.decide(scores, margins or MARGINS)
