"""The checks a program can make of an answer, one function a task: each returns a Verdict with its failures named.

Every answer is also checked for leaked scaffold labels ("Summary:", "Text:", "Original:" …: any label of any
task's few-shot prompt, unless the input itself has it) and for being empty. What each task is held to:
- none copies a few-shot example: at least COPY_SHARE of an answer's 4-word runs found in a scaffold (and not in
  its input) is the prompt's example answer given back, not an answer;
- summarize: shorter than its input (in weight: a word 1, a CJK character 1/2, so scripts compare fairly), with at least half of its key nouns (a word's plural or singular counts);
- translate: in the target language (lingua's detector, offline), keeping the numbers and names listed;
- rewrite (shorter): shorter than its input and in the input's script;
- outline and brainstorm: a list of at least MIN_LIST_ITEMS different items;
- continue: not looping (the engine's loop finder, inference/degenerate.py), in Chinese for a Chinese input;
- instruct: what the instruction asks of its form (a question, a list, a language, capitals);
- proofread: the known error fixed and no other word lost (app/taskbench/proofing.py), scored in the harness;
  an error-free sentence (kind "clean") left with its words as they were.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from app.taskbench.data import TRANSLATE_LANGUAGES, Item, scaffold_labels, scaffolds
from app.taskbench.proofing import false_alarm, score_item
from inference.degenerate import AnswerGuard, units
from inference.scripts import UNSPACED

MIN_LIST_ITEMS = 3
MIN_UNITS = 2.0  # an answer of less weight than two words (four CJK characters) says nothing
COPY_GRAM = 4
COPY_SHARE = 0.5
_LIST_ITEM = re.compile(r"^\s*(?:\d+\s*[.)、．]|[-*•])\s*(\S.*)$", re.M)
_CJK = re.compile(f"[{UNSPACED}]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Verdict:
    """Whether an answer passed its task's checks, and if not, why (short phrases: "leaked Summary:")."""

    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


def check(item: Item, answer: str, stop_reason: str = "") -> Verdict:
    """The verdict on one answer; `stop_reason` is the engine's ("repetition" when its guard cut a loop)."""
    failures = [f"leaked {label}:" for label in leaked_labels(answer, item.text)]
    if weight(answer) < MIN_UNITS:
        failures.append("empty")
    elif copies_example(answer, item.text):
        failures.append("copied a few-shot example")
    else:
        failures += _CHECKS[item.task](item, answer, stop_reason)
    return Verdict(tuple(failures))


def leaked_labels(answer: str, source: str) -> list[str]:
    """The scaffold labels that `answer` has as "Label:" and the writer's `source` does not."""
    return sorted(label for label in scaffold_labels()
                  if re.search(rf"(?<!\w){label}:", answer) and f"{label}:" not in source)


def copies_example(answer: str, source: str) -> bool:
    """Whether most of an answer's 4-word runs are in a few-shot scaffold and not in the writer's `source`."""
    grams = _grams(answer) - _grams(source)
    return len(grams) >= 2 and len(grams & _scaffold_grams()) >= COPY_SHARE * len(grams)


def _grams(text: str) -> set[tuple[str, ...]]:
    keys = [u.key for u in units(text)]
    return {tuple(keys[i : i + COPY_GRAM]) for i in range(len(keys) - COPY_GRAM + 1)}


@functools.cache
def _scaffold_grams() -> frozenset[tuple[str, ...]]:
    return frozenset(g for prompt in scaffolds() for g in _grams(prompt.text or ""))


def weight(text: str) -> float:
    """How much a text says: words weigh 1, CJK characters 1/2 (inference/degenerate.py's units)."""
    return sum(u.weight for u in units(text))


def is_chinese(text: str) -> bool:
    """Whether most of a text's letters are CJK characters."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return cjk > 0 and cjk >= latin


def list_items(text: str) -> list[str]:
    """The items of a numbered or bulleted list (one per line)."""
    return [m.group(1).strip() for m in _LIST_ITEM.finditer(text)]


@functools.cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, name.upper()) for name in TRANSLATE_LANGUAGES)).build()


def language_of(text: str) -> str | None:
    """The language lingua finds `text` written in, among TRANSLATE_LANGUAGES ("French", "Chinese" …), or None."""
    found = _detector().detect_language_of(text)
    return found.name.capitalize() if found is not None else None


def _shorter(item: Item, answer: str) -> list[str]:
    return [] if weight(answer) < weight(item.text) else ["not shorter"]


def _summarize(item: Item, answer: str, _: str) -> list[str]:
    keys = item.expect.get("key_nouns", [])
    found = [k for k in keys if _has_noun(answer, k)]
    missing = [] if 2 * len(found) >= len(keys) else [f"key nouns missing ({', '.join(k for k in keys if k not in found)})"]
    return _shorter(item, answer) + missing


def _has_noun(text: str, noun: str) -> bool:
    stem = noun.casefold().removesuffix("s") if not _CJK.match(noun) else noun
    return stem in text.casefold()


def _translate(item: Item, answer: str, _: str) -> list[str]:
    found = language_of(answer)
    wrong = [] if found == item.language else [f"in {found or 'no known language'}, not {item.language}"]
    return wrong + [f"lost {keep!r}" for keep in item.expect.get("keep", []) if keep not in answer]


def _rewrite(item: Item, answer: str, _: str) -> list[str]:
    script = [] if is_chinese(answer) == is_chinese(item.text) else ["not in the input's script"]
    return _shorter(item, answer) + script


def _a_list(_: Item, answer: str, __: str = "") -> list[str]:
    items = {i.casefold() for i in list_items(answer)}
    return [] if len(items) >= MIN_LIST_ITEMS else [f"a list of {len(items)} different items"]


def _continue(item: Item, answer: str, stop_reason: str) -> list[str]:
    looped = stop_reason == "repetition" or AnswerGuard(source=item.text).check(answer, final=True).reason == "repetition"
    chinese = [] if not is_chinese(item.text) or is_chinese(answer) else ["not in Chinese"]
    return (["looped"] if looped else []) + chinese


def _instruct(item: Item, answer: str, _: str) -> list[str]:
    expect, text = item.expect, answer.strip()
    if expect.get("question") and not text.endswith(("?", "？")):
        return ["not a question"]
    if expect.get("list") and max(len(list_items(text)), len(text.splitlines())) < expect["list"]:
        return [f"not a list of {expect['list']}"]
    if expect.get("language") and language_of(text) != expect["language"]:
        return [f"not in {expect['language']}"]
    if expect.get("uppercase") and (text.upper() != text or not _LATIN.search(text)):
        return ["not in capitals"]
    return []


def _proofread(item: Item, answer: str, _: str) -> list[str]:
    if item.kind == "clean":
        return ["changed an error-free sentence"] if false_alarm(item.text, answer) else []
    proof = score_item(item, answer)
    return ([] if proof.fixed else ["error not fixed"]) + [f"dropped {', '.join(proof.dropped)}"] * bool(proof.dropped)


_CHECKS = {"summarize": _summarize, "translate": _translate, "rewrite": _rewrite, "outline": _a_list,
           "brainstorm": _a_list, "continue": _continue, "instruct": _instruct, "proofread": _proofread}
