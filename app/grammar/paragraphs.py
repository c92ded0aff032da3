"""A document as paragraphs for checking: which are English, and which changed since they were last linted.

A paragraph is one line (one block of the editor); hard-wrapped prose is therefore linted line by line.
`DocumentCheck` keeps each paragraph's lints in a dict keyed by the paragraph's text — hashed by Python's
str hash and confirmed by equality, so a key never collides — and lints only texts it has not seen: an edit
re-lints the paragraphs it touched, and moving a paragraph re-lints nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from itertools import repeat
from dataclasses import dataclass
from typing import Callable

from app.grammar.harper import Checker, Lint
from app.scripts import UNSPACED

_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00aa\u00b5\u00ba\u00c0-\u024f\u1e00-\u1eff]")
_UNSPACED = re.compile(f"[{UNSPACED}]")
_WORD = re.compile(r"[^\W\d_]+")
# Function words that tell English from the Latin-script languages a writer here most often mixes in; words
# that are also common English (die, do, per, van, den, con) are left out of the foreign set on purpose.
_ENGLISH = frozenset("the and of to that with for he she you are this not but his her they have be it at from which "
                     "would were had".split())
_FOREIGN = frozenset(
    "le la les des du une est et je vous nous pas qui dans pour avec sont mais "  # French
    "der das und ist nicht ein eine ich wir sie mit auf dem sich auch "  # German
    "el los las y es una por con del para pero muy está "  # Spanish
    "il di che gli della sono "  # Italian
    "os um não são em "  # Portuguese
    "het een niet zijn ik wij".split()  # Dutch
)
MIN_FOREIGN = 2


@dataclass(frozen=True)
class Paragraph:
    """One line of a document: its number, where it starts (a str offset), its text."""

    index: int
    start: int
    text: str


def split(text: str, separator: str = "\n") -> list[Paragraph]:
    """The paragraphs of `text`, empty ones included, so indexes are line (block) numbers."""
    out, start = [], 0
    for i, line in enumerate(text.split(separator)):
        out.append(Paragraph(i, start, line))
        start += len(line) + len(separator)
    return out


def has_words(text: str) -> bool:
    """Whether there is anything to check: at least one letter of any script."""
    return _LETTER.search(text) is not None


def is_english(text: str) -> bool:
    """A cheap guess, made once per paragraph text: is this English enough to lint?

    Not English when the letters of other scripts outweigh the Latin letters — a Han or kana character
    (app/scripts.UNSPACED) weighs two letters, as it stands for a word or a syllable — or, in Latin script,
    when at least MIN_FOREIGN French, German, Spanish, Italian, Portuguese or Dutch function words outnumber
    the English ones. A short foreign phrase inside English prose stays English.
    """
    letters = len(_LETTER.findall(text))
    latin = len(_LATIN.findall(text))
    if latin < (letters - latin) + len(_UNSPACED.findall(text)):
        return False
    words = _WORD.findall(text.lower())
    foreign = sum(w in _FOREIGN for w in words)
    return foreign < MIN_FOREIGN or foreign <= sum(w in _ENGLISH for w in words)


def ignore_key(paragraph: str, lint: Lint) -> tuple[str, int, int, str]:
    """What "Ignore" remembers: this lint at this place of this paragraph text."""
    return paragraph, lint.start, lint.end, lint.rule


@dataclass(frozen=True)
class Report:
    """The state of a document's check after a run (or part of one, `done` False)."""

    lints: dict[str, tuple[Lint, ...]]  # paragraph text → its lints, for texts that have some (absent ones may linger)
    changed: list[tuple[int, str]]  # (index, text) of paragraphs whose lints differ from the previous report
    issues: int
    skipped: int  # paragraphs left unchecked: not English
    too_long: int  # paragraphs left unchecked: longer than max_chars
    done: bool
    blocks: int  # how many paragraphs the checked text had (to follow lines that moved since)
    linted: int  # paragraphs this DocumentCheck has given to Harper so far, all runs


class DocumentCheck:
    """One document's lints, paragraph by paragraph, remembered by paragraph text so only changed ones are re-linted.

    A run over a megabyte costs this thread a split, a Counter and a few set operations and `map`s — C
    loops, a few ms here — and Python bytecode only for new paragraphs and for lints whose display changed,
    so the GIL stays free for the GUI thread.
    """

    def __init__(self, checker: Checker, markdown: bool = False, separator: str = "\n", max_chars: int | None = None) -> None:
        self.checker, self.markdown, self.separator, self.max_chars = checker, markdown, separator, max_chars
        self._seen: dict[str, tuple[Lint, ...] | None] = {}  # None: not checked (not English, or too long)
        self._shown: dict[str, tuple[Lint, ...]] = {}  # seen texts with lints, less the ignored ones
        self._foreign: set[str] = set()
        self._long: set[str] = set()
        self._dirty: set[str] = set()  # texts whose shown lints changed since the last report
        self._ignored: frozenset = frozenset()
        self._words = checker.words
        self.linted = 0  # paragraphs given to Harper so far

    def run(self, text: str, ignored: frozenset = frozenset(), focus: int = 0, stop: Callable[[], bool] = lambda: False,
            partial: Callable[[Report], None] | None = None, partial_every_s: float = 0.25) -> Report | None:
        """Lint the paragraphs of `text` not seen before, nearest `focus` first; None if `stop()` said so midway.

        `partial(report)` is called about every `partial_every_s` while a long run goes on.
        """
        self._sync_words()
        self._sync_ignored(ignored)
        paragraphs = text.split(self.separator)
        counts = Counter(paragraphs)
        last = time.monotonic()
        for p in _nearest_first(paragraphs, counts.keys() - self._seen.keys(), focus):
            if stop():
                return None
            self._remember(p, self._lint(p))
            if partial is not None and time.monotonic() - last >= partial_every_s:
                partial(self._report(paragraphs, counts, done=False))
                last = time.monotonic()
        report = self._report(paragraphs, counts, done=True)
        self._forget_absent(counts)
        return report

    def _lint(self, paragraph: str) -> tuple[Lint, ...] | None:
        if not has_words(paragraph):
            return ()
        if self._too_long(paragraph) or not is_english(paragraph):
            return None
        self.linted += 1
        return tuple(self.checker.lint(paragraph, markdown=self.markdown))

    def _too_long(self, paragraph: str) -> bool:
        return self.max_chars is not None and len(paragraph) > self.max_chars

    def _remember(self, paragraph: str, found: tuple[Lint, ...] | None) -> None:
        self._seen[paragraph] = found
        if found is None:
            (self._long if self._too_long(paragraph) else self._foreign).add(paragraph)
        self._show(paragraph)

    def _show(self, paragraph: str) -> None:
        """Recompute what is shown of one text; note it for the next report if that changed."""
        shown = tuple(x for x in self._seen.get(paragraph) or () if ignore_key(paragraph, x) not in self._ignored)
        if shown != self._shown.get(paragraph, ()):
            self._dirty.add(paragraph)
        if shown:
            self._shown[paragraph] = shown
        else:
            self._shown.pop(paragraph, None)

    def _sync_words(self) -> None:
        """Follow the checker's dictionary: added words filter what is remembered; a removed word re-lints all."""
        words = self.checker.words
        if words == self._words:
            return
        if not self._words <= words:
            self._dirty |= self._shown.keys()
            self._seen, self._shown, self._foreign, self._long = {}, {}, set(), set()
        else:
            known = self.checker.known
            for p in [p for p, found in self._seen.items() if found]:
                self._remember(p, tuple(x for x in self._seen[p] or () if not known(p[x.start : x.end])))
        self._words = words

    def _sync_ignored(self, ignored: frozenset) -> None:
        if ignored != self._ignored:
            changed = {key[0] for key in ignored ^ self._ignored}
            self._ignored = ignored
            for p in changed:
                self._show(p)

    def _report(self, paragraphs: list[str], counts: Counter[str], done: bool) -> Report:
        changed = sorted((i, p) for p in self._dirty & counts.keys() for i in _indexes(paragraphs, p, counts[p]))
        self._dirty.clear()
        issues = sum(map(len, map(self._shown.get, paragraphs, repeat((), len(paragraphs)))))  # C loops, no bytecode
        skipped, too_long = sum(map(self._foreign.__contains__, paragraphs)), sum(map(self._long.__contains__, paragraphs))
        return Report(dict(self._shown), changed, issues, skipped, too_long, done, len(paragraphs), self.linted)

    def _forget_absent(self, counts: Counter[str]) -> None:
        """Keep the memory bounded: drop texts no longer in the document once they outnumber those that are."""
        if len(self._seen) > 2 * len(counts) + 256:
            keep = counts.keys() & self._seen.keys()
            self._seen = {p: self._seen[p] for p in keep}
            self._shown = {p: v for p, v in self._shown.items() if p in keep}
            self._foreign &= keep
            self._long &= keep


def _nearest_first(paragraphs: list[str], texts: set[str], focus: int) -> list[str]:
    """`texts` ordered by how near their first occurrence is to paragraph `focus`."""
    first: dict[str, int] = {}
    if len(texts) <= 64:  # a few edits: list.index scans in C
        first = {p: paragraphs.index(p) for p in texts}
    else:
        for i, p in enumerate(paragraphs):
            if p in texts and p not in first:
                first[p] = i
    return sorted(texts, key=lambda p: abs(first[p] - focus))


def _indexes(paragraphs: list[str], text: str, n: int) -> list[int]:
    """Where the `n` occurrences of `text` are."""
    out, i = [], -1
    for _ in range(n):
        i = paragraphs.index(text, i + 1)
        out.append(i)
    return out
