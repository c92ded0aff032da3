"""The degenerate-answer detectors: scaffold labels, loops in English and Chinese, echoes — fed character by character."""

from __future__ import annotations

import pytest

from inference.degenerate import AnswerGuard, units

SOURCE = "The lighthouse keeper climbed the stairs slowly. At the top he lit the lamp and looked out to sea."


def stream(text: str, **guard) -> tuple[str, str, int]:
    """Feed `text` one character at a time as the engine does: (what is kept, why it ended, most ever shown)."""
    g = AnswerGuard(**guard)
    start = guard.get("start", 0)
    shown, current = start, text[:start]  # an output prefix is the prompt's, shown before the model writes
    for ch in text[start:]:
        check = g.check(current + ch)
        current = check.text
        if check.cut is not None:
            assert check.cut >= shown, "a cut never takes back text already shown"
            return current[: check.cut], check.reason, shown
        assert check.safe >= shown, "what was shown stays shown"
        shown = check.safe
    check = g.check(current, final=True)
    kept = check.text[: check.cut] if check.cut is not None else check.text
    if check.cut is None:
        assert check.safe == len(kept), "a sound answer is all shown at its end"
        shown = check.safe
    return kept, check.reason, shown


def test_units_are_words_and_cjk_characters_without_punctuation_or_numbers() -> None:
    assert [u.key for u in units("The cat, 2 cats; 春眠。Ёлка")] == ["the", "cat", "cats", "春", "眠", "ёлка"]
    assert [u.weight for u in units("a 春")] == [1.0, 0.5]
    assert [u.opens for u in units("One two. Three\nfour")] == [True, False, True, True]


def test_an_english_loop_is_cut_after_its_first_occurrence_and_never_shown() -> None:
    kept, reason, shown = stream("She said yes and I said no and she said yes and I said no and she said yes and I said no and")
    assert reason == "repetition" and kept == "She said yes and I said no and"
    assert shown <= len(kept)


def test_one_word_over_and_over_is_a_loop() -> None:
    kept, reason, _ = stream("The end " + "very " * 20)
    assert reason == "repetition" and kept.rstrip() == "The end very"


def test_a_chinese_loop_without_sentence_marks_is_cut() -> None:
    kept, reason, shown = stream("花开花落知多少" * 5)
    assert reason == "repetition" and kept == "花开花落知多少" and shown <= 7


def test_a_sentence_said_twice_is_a_loop() -> None:
    kept, reason, _ = stream("The cat sat on the mat. The cat sat on the mat. The cat")
    assert reason == "repetition" and kept.rstrip() == "The cat sat on the mat."
    kept, reason, _ = stream("夜来风雨声，花落知多少。夜来风雨声，花落知多少。")
    assert reason == "repetition" and kept == "夜来风雨声，花落知多少。"


@pytest.mark.parametrize("text", [
    "The cat sat on the mat. The dog sat on the rug. The bird sat on the fence.",
    "1. Sea\n2. Salt\n3. Storm",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "Yes. Yes. Yes.",  # a short sentence said three times is still prose
    "abcdefghij" * 30,  # one long word
])
def test_ordinary_text_is_not_a_loop_and_is_all_shown_at_the_end(text: str) -> None:
    kept, reason, _ = stream(text)
    assert reason == "" and kept == text


def test_a_loop_the_writers_own_text_has_is_left_alone() -> None:
    refrain = "row your boat row your boat row your boat row your boat"
    assert stream(refrain, source=f"Sing: {refrain}.")[1] == ""
    assert stream(refrain)[1] == "repetition"


def test_a_leading_label_is_stripped_before_anything_is_shown() -> None:
    kept, reason, _ = stream("Summary: The bridge will close.", labels=("Text", "Summary"))
    assert kept.strip() == "The bridge will close." and reason == ""
    kept, _, _ = stream("1. Outline: Sea\n2. Salt", labels=("Topic", "Outline"), start=2)
    assert kept == "1. Sea\n2. Salt"


def test_a_label_the_writer_wrote_is_kept() -> None:
    kept, _, _ = stream("Summary: all is well.", labels=("Text", "Summary"), source="Summary: all is well.")
    assert kept == "Summary: all is well."


def test_a_label_cut_short_at_the_end_is_dropped() -> None:
    assert stream("The bridge will close.\nOrig", labels=("Original", "Corrected"))[0] == "The bridge will close."
    assert stream("The bridge will close.\nOr", labels=("Original", "Corrected"))[0] == "The bridge will close.\nOr"


def test_a_copy_of_the_source_is_an_echo_and_never_shown() -> None:
    kept, reason, shown = stream(" the lighthouse keeper climbed the stairs slowly. At the top he lit", source=SOURCE, echo="copy")
    assert reason == "echo" and shown == 0


def test_mostly_a_copy_is_an_echo() -> None:
    kept, reason, shown = stream("Indeed the lighthouse keeper climbed the stairs slowly. At the top he lit the lamp", source=SOURCE, echo="copy")
    assert reason == "echo" and shown == 0


def test_an_answer_of_its_own_is_released_after_a_few_words() -> None:
    text = " and the sea rose over the rocks while the gulls cried above the lamp"
    g = AnswerGuard(source=SOURCE, echo="copy")
    assert g.check(" and the sea rose over").safe == 0  # five words: could still be a copy that began oddly
    check = g.check(" and the sea rose over the")
    assert check.safe == len(" and the sea rose over") and check.reason == ""
    assert stream(text, source=SOURCE, echo="copy") == (text, "", len(text))


def test_short_answers_and_unchecked_modes_are_never_echoes() -> None:
    assert stream(" the lamp", source=SOURCE, echo="copy")[1] == ""  # too short to call a copy
    assert stream("Once upon a time", source="Once", echo="copy") == ("Once upon a time", "", 16)  # too short a source
    assert stream(SOURCE, source=SOURCE, echo="")[1] == ""  # proofread: an unchanged text is a fine answer


def test_same_mode_flags_only_an_unchanged_answer() -> None:
    assert stream(SOURCE, source=SOURCE, echo="same")[1] == "echo"
    assert stream("The lighthouse keeper climbed the stairs quickly.", source=SOURCE, echo="same")[1] == ""
    assert stream("The lighthouse keeper", source=SOURCE, echo="same") == ("The lighthouse keeper", "", len("The lighthouse keeper"))


def test_unknown_echo_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        AnswerGuard(echo="maybe")


def test_a_word_still_being_written_is_shown_unless_it_may_start_a_repeat() -> None:
    assert AnswerGuard().check("Once").safe == len("Once")  # a server may pause mid-word: nothing to wait for
    assert AnswerGuard().check("the cat and th").safe == len("the cat and")  # "th…" may be "the" again


def test_a_loop_is_cut_before_the_quote_that_opened_its_next_round() -> None:
    text = "“I am sorry,” she said. “I am sorry, I did not mean it.”\n\n“I am sorry, I did not mean it.”\n\n“I am sorry, I did"
    kept, reason, _ = stream(text)
    assert reason == "repetition" and kept == "“I am sorry,” she said. “I am sorry, I did not mean it.”"


def test_a_loop_of_the_source_is_an_echo() -> None:
    kept, reason, shown = stream("\n\n" + SOURCE + "\n\n" + SOURCE, source=SOURCE, echo="copy")
    assert reason == "echo" and shown == 0
