"""The proofreader's shipped word lists (app/proofing/data/*.txt) as lookups: which words may stand for which.

Each file is a general resource, one entry a line, "#" comments: confusion sets of English and Chinese words,
English verbs (irregular ones with their past and participle; regular ones whose forms the spelling rules give),
the auxiliaries that agree or mark tense, and the modals written with "of" for "have".
"""

from __future__ import annotations

import functools
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_VOWELS = "aeiou"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _alternatives(sets: list[list[str]]) -> dict[str, frozenset[str]]:
    """Each member of each set → every other member of every set it is in."""
    table: dict[str, set[str]] = {}
    for members in sets:
        for word in members:
            table.setdefault(word, set()).update(m for m in members if m != word)
    return {word: frozenset(others) for word, others in table.items()}


@functools.cache
def confusions(language: str) -> dict[str, frozenset[str]]:
    """"en" or "zh": a word (lowercase; a phrase, a character) → the words written for it."""
    return _alternatives([line.split("|") for line in _lines(f"confusions_{language}.txt")])


@functools.cache
def auxiliaries() -> dict[str, frozenset[str]]:
    return _alternatives([line.split("|") for line in _lines("auxiliaries_en.txt")])


@functools.cache
def modals() -> frozenset[str]:
    return frozenset(_lines("modals_en.txt"))


@functools.cache
def verb_forms() -> dict[str, frozenset[str]]:
    """Any form of a listed verb → its other forms (base, -s, past, participle)."""
    lemmas = []
    for line in _lines("verbs_en.txt"):
        parts = line.split()
        if len(parts) == 1:
            lemmas.append({parts[0], third_person(parts[0]), *regular_past(parts[0])})
        else:
            base, past, participle = parts
            lemmas.append({base, third_person(base), *past.split("/"), *participle.split("/")})
    return _alternatives([sorted(forms) for forms in lemmas])


def third_person(base: str) -> str:
    """walk → walks, push → pushes, carry → carries, go → goes, have → has."""
    if base == "have":
        return "has"
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and len(base) > 1 and base[-2] not in _VOWELS:
        return base[:-1] + "ies"
    return base + "s"


def regular_past(base: str) -> tuple[str, ...]:
    """The simple past (= participle) of a regular verb: walk → walked, love → loved, carry → carried, stop → stopped."""
    if base.endswith("e"):
        return (base + "d",)
    if base.endswith("y") and base[-2] not in _VOWELS:
        return (base[:-1] + "ied",)
    if _doubles(base):
        return (base + base[-1] + "ed", base + "ed")  # both spellings: the rule depends on stress, which we cannot see
    return (base + "ed",)


def _doubles(base: str) -> bool:
    """A final consonant after one vowel, as in stop, plan, travel (not in rain, fix, snow)."""
    return (len(base) >= 3 and base[-1] not in _VOWELS + "wxy" and base[-2] in _VOWELS and base[-3] not in _VOWELS)
