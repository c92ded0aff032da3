"""A document as paragraphs for checking: which are English, and which changed since they were last linted.

A paragraph is one line (one block of the editor); hard-wrapped prose is therefore linted line by line.
`DocumentCheck` keeps each paragraph's lints in a dict keyed by the paragraph's text — hashed by Python's
str hash and confirmed by equality, so a key never collides — and lints only texts it has not seen: an edit
re-lints the paragraphs it touched, and moving a paragraph re-lints nothing.
"""

from __future__ import annotations

import re
import time
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

    lints: dict[str, tuple[Lint, ...]]  # paragraph text → its lints, only for paragraphs that have some
    changed: list[tuple[int, str]]  # (index, text) of paragraphs whose lints differ from the previous report
    issues: int
    skipped: int  # paragraphs left unchecked: not English
    too_long: int  # paragraphs left unchecked: longer than max_chars
    done: bool
    blocks: int  # how many paragraphs the checked text had (to follow lines that moved since)
    linted: int  # paragraphs this DocumentCheck has given to Harper so far, all runs


class DocumentCheck:
    """One document's lints, paragraph by paragraph, remembered by paragraph text so only changed ones are re-linted."""

    def __init__(self, checker: Checker, markdown: bool = False, separator: str = "\n", max_chars: int | None = None) -> None:
        self.checker, self.markdown, self.separator, self.max_chars = checker, markdown, separator, max_chars
        self._seen: dict[str, tuple[Lint, ...] | None] = {}  # None: not English (or too long)
        self._reported: dict[str, tuple[Lint, ...]] = {}
        self._words = checker.words
        self.linted = 0  # paragraphs given to Harper so far

    def run(self, text: str, ignored: frozenset = frozenset(), focus: int = 0, stop: Callable[[], bool] = lambda: False,
            partial: Callable[[Report], None] | None = None, partial_every_s: float = 0.25) -> Report | None:
        """Lint the paragraphs of `text` not seen before, nearest `focus` first; None if `stop()` said so midway.

        `partial(report)` is called about every `partial_every_s` while a long run goes on.
        """
        self._sync_words()
        paragraphs = text.split(self.separator)
        todo = sorted((i for i, p in enumerate(paragraphs) if p not in self._seen), key=lambda i: abs(i - focus))
        last = time.monotonic()
        for i in todo:
            if stop():
                return None
            if paragraphs[i] not in self._seen:  # an identical paragraph earlier in the list was linted already
                self._seen[paragraphs[i]] = self._lint(paragraphs[i])
            if partial is not None and time.monotonic() - last >= partial_every_s:
                partial(self._report(paragraphs, ignored, done=False))
                last = time.monotonic()
        report = self._report(paragraphs, ignored, done=True)
        self._seen = {p: self._seen[p] for p in set(paragraphs)}  # forget paragraphs no longer in the text
        return report

    def _lint(self, paragraph: str) -> tuple[Lint, ...] | None:
        if not has_words(paragraph):
            return ()
        if (self.max_chars is not None and len(paragraph) > self.max_chars) or not is_english(paragraph):
            return None
        self.linted += 1
        return tuple(self.checker.lint(paragraph, markdown=self.markdown))

    def _sync_words(self) -> None:
        """Follow the checker's dictionary: added words filter what is remembered; a removed word re-lints all."""
        words = self.checker.words
        if words == self._words:
            return
        if not self._words <= words:
            self._seen = {}
        else:
            known = self.checker.known
            self._seen = {p: v and tuple(x for x in v if not known(p[x.start : x.end])) for p, v in self._seen.items()}
        self._words = words

    def _report(self, paragraphs: list[str], ignored: frozenset, done: bool) -> Report:
        lints: dict[str, tuple[Lint, ...]] = {}
        changed: list[tuple[int, str]] = []
        issues = skipped = too_long = 0
        for i, p in enumerate(paragraphs):
            if p not in self._seen:
                continue
            found = self._seen[p]
            if found is None:
                long = self.max_chars is not None and len(p) > self.max_chars
                too_long, skipped = too_long + long, skipped + (not long)
                continue
            if found and ignored:
                found = tuple(x for x in found if ignore_key(p, x) not in ignored)
            if found:
                lints[p] = found
                issues += len(found)
            if found != self._reported.get(p, ()):
                changed.append((i, p))
        self._reported = lints
        return Report(lints, changed, issues, skipped, too_long, done, len(paragraphs), self.linted)
