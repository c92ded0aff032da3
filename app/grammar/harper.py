"""Spelling, grammar and style lints from Harper (harper-py), as plain values with Python string offsets.

This is the one module that imports `harper`. Harper's `Linter` builds its dictionary when it is made
(about 0.6 s here) and is not thread-safe: a call while another thread is inside the same Linter raises.
So a `Checker` belongs to one thread; `checker_for_thread` keeps a small cache of them per thread
(one per dialect), and `release_thread` empties it when the thread is done.
"""

from __future__ import annotations

import locale
import os
import threading
from dataclasses import dataclass
from typing import Iterable

import harper

DIALECTS = ("American", "British", "Canadian", "Australian")
_HARPER_DIALECTS = {
    "American": harper.Dialect.AMERICAN,
    "British": harper.Dialect.BRITISH,
    "Canadian": harper.Dialect.CANADIAN,
    "Australian": harper.Dialect.AUSTRALIAN,
}
# Countries whose English spells as Britain does (colour, realise), for the default dialect.
_BRITISH_SPELLING = {"GB", "UK", "IE", "NZ", "ZA", "IN", "SG", "HK", "MT"}

KINDS = ("spelling", "grammar", "style")
# Harper's lint kinds (harper-core 2.13's LintKind) by the colour the writer sees; any other kind is grammar.
_SPELLING = {"Spelling", "Typo", "BoundaryError"}
_STYLE = {"Style", "Readability", "Redundancy", "Enhancement", "Formatting", "Regionalism"}


@dataclass(frozen=True)
class Lint:
    """One problem in a text: `text[start:end]` (Python str offsets, code points), with replacements for that span."""

    start: int
    end: int
    kind: str  # "spelling" | "grammar" | "style"
    message: str
    suggestions: tuple[str, ...]  # each replaces text[start:end] whole ("" removes it)
    rule: str

    def shifted(self, offset: int) -> Lint:
        """The same lint with its span moved by `offset` characters (paragraph → document offsets)."""
        return Lint(self.start + offset, self.end + offset, self.kind, self.message, self.suggestions, self.rule)


def kind_of(harper_kind: str) -> str:
    """Harper's lint kind ("Typo", "WordChoice", ...) as one of KINDS."""
    if harper_kind in _SPELLING:
        return "spelling"
    return "style" if harper_kind in _STYLE else "grammar"


def apply(text: str, lint: Lint, suggestion: str) -> str:
    """`text` with the lint's span replaced by `suggestion` (one of `lint.suggestions`)."""
    return text[: lint.start] + suggestion + text[lint.end :]


def dialect_for_locale(name: str | None = None) -> str:
    """The dialect a locale name implies: en_GB → British, en_CA → Canadian, en_AU → Australian, else American.

    With no name, the process's locale (LC_ALL, LC_MESSAGES, LANG) decides.
    """
    if name is None:
        name = locale.getlocale(locale.LC_CTYPE)[0] or os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    country = name.replace("-", "_").split(".")[0].partition("_")[2].upper()
    if country == "CA":
        return "Canadian"
    if country == "AU":
        return "Australian"
    return "British" if country in _BRITISH_SPELLING else "American"


class Checker:
    """Harper for one dialect and one user dictionary. Not thread-safe: use it on the thread that made it."""

    def __init__(self, dialect: str = "American", dictionary: Iterable[str] = ()) -> None:
        if dialect not in _HARPER_DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
        self.dialect = dialect
        self._linter = harper.Linter(_HARPER_DIALECTS[dialect])
        self._words: set[str] = set()
        self._folded: set[str] = set()
        self.add_words(dictionary)

    @property
    def words(self) -> frozenset[str]:
        """The user's words this checker never flags."""
        return frozenset(self._words)

    def add_words(self, words: Iterable[str]) -> None:
        """Accept `words` from now on (Harper's dictionary, and a filter for rules that flag known words)."""
        new = {w.strip() for w in words if w.strip()} - self._words
        if new:
            self._linter.import_words(sorted(new))
            self._words |= new
            self._folded = {w.casefold() for w in self._words}

    def set_words(self, words: Iterable[str]) -> None:
        """Make the user dictionary exactly `words` (removing a word rebuilds Harper's added words)."""
        wanted = {w.strip() for w in words if w.strip()}
        if not self._words <= wanted:
            self._linter.clear_words()
            self._words, self._folded = set(), set()
        self.add_words(wanted)

    def known(self, word: str) -> bool:
        """Whether `word` is in the user's dictionary (case-insensitive)."""
        return word.strip().casefold() in self._folded

    def lint(self, text: str, markdown: bool = False) -> list[Lint]:
        """The lints of `text` in order, none on a word of the user's dictionary; offsets index `text`."""
        language = harper.Language.MARKDOWN if markdown else harper.Language.PLAINTEXT
        found = self._linter.organized_lints(text, language=language)
        lints = [_lint(rule, h) for rule, hs in found.items() for h in hs]
        # Harper's spans count code points, as Python's str does: the test suite checks it with CJK and emoji.
        return sorted((x for x in lints if not self.known(text[x.start : x.end])), key=lambda x: (x.start, x.end))


def _lint(rule: str, h: harper.Lint) -> Lint:
    problem = h.problem_text
    return Lint(h.span.start, h.span.end, kind_of(h.lint_kind), h.message, _replacements(problem, h.suggestions), rule)


def _replacements(problem: str, suggestions: list[harper.Suggestion]) -> tuple[str, ...]:
    """Harper's suggestions as whole replacements of the span: REMOVE is "", INSERT_AFTER appends to the span."""
    out: list[str] = []
    for s in suggestions:
        if s.kind == harper.SuggestionKind.REMOVE:
            text = ""
        elif s.kind == harper.SuggestionKind.INSERT_AFTER:
            text = problem + s.replacement_text
        else:
            text = s.replacement_text
        if text not in out:
            out.append(text)
    return tuple(out)


# Keyed by the OS thread's id, not kept in a threading.local: each time PySide calls into Python from a Qt
# thread (a QThread's slot, a pool job) it may make a fresh Python thread state, and thread-local data with it,
# so a threading.local cache would build a new Linter (0.6 s, 26 MiB) for every call.
_checkers: dict[int, dict[str, Checker]] = {}
_checkers_lock = threading.Lock()


def checker_for_thread(dialect: str, dictionary: Iterable[str] = ()) -> Checker:
    """The calling thread's Checker for `dialect` (made once per thread and dialect), holding exactly `dictionary`."""
    with _checkers_lock:
        mine = _checkers.setdefault(threading.get_ident(), {})
    if dialect not in mine:
        mine[dialect] = Checker(dialect)
    mine[dialect].set_words(dictionary)
    return mine[dialect]


def release_thread() -> None:
    """Let the calling thread's Checkers go; call it as the thread ends (its id may be given to a new thread)."""
    with _checkers_lock:
        _checkers.pop(threading.get_ident(), None)
