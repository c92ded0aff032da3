"""Proofreading by Harper and the model together: one set of tracked changes, each saying where it came from and why.

Harper's fixes (its first suggestion for each spelling or grammar lint) and the model's corrected text are merged
against the original. A change's `source` is "harper", "model" or "harper+model" (both made it); its `reason` is
Harper's message, or "model". Its `kind` is "correction" or "rewording":

- Harper's fixes are corrections.
- A model change that Harper made too is one correction, from both.
- Any other model change is a correction only when it is *small* — it deletes at most MAX_FIX_WORDS words and
  inserts at most MAX_FIX_WORDS (inference/degenerate's units: a CJK character is half a word; punctuation
  and spaces are free) — and *plausible* as a fix of an error: it lies inside a span Harper flagged, or it only
  changes punctuation, spacing or case, or what it removes and what it puts are alike (difflib ratio at least
  MIN_SIMILARITY, letters only: libary → library, their → they're, alot → a lot), or it is a known agreement
  pair (was → were), or it adds or drops one short word (a, the, to) or a doubled one.
- Everything else is a rewording: shown apart, rejected unless the writer accepts it. A model change that
  overlaps one of Harper's fixes and disagrees with it is a rewording too, so the writer sees both versions.

A rewording may overlap corrections; accepting it takes its version of that span instead of theirs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, replace
from typing import Iterable, Sequence

from app.grammar import Lint, checker_for_thread, has_words, is_english, split
from app.textdiff import changed_spans, tokenize
from inference.degenerate import units

CORRECTION, REWORDING = "correction", "rewording"
HARPER, MODEL, BOTH = "harper", "model", "harper+model"
FIXED_KINDS = ("spelling", "grammar")  # Harper's style lints are advice, not errors: never applied on its own
NEAR_RULE = "NearWords"  # lints of app/proofing/spelling.py beside Harper's: words for the judge to weigh, never merged
MAX_FIX_WORDS = 2.0
MIN_SIMILARITY = 0.6
SHORT_WORD = 3  # letters: a one-word insertion or deletion this short is an article, preposition or auxiliary
_AGREEMENT = frozenset(frozenset(pair) for pair in (
    ("is", "are"), ("was", "were"), ("has", "have"), ("does", "do"), ("this", "these"), ("that", "those"),
    ("a", "an"), ("much", "many"), ("less", "fewer"), ("its", "it's"), ("then", "than"), ("who", "whom"),
))
_NOT_LETTERS = re.compile(r"[\W_]+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)\s*$")


def clash(start: int, end: int, other_start: int, other_end: int) -> bool:
    """Whether two edits of [start, end) and [other_start, other_end) cannot both be made (two insertions at one place count)."""
    return (start < other_end and other_start < end) or start == other_start


@dataclass(frozen=True)
class ProofHunk:
    """One change to the original: `original[start:end]` becomes `replacement`."""

    start: int
    end: int
    replacement: str
    source: str  # HARPER | MODEL | BOTH
    reason: str  # Harper's message, or "model"
    kind: str  # CORRECTION | REWORDING

    def overlaps(self, other: ProofHunk) -> bool:
        """Whether the two cannot both be applied as they are (two insertions at one place count)."""
        return clash(self.start, self.end, other.start, other.end)

    def to_dict(self, original: str) -> dict:
        return asdict(self) | {"original": original[self.start : self.end]}


@dataclass(frozen=True)
class Proofread:
    """The merged changes against `original`, in order."""

    original: str
    hunks: tuple[ProofHunk, ...]

    @property
    def corrected(self) -> str:
        """The original with every correction applied and no rewording."""
        return apply(self.original, [h for h in self.hunks if h.kind == CORRECTION])


def apply(original: str, hunks: Iterable[ProofHunk]) -> str:
    """`original` with `hunks` applied; where they overlap, a rewording wins over corrections, then the earlier one."""
    chosen: list[ProofHunk] = []
    for h in sorted(hunks, key=lambda h: (h.kind != REWORDING, h.start, h.end)):
        if not any(h.overlaps(c) for c in chosen):
            chosen.append(h)
    out, pos = [], 0
    for h in sorted(chosen, key=lambda h: (h.start, h.end)):
        out += [original[pos : h.start], h.replacement]
        pos = h.end
    return "".join(out) + original[pos:]


def merge(original: str, lints: Sequence[Lint], model_text: str) -> Proofread:
    """Harper's fixes of `original` and the model's corrected text of it, as one set of tracked changes."""
    harper = _harper_hunks(lints)
    merged: list[ProofHunk] = []
    for start, end, new in model_changes(original, model_text):
        change = ProofHunk(start, end, new, MODEL, "model", CORRECTION)
        fixes = [h for h in harper if h.overlaps(change)]
        agreed = _agreed(original, change, {h: harper[h] for h in fixes})
        if agreed is not None:
            harper = {h: lint for h, lint in harper.items() if h not in fixes}
            merged.append(agreed)
        else:
            merged.append(_classified(original, change, lints, rewording=bool(fixes)))
    return Proofread(original, tuple(sorted([*harper, *merged], key=lambda h: (h.start, h.end, h.kind))))


def _harper_hunks(lints: Sequence[Lint]) -> dict[ProofHunk, Lint]:
    """Harper's first suggestion for each spelling and grammar lint (skipping one that overlaps an earlier fix),
    with the lint it came from."""
    hunks: dict[ProofHunk, Lint] = {}
    for lint in sorted(lints, key=lambda x: (x.start, x.end)):
        if lint.kind in FIXED_KINDS and lint.suggestions and lint.rule != NEAR_RULE:
            hunk = ProofHunk(lint.start, lint.end, lint.suggestions[0], HARPER, lint.message, CORRECTION)
            if not any(hunk.overlaps(h) for h in hunks):
                hunks[hunk] = lint
    return hunks


def model_changes(original: str, model_text: str) -> list[tuple[int, int, str]]:
    """The model's changes as (start, end, replacement) spans of the original; none when it gave nothing.

    The model's answer comes trimmed: the original's own leading and trailing spaces and newlines are kept.
    """
    if not model_text.strip():
        return []
    body = original.strip()
    lead = original[: len(original) - len(original.lstrip())]
    aligned = lead + model_text.strip() + original[len(lead) + len(body) :]
    return [part for start, end, new in changed_spans(original, aligned) for part in _peeled(original, start, end, new)]


def _peeled(original: str, start: int, end: int, new: str) -> list[tuple[int, int, str]]:
    """A change split where its first or last whole word only fixes the original's ("weather" → "whether it rains":
    the fix, then the words added), so a fix is not lost inside a rewording; other changes as they are."""
    old_tokens, new_tokens = tokenize(original[start:end]), tokenize(new)
    if len(old_tokens) + len(new_tokens) <= 2 or not old_tokens or not new_tokens:
        return [(start, end, new)]
    a, b = old_tokens[0], new_tokens[0]
    if _whole(old_tokens, 0) and _whole(new_tokens, 0) and _plausible_fix(original, start, start + len(a), b):
        return [(start, start + len(a), b), *_peeled(original, start + len(a), end, new[len(b) :])]
    a, b = old_tokens[-1], new_tokens[-1]
    # A last word is peeled only with words before it: an insertion before the fix would start where the fix does.
    if len(old_tokens) > 1 and _whole(old_tokens, -1) and _whole(new_tokens, -1) and _plausible_fix(original, end - len(a), end, b):
        return [*_peeled(original, start, end - len(a), new[: -len(b)]), (end - len(a), end, b)]
    return [(start, end, new)]


def _whole(tokens: list[str], i: int) -> bool:
    """Whether tokens[i] (0 or -1) is a whole word: letters, with a space (or nothing) on its inner side."""
    inner = tokens[1] if i == 0 and len(tokens) > 1 else tokens[-2] if i == -1 and len(tokens) > 1 else " "
    return bool(_letters(tokens[i])) and inner.isspace()


def _agreed(original: str, change: ProofHunk, fixes: dict[ProofHunk, Lint]) -> ProofHunk | None:
    """One correction from both when the model's change and Harper's overlapping fixes give the same text, or the
    model chose another of Harper's suggestions for the same span; None when they disagree (or there are none)."""
    if not fixes:
        return None
    start, end = min(h.start for h in [*fixes, change]), max(h.end for h in [*fixes, change])
    ours = _region(original, [change], start, end)
    same_span = [lint for lint in fixes.values() if (lint.start, lint.end) == (change.start, change.end)]
    if ours == _region(original, fixes, start, end) or (len(fixes) == 1 and same_span and ours in same_span[0].suggestions):
        return ProofHunk(start, end, ours, BOTH, "; ".join(h.reason for h in fixes), CORRECTION)
    return None


def _region(original: str, hunks: Iterable[ProofHunk], start: int, end: int) -> str:
    """original[start:end] with `hunks`, which all lie inside it, applied."""
    return apply(original[start:end], [replace(h, start=h.start - start, end=h.end - start) for h in hunks])


def _classified(original: str, change: ProofHunk, lints: Sequence[Lint], rewording: bool) -> ProofHunk:
    """The model's own change, a correction or a rewording (see the module's rules); a flagged span lends its reason."""
    old = original[change.start : change.end]
    flag = next((x for x in lints if x.start <= change.start and change.end <= x.end and x.start < x.end), None)
    if rewording or not _small(old, change.replacement):
        return ProofHunk(change.start, change.end, change.replacement, MODEL, "model", REWORDING)
    if flag is not None:
        return ProofHunk(change.start, change.end, change.replacement, MODEL, flag.message, CORRECTION)
    kind = CORRECTION if _plausible_fix(original, change.start, change.end, change.replacement) else REWORDING
    return ProofHunk(change.start, change.end, change.replacement, MODEL, "model", kind)


def _small(old: str, new: str) -> bool:
    return _words(old) <= MAX_FIX_WORDS and _words(new) <= MAX_FIX_WORDS


def _words(text: str) -> float:
    return sum(u.weight for u in units(text))


def _plausible_fix(original: str, start: int, end: int, new: str) -> bool:
    """Whether replacing original[start:end] by `new` looks like fixing a typo, an agreement or a missing word."""
    old = original[start:end]
    a, b = _letters(old), _letters(new)
    if a == b:  # punctuation, spacing or case only; but a sentence's first letter is never made small
        return not (a and _opens_sentence(original, start) and old.lstrip()[:1].isupper() and new.lstrip()[:1].islower())
    if frozenset((a, b)) in _AGREEMENT:
        return True
    if a and b:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= MIN_SIMILARITY
    if not _apart(original, start, end, old or new):  # "She" → "She's" adds letters to a word, not a word
        return False
    return len(a or b) <= SHORT_WORD or (not b and _doubled(original, start, end))


def _opens_sentence(original: str, start: int) -> bool:
    return _SENTENCE_START.search(original[:start]) is not None


def _apart(original: str, start: int, end: int, words: str) -> bool:
    """Whether `words`, put or taken out at [start, end), stand apart from the letters around them."""
    before = original[start - 1 : start] if start else " "
    after = original[end : end + 1] or " "
    return (before.isspace() or words[:1].isspace() or not before.isalnum()) and (after.isspace() or words[-1:].isspace() or not after.isalnum())


def _letters(text: str) -> str:
    return _NOT_LETTERS.sub("", text).casefold()


def _doubled(original: str, start: int, end: int) -> bool:
    """Whether original[start:end] is a word said twice: the same word right before or after it."""
    word = _letters(original[start:end])
    before = [u.key for u in units(original[:start])][-1:]
    after = [u.key for u in units(original[end:])][:1]
    return [word] == before or [word] == after


def harper_lints(text: str, dialect: str, words: Iterable[str] = ()) -> list[Lint]:
    """Harper's lints of `text` line by line, English lines only, with offsets into `text` (this thread's Checker),
    and after each flagged word the known words one typo away (app/proofing/spelling.py, rule NEAR_RULE)."""
    from app.proofing.spelling import near_lints  # app/proofing imports this module

    checker = checker_for_thread(dialect, words)
    lints: list[Lint] = []
    for paragraph in split(text):
        if has_words(paragraph.text) and is_english(paragraph.text):
            found = checker.lint(paragraph.text)
            lints += [x.shifted(paragraph.start) for x in [*found, *near_lints(paragraph.text, found, checker)]]
    return sorted(lints, key=lambda x: (x.start, x.end))
