"""Known words one typo away from a word Harper flags: more spelling candidates for the judge.

Harper offers up to three suggestions for a misspelt word, ranked by its own measure, and sometimes not the
word meant ("untill": only "distill"). Here the common typos are undone — a letter left out, one too many (a
doubled letter), two letters swapped, a letter doubled that should not be, a wrong vowel — and each result is
kept only when Harper's own dictionary knows it. Harper exposes no dictionary lookup, so the words are linted
as paragraphs of one word each, in one call: a word with no spelling lint is known. The judge then scores each
kept word in its sentence like any other candidate; none is taken on its shape alone.
"""

from __future__ import annotations

from typing import Sequence

from app.desk.proofread import NEAR_RULE
from app.grammar import Checker, Lint

NEAR_MESSAGE = "A known word one typo away from the one flagged"
MAX_LETTERS = 20  # a longer "word" is a URL, a code or a name run together: no typo undone
_VOWELS = "aeiouy"
# One word a paragraph: joined by spaces or single newlines, harper-py 0.2.0 spell-checks almost none of them.
_PARAGRAPH = "\n\n"


def edits(word: str) -> set[str]:
    """The lowercase words one common typo away: a letter too many, two swapped, a vowel or a double letter's
    second one left out, a wrong vowel (about 12 a letter; a consonant left out elsewhere is not undone: a word
    of seven letters would need 200 lookups, which Harper's own suggestions mostly cover)."""
    w = word.lower()
    splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
    out = {a + b[1:] for a, b in splits if b}  # a letter too many
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}  # two letters swapped
    out |= {a + c + b for a, b in splits for c in {*_VOWELS, *a[-1:], *b[:1]}}  # a vowel left out, a letter not doubled
    out |= {a + v + b[1:] for a, b in splits if b and b[0] in _VOWELS for v in _VOWELS}  # a wrong vowel
    out.discard(w)
    return out


def near_lints(text: str, lints: Sequence[Lint], checker: Checker) -> list[Lint]:
    """For each of Harper's spelling or grammar lints on one word of `text`, a lint of the same span whose suggestions
    are the known words one typo away that Harper did not suggest. Grammar lints too: Harper flags some misspellings
    as a wrong word ("untill": "Could this be the negative word you intended?", and only "distill")."""
    flagged = {x: text[x.start : x.end] for x in lints if _one_word(x, text)}
    wanted = {x: sorted(edits(word)) for x, word in flagged.items()}
    known = _known(sorted({w for words in wanted.values() for w in words}), checker)
    out = []
    for lint, words in wanted.items():
        found = tuple(w for w in (cased(w, flagged[lint]) for w in words if w in known) if w not in lint.suggestions)
        if found:
            out.append(Lint(lint.start, lint.end, "spelling", NEAR_MESSAGE, found, NEAR_RULE))
    return out


def _one_word(lint: Lint, text: str) -> bool:
    word = text[lint.start : lint.end]
    return lint.kind in ("spelling", "grammar") and lint.rule != NEAR_RULE and 1 < len(word) <= MAX_LETTERS and word.isascii() and word.isalpha()


def _known(words: list[str], checker: Checker) -> set[str]:
    """Which of `words` Harper's dictionary has (one lint call for all of them)."""
    if not words:
        return set()
    text = _PARAGRAPH.join(words)
    flagged = {text[x.start : x.end] for x in checker.lint(text) if x.kind == "spelling"}
    return set(words) - flagged


def cased(word: str, like: str) -> str:
    """`word` in the case of `like`: Untill → Until, LESS → FEWER, less → fewer."""
    if len(like) > 1 and like.isupper():
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word
