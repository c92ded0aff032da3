"""Harper behind app.grammar, without a screen: offsets in Python characters, dialects, the user's words, paragraphs."""

from __future__ import annotations

import threading

import pytest

from app.grammar import (
    Checker,
    DocumentCheck,
    Lint,
    apply,
    checker_for_thread,
    dialect_for_locale,
    ignore_key,
    is_english,
    kind_of,
    release_thread,
    split,
)


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker("American")


def _flagged(checker: Checker, text: str) -> dict[str, Lint]:
    return {text[x.start : x.end]: x for x in checker.lint(text)}


@pytest.mark.parametrize("before", ["", "中文字符，", "Café naïve déjà vu — ", "😀𠀀 "])
def test_offsets_are_python_characters_whatever_comes_before(checker: Checker, before: str) -> None:
    text = before + "Its a nice day. I saw a elephant. Teh cat will recieve it."
    found = _flagged(checker, text)
    assert {"Its", "a", "Teh", "recieve"} <= set(found)
    its = found["Its"]
    assert its.start == len(before) and its.kind == "grammar" and "It's" in its.suggestions
    assert found["a"].suggestions == ("an",) and found["a"].rule == "AnA"
    assert found["recieve"].kind == "spelling" and found["recieve"].suggestions[0] == "receive"
    assert apply(text, found["recieve"], "receive").endswith("Teh cat will receive it.")


def test_british_spellings_pass_in_british_and_are_flagged_in_american(checker: Checker) -> None:
    text = "The colour of the centre is grey, I realise."
    assert {"colour", "centre", "grey", "realise"} <= set(_flagged(checker, text))
    assert _flagged(Checker("British"), text) == {}


def test_words_of_the_user_dictionary_are_never_flagged(checker: Checker) -> None:
    text = "Scriptorium keeps a florilegium of Teh quotations."
    mine = Checker("American", dictionary=["Scriptorium", "florilegium", "Teh"])
    assert {"Scriptorium", "florilegium", "Teh"} <= set(_flagged(checker, text))
    assert _flagged(mine, text) == {}  # "Teh" is also a Typo-rule hit, not only a spelling one
    mine.set_words(["Scriptorium"])
    assert set(_flagged(mine, text)) >= {"florilegium", "Teh"}


def test_lint_kinds_map_to_three_colours() -> None:
    assert [kind_of(k) for k in ("Spelling", "Typo", "Agreement", "WordChoice", "Style", "Redundancy", "NewKind")] == [
        "spelling", "spelling", "grammar", "grammar", "style", "style", "grammar"]


def test_dialect_defaults_follow_the_locale() -> None:
    assert [dialect_for_locale(n) for n in ("en_GB.UTF-8", "en_CA", "en-AU", "en_IE", "en_US", "fr_FR", "C", "")] == [
        "British", "Canadian", "Australian", "British", "American", "American", "American", "American"]
    with pytest.raises(ValueError):
        Checker("Klingon")


def test_each_thread_gets_its_own_checker() -> None:
    mine = checker_for_thread("American", ["Scriptorium"])
    assert checker_for_thread("American", ["Scriptorium"]) is mine
    other: list[Checker] = []

    def elsewhere() -> None:
        other.append(checker_for_thread("American"))
        release_thread()
        other.append(checker_for_thread("American"))

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join()
    assert other[0] is not mine and other[0].words == frozenset() and other[1] is not other[0]


def test_paragraphs_in_other_scripts_and_languages_are_not_english() -> None:
    assert not is_english("这是一个中文段落，没有英文。")
    assert not is_english("我们用Python写程序")  # a Chinese sentence with an English name in it
    assert not is_english("Привет, как дела?")
    assert not is_english("Bonjour, je suis très content de vous voir.")
    assert not is_english("Das ist ein sehr schönes Haus und wir wohnen hier.")
    assert is_english("The word 道 means way.")
    assert is_english("He said je ne sais quoi and left the room.")
    assert is_english("## Chapter 0")


def test_split_keeps_line_numbers_and_offsets() -> None:
    text = "One.\n\n中文。\nTwo."
    assert [(p.index, p.start, p.text) for p in split(text)] == [(0, 0, "One."), (1, 5, ""), (2, 6, "中文。"), (3, 10, "Two.")]
    assert all(text[p.start : p.start + len(p.text)] == p.text for p in split(text))


class CountingChecker(Checker):
    """A real Checker that counts the paragraphs it is asked to lint."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def lint(self, text: str, markdown: bool = False) -> list[Lint]:
        self.calls.append(text)
        return super().lint(text, markdown)


def test_a_document_check_lints_only_changed_paragraphs_and_skips_chinese() -> None:
    checker = CountingChecker()
    check = DocumentCheck(checker)
    text = "Its a nice day.\n\n这是一个中文段落，没有英文。\nThe cat sat.\nThe cat sat."
    first = check.run(text)
    assert first is not None and first.done
    assert checker.calls == ["Its a nice day.", "The cat sat."]  # the Chinese, the blank and the repeat are not linted
    assert (first.issues, first.skipped, first.changed) == (1, 1, [(0, "Its a nice day.")])
    checker.calls.clear()
    second = check.run("I has a apple.\n" + text)
    assert second is not None and checker.calls == ["I has a apple."]
    assert second.issues == 3 and [i for i, _ in second.changed] == [0]  # the moved paragraph keeps its lints, unreported


def test_ignored_lints_and_added_words_leave_the_report_without_relinting() -> None:
    checker = CountingChecker()
    check = DocumentCheck(checker)
    text = "Teh florilegium is here."
    report = check.run(text)
    assert report is not None and report.issues == 2
    spelling = next(x for x in report.lints[text] if text[x.start : x.end] == "florilegium")
    after_ignore = check.run(text, ignored=frozenset({ignore_key(text, spelling)}))
    assert after_ignore is not None and after_ignore.issues == 1 and after_ignore.changed == [(0, text)]
    checker.add_words(["Teh"])
    after_word = check.run(text)
    assert after_word is not None and after_word.issues == 1 and len(checker.calls) == 1


def test_a_stopped_run_returns_nothing_and_long_paragraphs_are_left_alone() -> None:
    check = DocumentCheck(CountingChecker(), max_chars=40)
    assert check.run("Its a nice day.", stop=lambda: True) is None
    report = check.run("Its a nice day.\n" + "Word " * 20)
    assert report is not None and (report.issues, report.too_long, report.skipped) == (1, 1, 0)
