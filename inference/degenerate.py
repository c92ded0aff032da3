"""Degenerate answers caught as they stream: a few-shot scaffold's labels, a model repeating itself, an echo of its input.

A small base model fails in three ways a writer should never have to read: it runs on into its prompt's next
example ("Summary: ...", "Original: ..."), it loops (the same phrase or sentence again and again, in any
script), and it answers by copying the text it was given. The detectors work on *units*: words of scripts
written with spaces, casefolded, and single Chinese and Japanese characters (inference/scripts.UNSPACED).
Punctuation, spaces and bare numbers are no units, so a numbered list that loops still loops. A word weighs 1
and a CJK character 1/2, so "4 words" and "8 CJK characters" are the same size.

`AnswerGuard` watches one answer as it grows; the engine shows only what the guard calls safe, so a label, the
repeated tail of a loop or an echo never reaches the writer, not even for a moment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from inference.scripts import UNSPACED

REPETITION_NOTE = "The model started repeating itself; stopped."
ECHO_NOTE = "The model only repeated the text; try again or use a larger model."

# A loop: the same units LOOP_COPIES times in a row, weighing LOOP_COPIES × MIN_LOOP_WEIGHT in all (4 words or 8 CJK
# characters three times over, or one word twelve times), or a sentence of at least MIN_SENTENCE_WEIGHT twice in a row. Periods are looked for up to MAX_PERIOD units (a long sentence).
MIN_LOOP_WEIGHT = 4.0
LOOP_COPIES = 3
MIN_SENTENCE_WEIGHT = 3.0
MAX_PERIOD = 80
# An echo ("copy" mode): at least ECHO_SHARE of the answer's weight lies in runs of ECHO_GRAM units found in the
# source, and the answer weighs at least MIN_ECHO_WEIGHT (or equals the source); a source lighter than that is too
# short to tell a copy of it from an answer. The answer is held back while it may be an echo: until more than
# ECHO_SLACK of its weight (and more than 1 - ECHO_SHARE of it) is in units no copied run can cover any more,
# which for an answer of its own is about its first five words.
ECHO_GRAM = 4
ECHO_SHARE = 0.8
MIN_ECHO_WEIGHT = 4.0
ECHO_SLACK = 1.0
ECHO_MODES = ("", "copy", "same")  # never checked; mostly a copy of the source; identical to it
MIN_PARTIAL_LABEL = 3  # a label cut short at the end of an answer ("\nOrig") is dropped from this many characters

_UNIT = re.compile(rf"[{UNSPACED}]|[^\W_{UNSPACED}]+")
_CJK = re.compile(rf"[{UNSPACED}]")
_SENTENCE_END = re.compile(r"[.!?。！？\n]")


@dataclass(frozen=True)
class Unit:
    """One word or CJK character of a text: where it is, its casefolded form, its weight, whether a sentence opens there."""

    start: int
    end: int
    key: str
    weight: float
    opens: bool


def units(text: str) -> list[Unit]:
    """The units of a whole text."""
    reader = _UnitReader()
    return reader.read(text, final=True)


class _UnitReader:
    """Reads the units of a growing text; a word is complete once something follows it (a CJK character at once)."""

    def __init__(self, pos: int = 0) -> None:
        self.pos = pos  # where the next unit is looked for: the end of the last complete one
        self.count = 0

    def read(self, text: str, final: bool) -> list[Unit]:
        found = []
        for m in _UNIT.finditer(text, self.pos):
            if m.end() == len(text) and not final and not _CJK.fullmatch(m.group()):
                break  # the word may still grow
            key = m.group().casefold()
            opens = self.count == 0 or _SENTENCE_END.search(text, self.pos, m.start()) is not None
            self.pos = m.end()
            if key.isdigit():
                continue
            found.append(Unit(m.start(), m.end(), key, 0.5 if _CJK.fullmatch(key) else 1.0, opens))
            self.count += 1
        return found


def _without_partial_label(text: str, tags: tuple[str, ...]) -> str:
    head, sep, last = text.rstrip().rpartition("\n")
    last = last.strip()
    if sep and len(last) >= MIN_PARTIAL_LABEL and any(tag.startswith(last) for tag in tags):
        return head
    return text


@dataclass(frozen=True)
class Check:
    """What the guard makes of an answer so far: the text (a leading label removed), how much of it may be shown,
    and, when the answer went wrong, where to end it and why ("repetition" keeps text[:cut]; "echo" keeps nothing)."""

    text: str
    safe: int
    cut: int | None = None
    reason: str = ""


class AnswerGuard:
    """Watches one answer: strips a leading scaffold label, finds a loop, holds back what may be an echo of `source`.

    `start` is where the model's own text begins (after an output prefix such as a list's "1."). A label, a loop
    or a copy that the writer's own text (`source`) has is the writer's, not the model's: it is left alone.
    """

    def __init__(self, labels: tuple[str, ...] = (), source: str = "", echo: str = "", start: int = 0) -> None:
        if echo not in ECHO_MODES:
            raise ValueError(f"unknown echo mode {echo!r}")
        self.tags = tuple(f"{label}:" for label in labels if f"{label}:" not in source)
        self.start = start
        self.labelled = not self.tags  # whether the answer's opening has been checked for a label
        self.reader = _UnitReader(start)
        self.loops = _LoopFinder(_joined([u.key for u in units(source)]))
        self.echo = _EchoWatch(source, echo)

    def check(self, text: str, final: bool = False) -> Check:
        """Look at the answer as it is now (`final`: it has ended)."""
        if not self.labelled:
            text = self._strip_leading_label(text, final)
            if not self.labelled:
                return Check(text, self.start)
        if final:
            text = text[: self.start] + _without_partial_label(text[self.start :], self.tags)
        for unit in self.reader.read(text, final):
            cut = self.loops.add(unit)
            if cut is not None:
                return self._cut(text, cut)
            self.echo.add(unit)
        cut = self.loops.finish() if final else None
        if cut is not None:
            return self._cut(text, cut)
        if final and self.echo.verdict():
            return Check(text, self.start, self.start, "echo")
        if self.echo.holding and not final:
            return Check(text, self.start)
        safe = len(text) if final else min(self._settled(text), self.loops.held_from(len(text)))
        return Check(text, safe)

    def _cut(self, text: str, cut: int) -> Check:
        """A loop found: keep what came before it, without the quote or bracket that opened its next round —
        unless what came before only copies the source, which makes the answer an echo."""
        if self.echo.verdict():
            return Check(text, self.start, self.start, "echo")
        while cut > self.start and (text[cut - 1].isspace() or unicodedata.category(text[cut - 1]) in ("Ps", "Pi")):
            cut -= 1
        return Check(text, cut, cut, "repetition")

    def _settled(self, text: str) -> int:
        """How far no repeat can begin: the whole text when its unfinished last word cannot complete any recent unit
        (a repeat's first word repeats one), else the end of its last complete unit."""
        last = _UNIT.search(text, self.reader.pos)
        if last is not None and last.end() == len(text) and not self.loops.may_repeat(last.group().casefold()):
            return len(text)
        return self.reader.pos

    def _strip_leading_label(self, text: str, final: bool) -> str:
        body = text[self.start :].lstrip()
        for tag in self.tags:
            if body.startswith(tag):
                self.labelled = True
                return text[: self.start] + body[len(tag) :]
        # Still undecided while what came could be the start of a label.
        self.labelled = final or not any(tag.startswith(body) for tag in self.tags)
        return text


def _joined(keys: list[str]) -> str:
    """Unit keys as one string a run of keys can be searched in (each key framed by spaces)."""
    return " " + " ".join(keys) + " "


@dataclass
class _LoopFinder:
    """Finds the tail of the answer repeating itself, unit by unit; `add` returns where to cut once it does."""

    source: str  # the writer's text as _joined keys: a repetition it has is not a loop
    keys: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # each unit's start in the text
    ends: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=lambda: [0.0])  # prefix sums
    runs: list[int] = field(default_factory=lambda: [0] * (MAX_PERIOD + 1))  # runs[p]: trailing units equal to the unit p before
    excused: set[int] = field(default_factory=set)  # periods whose current run the source has
    sentences: list[int] = field(default_factory=list)  # the unit index where each sentence opens

    def add(self, unit: Unit) -> int | None:
        i = len(self.keys)
        cut = self._repeated_sentence(i) if unit.opens else None
        if unit.opens:
            self.sentences.append(i)
        self.keys.append(unit.key)
        self.starts.append(unit.start)
        self.ends.append(unit.end)
        self.weights.append(self.weights[-1] + unit.weight)
        for p in range(1, min(MAX_PERIOD, i) + 1):
            self.runs[p] = self.runs[p] + 1 if unit.key == self.keys[i - p] else 0
            if not self.runs[p]:
                self.excused.discard(p)
        return cut if cut is not None else self._repeated_block(i)

    def finish(self) -> int | None:
        """At the end of the answer: whether its last sentence repeats the one before."""
        return self._repeated_sentence(len(self.keys))

    def may_repeat(self, partial: str) -> bool:
        """Whether a word still being written could become one of the last MAX_PERIOD units (and so start a repeat)."""
        return any(key.startswith(partial) for key in self.keys[-MAX_PERIOD:])

    def held_from(self, default: int) -> int:
        """Where a repeat may be forming: just after the unit before the longest current run (held until it breaks)."""
        first = len(self.keys) - max(self.runs)
        return default if first == len(self.keys) else self.ends[first - 1]

    def _repeated_sentence(self, end: int) -> int | None:
        """The previous sentence, [b, end), said twice in a row: cut where the second one opens."""
        if len(self.sentences) < 2:
            return None
        a, b = self.sentences[-2], self.sentences[-1]
        if end - b > MAX_PERIOD or end - b != b - a or self.keys[a:b] != self.keys[b:end] or self.weights[end] - self.weights[b] < MIN_SENTENCE_WEIGHT:
            return None
        return None if _joined(self.keys[a:end]) in self.source else self.starts[b]

    def _repeated_block(self, i: int) -> int | None:
        """The units up to i repeating a period LOOP_COPIES times or more, weighing LOOP_COPIES blocks of
        MIN_LOOP_WEIGHT in all: cut after the period's first occurrence."""
        for p in range(1, min(MAX_PERIOD, i) + 1):
            run = self.runs[p]
            if run < (LOOP_COPIES - 1) * p or p in self.excused:
                continue
            first = i + 1 - (run + p)
            if self.weights[i + 1] - self.weights[first] < LOOP_COPIES * MIN_LOOP_WEIGHT:
                continue
            if _joined(self.keys[first : i + 1]) in self.source:
                self.excused.add(p)
                continue
            return self.starts[first + p]
        return None


class _EchoWatch:
    """Decides whether an answer only repeats its source; holds the answer back until it is sure it does not."""

    def __init__(self, source: str, mode: str) -> None:
        self.mode = mode
        found = units(source) if mode else []
        self.source = [u.key for u in found]
        n = self.n = min(ECHO_GRAM, len(self.source))
        self.grams = {tuple(self.source[j : j + n]) for j in range(len(self.source) - n + 1)} if n else set()
        self.keys: list[str] = []
        self.weights: list[float] = []
        self.covered: list[bool] = []
        self.total = self.copied = 0.0  # the answer's weight, and the weight of its units inside copied runs
        self.settled = self.original = 0.0  # the weight of units no further run can cover, and of those uncovered
        heavy = sum(u.weight for u in found) >= MIN_ECHO_WEIGHT
        self.holding = bool(self.source) and (mode == "same" or (mode == "copy" and heavy))

    def add(self, unit: Unit) -> None:
        if not self.holding:
            return
        self.keys.append(unit.key)
        self.weights.append(unit.weight)
        self.covered.append(False)
        self.total += unit.weight
        j = len(self.keys)
        if self.n and j >= self.n and tuple(self.keys[j - self.n :]) in self.grams:
            for k in range(j - self.n, j):
                self.copied += 0.0 if self.covered[k] else self.weights[k]
                self.covered[k] = True
        self.holding = self._still_a_copy()

    def _still_a_copy(self) -> bool:
        if self.mode == "same":  # every unit before this one matched the source's, or it would not be holding
            j = len(self.keys)
            return j <= len(self.source) and self.keys[-1] == self.source[j - 1]
        k = len(self.keys) - self.n  # this unit's last chance of being covered has just passed
        if k >= 0:
            self.settled += self.weights[k]
            self.original += 0.0 if self.covered[k] else self.weights[k]
        return self.original <= max(ECHO_SLACK, (1 - ECHO_SHARE) * self.settled)

    def verdict(self) -> bool:
        """At the end: the answer (never released) is an echo of the source."""
        if not self.holding or not self.keys:
            return False
        if self.keys == self.source:
            return True
        return self.mode == "copy" and self.total >= MIN_ECHO_WEIGHT and self.copied >= ECHO_SHARE * self.total
