"""The task benchmark's checks: each one a program can make, on hand-made answers."""

from __future__ import annotations

import pytest

from app.taskbench.checks import check, language_of, list_items
from app.taskbench.data import Item
from app.taskbench.proofing import Proof, score, score_item

LIBRARY = ("The city library will close for three months while workers replace its roof. During the closure, "
           "books can be borrowed from a van that visits each area twice a week.")


def summary(answer: str) -> tuple[str, ...]:
    item = Item("s", "summarize", LIBRARY, expect={"key_nouns": ["library", "roof"]})
    return check(item, answer).failures


def test_a_summary_that_leaks_a_scaffold_label_fails() -> None:
    assert summary("The library shuts while its roof is replaced.") == ()
    assert summary("Summary: The library shuts while its roof is replaced.") == ("leaked Summary:",)
    assert "leaked Text:" in summary("The library shuts for a new roof.\nText: The town council met")


def test_a_summary_must_be_shorter_and_share_the_key_nouns() -> None:
    assert "not shorter" in summary(LIBRARY + " It will reopen in the spring.")
    assert summary("Books come by van for a while.") == ("key nouns missing (library, roof)",)
    assert summary("The libraries close while the roof is mended.") == ()  # one of two nouns is enough, plurals count


def test_a_label_the_input_has_is_no_leak() -> None:
    item = Item("s", "summarize", "Text: a note. " + LIBRARY, expect={"key_nouns": ["library"]})
    assert check(item, "Text: the library closes.").passed


def translation(answer: str, language: str = "French") -> tuple[str, ...]:
    item = Item("t", "translate", "Anna bought 12 apples at the market on Saturday.", language=language, expect={"keep": ["Anna", "12"]})
    return check(item, answer).failures


def test_a_translation_in_the_wrong_language_fails() -> None:
    assert translation("Anna a acheté 12 pommes au marché samedi.") == ()
    assert translation("Anna compró 12 manzanas en el mercado el sábado.") == ("in Spanish, not French",)
    assert translation("Anna bought 12 apples at the market on Saturday.") == ("in English, not French",)
    assert language_of("安娜星期六在市场上买了12个苹果。") == "Chinese"


def test_a_translation_keeps_numbers_and_names() -> None:
    assert translation("Elle a acheté douze pommes au marché samedi.") == ("lost 'Anna'", "lost '12'")


@pytest.mark.parametrize("answer, dropped", [
    ("She received the parcel on Monday morning.", ()),
    ("she received the parcel, on Monday morning", ()),  # case and punctuation are neither fixes nor losses
    ("She received the parcel on Monday.", ("morning",)),
    ("She received the package on Monday morning.", ("parcel",)),  # replaced is lost too
    ("Yes, she received the big parcel on Monday morning.", ()),  # added words lose nothing
])
def test_dropped_words_are_the_original_words_lost_outside_the_error(answer: str, dropped: tuple[str, ...]) -> None:
    proof = score("She recieved the parcel on Monday morning.", "She received the parcel on Monday morning.", answer)
    assert proof == Proof(True, dropped)


def test_a_change_inside_the_error_span_is_no_loss_but_no_fix() -> None:
    original, gold = "She recieved the parcel on Monday morning.", "She received the parcel on Monday morning."
    assert score(original, gold, "She got the parcel on Monday morning.") == Proof(False, ())
    assert score(original, gold, original) == Proof(False, ())
    assert score(original, gold, "") == Proof(False, ())  # nothing shown: the original stands


def test_fixed_needs_the_correction_in_place() -> None:
    original, gold = "I could of finished the report yesterday.", "I could have finished the report yesterday."
    assert score(original, gold, gold).passed
    assert not score(original, gold, "I could have of finished the report yesterday.").fixed
    assert score("他高兴的跳了起来。", "他高兴地跳了起来。", "他高兴地跳了起来！").passed
    assert score("他高兴的跳了起来。", "他高兴地跳了起来。", "他高兴地跳了。") == Proof(True, ("起", "来"))


def test_the_proofread_verdict_is_fixed_and_nothing_dropped() -> None:
    item = Item("p", "proofread", "We made less mistakes this time.", kind="less-fewer", expect={"corrected": "We made fewer mistakes this time."})
    assert check(item, "We made fewer mistakes this time.").passed
    assert check(item, "We made fewer mistakes.").failures == ("dropped this, time",)


def test_an_equally_correct_full_form_listed_by_the_item_counts_as_fixed() -> None:
    expect = {"corrected": "It's been snowing all night.", "also": ["It has been snowing all night."]}
    item = Item("p", "proofread", "Its been snowing all night.", kind="its-its", expect=expect)
    assert score_item(item, "It has been snowing all night.").passed and check(item, "It has been snowing all night.").passed
    assert score_item(item, "It's been snowing all night.").passed
    assert not score_item(item, "It is been snowing all night.").fixed  # not a reading the item lists
    assert not score_item(Item("q", "proofread", item.text, expect={"corrected": expect["corrected"]}), "It has been snowing all night.").fixed


def test_an_answer_copied_from_a_few_shot_example_fails() -> None:
    item = Item("r", "rewrite", "At this point in time we are not in a position to offer a refund.", instruction="shorter")
    assert check(item, "We cannot offer a refund now.").passed
    assert check(item, "If you cannot attend, please tell us in advance.").failures == ("copied a few-shot example",)


def test_continue_must_not_loop_and_continues_chinese_in_chinese() -> None:
    item = Item("c", "continue", "老钟敲了十二下，玛莎放下了手里的书。", lang="zh")
    assert check(item, "她走到窗前，看着外面的雪。").passed
    assert check(item, "She walked to the window and looked at the snow.").failures == ("not in Chinese",)
    looping = Item("c", "continue", "The river was higher than anyone could remember.")
    assert check(looping, "The water rose and rose.", stop_reason="repetition").failures == ("looped",)
    assert check(looping, " It rained all night. It rained all night. It rained all night.").failures == ("looped",)


def test_lists_for_outline_and_brainstorm() -> None:
    outline = Item("o", "outline", "How volcanoes form")
    assert check(outline, "1. Magma\n2. Pressure\n3. Eruption").passed
    assert check(outline, "1. Magma\n2. Magma\n3. Magma").failures == ("a list of 1 different items",)
    assert check(outline, "Volcanoes form when magma rises.").failures == ("a list of 0 different items",)
    assert list_items("- one\n* two\n3) three\n4、四") == ["one", "two", "three", "四"]


@pytest.mark.parametrize("expect, good, bad, failure", [
    ({"question": True}, "Does the train leave at noon?", "The train leaves at noon, yes.", "not a question"),
    ({"list": 3}, "candle\nmap\ncompass", "A candle and a map.", "not a list of 3"),
    ({"language": "German"}, "Meine Schwester wohnt in einer kleinen Stadt.", "My sister lives in a small town indeed.", "not in German"),
    ({"uppercase": True}, "KEEP CALM AND CARRY ON", "Keep calm and carry on", "not in capitals"),
])
def test_instruct_answers_keep_the_form_asked_for(expect: dict, good: str, bad: str, failure: str) -> None:
    item = Item("i", "instruct", "some text", instruction="do it", expect=expect)
    assert check(item, good).passed
    assert check(item, bad).failures == (failure,)


def test_an_empty_answer_fails_every_task() -> None:
    assert check(Item("o", "outline", "How volcanoes form"), "  ").failures == ("empty",)
