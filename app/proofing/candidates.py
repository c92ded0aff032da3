"""Candidate corrections of a text, each one edit that the model will judge: from Harper, the word lists and the model.

Every generator returns `Candidate`s with offsets into the text. None of them decides anything: a candidate is
applied only when the model finds its sentence likelier than the original by a margin (app/proofing/judge.py).
- Harper: every suggestion of each spelling or grammar lint, not only the first; and the known words one typo
  away from a word it flagged (app/proofing/spelling.py).
- Confusion sets (tables.confusions): its/it's, their/there/they're, to/too/two, a/an, homophones …, in English;
  的/地/得, 在/再 … and confusable words in Chinese.
- Verb forms: each form of a listed verb for the others (walk/walks/walked, go/goes/went/gone), the auxiliaries
  that agree or mark tense (is/are/was/were, has/have, does/do), and "could of" → "could have".
- The model's own proofread answer: each of its small one-for-one changes (a word for a word, a CJK character or
  two for as many) is a candidate; anything bigger is a rewording, decided elsewhere and never applied.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from app.desk.proofread import NEAR_RULE, clash
from app.grammar import Lint
from app.proofing import tables
from app.proofing.spelling import cased
from inference.scripts import UNSPACED

HARPER, SPELL, TABLE, VERB, MODEL = "harper", "spell", "table", "verb", "model"
FIXED_KINDS = ("spelling", "grammar")  # Harper's style lints are advice, not errors
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_CJK = re.compile(f"[{UNSPACED}]")


@dataclass(frozen=True)
class Candidate:
    """`text[start:end]` → `replacement`, proposed by `source` (HARPER, TABLE, VERB, MODEL); Harper's message as `reason`."""

    start: int
    end: int
    replacement: str
    source: str
    reason: str = ""

    def applied(self, text: str, offset: int = 0) -> str:
        """`text` (which starts at `offset` of the original) with this edit made."""
        return text[: self.start - offset] + self.replacement + text[self.end - offset :]

    def overlaps(self, other: "Candidate") -> bool:
        return clash(self.start, self.end, other.start, other.end)


def harper(lints: Sequence[Lint]) -> list[Candidate]:
    """Every suggestion of every spelling and grammar lint: Harper's own (HARPER), and the words one typo away from a
    flagged word (SPELL: the lints of app/proofing/spelling.py)."""
    return [Candidate(x.start, x.end, s, SPELL if x.rule == NEAR_RULE else HARPER, x.message)
            for x in lints if x.kind in FIXED_KINDS for s in x.suggestions]


def english(text: str) -> list[Candidate]:
    """Confusion-set words, verb forms, auxiliaries and "modal of" in an English text."""
    out: list[Candidate] = []
    confusions, verbs, aux = tables.confusions("en"), tables.verb_forms(), tables.auxiliaries()
    words = list(_WORD.finditer(text))
    for i, m in enumerate(words):
        word = m.group().replace("’", "'").lower()
        out += _swaps(text, m.start(), m.end(), confusions.get(word, ()), TABLE)
        out += _swaps(text, m.start(), m.end(), verbs.get(word, frozenset()) | aux.get(word, frozenset()), VERB)
        if word == "of" and i and words[i - 1].group().lower() in tables.modals():
            out.append(Candidate(m.start(), m.end(), cased("have", m.group()), VERB))
    for phrase in (p for p in confusions if " " in p):
        for m in _phrase(phrase).finditer(text):
            out += _swaps(text, m.start(), m.end(), confusions[phrase], TABLE)
    return out


def chinese(text: str) -> list[Candidate]:
    """Confusable characters and words of the Chinese table wherever they appear."""
    out: list[Candidate] = []
    for entry, others in tables.confusions("zh").items():
        start = text.find(entry)
        while start >= 0:
            single = len(entry) == 1
            out += [Candidate(start, start + len(entry), o, TABLE) for o in others if single == (len(o) == 1)]
            start = text.find(entry, start + 1)
    return out


def for_script(text: str) -> list[Candidate]:
    """The word-list candidates of a sentence: Chinese ones for a sentence with CJK characters, else English ones."""
    return chinese(text) if _CJK.search(text) else english(text)


def one_for_one(old: str, new: str) -> bool:
    """Whether a change puts one word for one word (or up to two CJK characters for as many): a fix's shape."""
    if _CJK.search(old + new):
        return 0 < len(old.strip()) == len(new.strip()) <= 2 and not any(c.isspace() for c in old + new)
    a, b = old.split(), new.split()
    return len(a) == len(b) == 1 and _WORD.fullmatch(a[0].strip(".,;:!?")) is not None and _WORD.fullmatch(b[0].strip(".,;:!?")) is not None


def shifted(candidates: Iterable[Candidate], offset: int) -> list[Candidate]:
    """Candidates found in a part of the text that starts at `offset`, with offsets into the whole."""
    return [Candidate(c.start + offset, c.end + offset, c.replacement, c.source, c.reason) for c in candidates]


def _swaps(text: str, start: int, end: int, others: Iterable[str], source: str) -> list[Candidate]:
    original = text[start:end]
    curly = "’" in original
    return [Candidate(start, end, cased(o.replace("'", "’") if curly else o, original), source) for o in sorted(others)]


@functools.cache
def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(r"\b" + r"\s+".join(map(re.escape, phrase.split())) + r"\b", re.I)
