"""Proofreading as Harper and the model together: the merge's rules, and its tracked changes in the review."""

from __future__ import annotations

import pytest

from app.desk.proofread import BOTH, CORRECTION, HARPER, MODEL, REWORDING, ProofHunk, apply, harper_lints, merge
from app.desk.review import Review
from app.grammar import Lint
from app.proofing.judge import CONTEXT

SENTENCE = "Their going to the libary tomorow, weather or not it rains."
FIXED = "They're going to the library tomorrow, whether or not it rains."


def lint(text: str, word: str, *suggestions: str, kind: str = "spelling", message: str = "") -> Lint:
    start = text.index(word)
    return Lint(start, start + len(word), kind, message or f"Did you mean to spell `{word}` this way?", suggestions, "SpellCheck")


def summary(text: str, hunks) -> list[tuple[str, str, str, str]]:
    return [(text[h.start : h.end], h.replacement, h.source, h.kind) for h in hunks]


def test_harper_alone_when_the_model_changed_nothing() -> None:
    lints = [lint(SENTENCE, "libary", "library", "liberty"), lint(SENTENCE, "tomorow", "tomorrow")]
    proof = merge(SENTENCE, lints, SENTENCE)
    assert summary(SENTENCE, proof.hunks) == [("libary", "library", HARPER, CORRECTION), ("tomorow", "tomorrow", HARPER, CORRECTION)]
    assert proof.hunks[0].reason == "Did you mean to spell `libary` this way?"
    assert proof.corrected == SENTENCE.replace("libary", "library").replace("tomorow", "tomorrow")


def test_a_fix_both_made_is_one_change_from_both_with_harpers_reason() -> None:
    proof = merge(SENTENCE, [lint(SENTENCE, "libary", "library")], FIXED)
    both = [h for h in proof.hunks if h.source == BOTH]
    assert summary(SENTENCE, both) == [("libary", "library", BOTH, CORRECTION)] and both[0].reason.startswith("Did you mean")
    assert proof.corrected == FIXED
    assert {h.source for h in proof.hunks} == {BOTH, MODEL} and all(h.reason == "model" for h in proof.hunks if h.source == MODEL)


def test_the_model_choosing_another_of_harpers_suggestions_agrees() -> None:
    proof = merge("A libary.", [lint("A libary.", "libary", "liberty", "library")], "A library.")
    assert summary("A libary.", proof.hunks) == [("libary", "library", BOTH, CORRECTION)]


def test_a_disagreement_keeps_harpers_fix_and_sets_the_models_apart() -> None:
    text = "We met at the libary."
    proof = merge(text, [lint(text, "libary", "library")], "We met at the liberty.")
    assert summary(text, proof.hunks) == [("libary", "library", HARPER, CORRECTION), ("libary", "liberty", MODEL, REWORDING)]
    assert proof.corrected == "We met at the library."


def test_the_models_own_small_fixes_are_corrections() -> None:
    cases = [
        ("The results was good.", "The results were good."),  # an agreement pair
        ("I seen it yesterday , then left.", "I seen it yesterday, then left."),  # spacing
        ("We went to paris.", "We went to Paris."),  # case
        ("She wants go home.", "She wants to go home."),  # a missing short word
        ("It was was late.", "It was late."),  # a doubled word
        ("He recieved a leter.", "He received a letter."),  # typos
        ("I ate alot.", "I ate a lot."),  # a split
    ]
    for text, model in cases:
        proof = merge(text, [], model)
        assert proof.hunks and all(h.kind == CORRECTION and h.source == MODEL for h in proof.hunks), text
        assert proof.corrected == model


@pytest.mark.parametrize("text, model", [
    ("The house was big.", "The house was large."),  # a synonym: not a fix of an error
    ("The house was old and cold.", "The ancient, freezing house stood empty."),  # a rewrite
    ("He left.", "He left the room in silence."),  # more than two words added
    ("She smiled, then she left the room quietly.", "She left."),  # words removed
    ("The book is on its shelf.", "the book is on its shelf."),  # a sentence's capital made small
    ("She has gone home.", "She's has gone home."),  # letters glued to a word are no missing word
])
def test_the_models_rewordings_are_set_apart_and_not_applied(text: str, model: str) -> None:
    proof = merge(text, [], model)
    assert proof.hunks and any(h.kind == REWORDING for h in proof.hunks)
    assert proof.corrected != model


def test_a_model_change_inside_a_flagged_span_is_a_correction_with_the_flags_reason() -> None:
    text = "It is very unique."
    style = Lint(text.index("very unique"), text.index("very unique") + 11, "style", "Unique is absolute.", (), "Absolute")
    proof = merge(text, [style], "It is unique.")
    assert summary(text, proof.hunks) == [("very ", "", MODEL, CORRECTION)] and proof.hunks[0].reason == "Unique is absolute."


def test_a_cut_short_answer_deletes_nothing_unless_accepted() -> None:
    text = "First paragraph is fine.\n\nSecond one has a tpyo."
    proof = merge(text, [lint(text, "tpyo", "typo")], "First paragraph is fine.")
    assert proof.corrected == text.replace("tpyo", "typo")
    assert any(h.kind == REWORDING and h.replacement == "" for h in proof.hunks)


def test_no_answer_from_the_model_leaves_harpers_fixes() -> None:
    proof = merge(SENTENCE, [lint(SENTENCE, "libary", "library")], "   ")
    assert summary(SENTENCE, proof.hunks) == [("libary", "library", HARPER, CORRECTION)]


def test_the_originals_own_spaces_around_the_text_are_kept() -> None:
    text = "\nA libary.\n"
    assert merge(text, [], "A library.").corrected == "\nA library.\n"


def test_style_lints_and_lints_without_suggestions_are_never_applied_alone() -> None:
    text = "It is very unique."
    style = Lint(6, 17, "style", "Unique is absolute.", ("unique",), "Absolute")
    assert merge(text, [style], text).hunks == ()


def test_apply_lets_an_accepted_rewording_win_over_corrections_inside_it() -> None:
    text = "the libary is shut"
    fix = ProofHunk(4, 10, "library", HARPER, "spelling", CORRECTION)
    reword = ProofHunk(0, 18, "the reading room has closed", MODEL, "model", REWORDING)
    assert apply(text, [fix]) == "the library is shut"
    assert apply(text, [fix, reword]) == "the reading room has closed"


def test_the_review_takes_corrections_and_leaves_rewordings_out_until_accepted() -> None:
    text = "We met at the libary. The house was old and cold."
    proof = merge(text, [lint(text, "libary", "library")], "We met at the library. The ancient house stood empty.")
    review = Review(text, changes=proof.hunks)
    assert review.rewordings and review.corrections
    assert review.result() == proof.corrected == "We met at the library. The house was old and cold."
    review.decide_all(True)
    assert review.result() == proof.corrected  # Accept all takes the corrections only
    for i in review.rewordings:
        review.decide(i, True)
    assert review.result() == "We met at the library. The ancient house stood empty."
    review.decide_all(False)
    assert review.result() == text


def test_the_review_shows_each_changes_source_and_reason() -> None:
    text = "We met at the libary. The house was old."
    proof = merge(text, [lint(text, "libary", "library")], "We met at the library. The ancient house stood.")
    page = Review(text, changes=proof.hunks).to_html()
    assert "title='Harper and the model: Did you mean to spell `libary` this way?'" in page
    assert "Rewordings" in page and "left out unless you accept it" in page
    assert "harper+model" in page  # the label beside the correction's ✓ ✗
    assert "Rewordings" not in Review("a b", "a c").to_html() and "title=" not in Review("a b", "a c").to_html()


def test_harper_and_the_model_together_on_a_real_sentence() -> None:
    lints = harper_lints(SENTENCE, "American")
    proof = merge(SENTENCE, lints, FIXED)
    assert proof.corrected == FIXED
    assert {h.source for h in proof.hunks} == {BOTH, MODEL}  # Harper misses weather/whether; the model has it
    text = "Fine English here.\n花园很安静，雨轻轻地落在玫瑰上。\nA libary."
    [found] = harper_lints(text, "American")  # the Chinese line is not given to Harper; offsets are the text's
    assert text[found.start : found.end] == "libary"


def test_a_fix_inside_a_reordering_is_kept_apart_from_it() -> None:
    model = "Their going to the library tomorrow, whether it rains or not."  # the embedded model's answer (seed 1)
    proof = merge(SENTENCE, harper_lints(SENTENCE, "American"), model)
    assert proof.corrected == FIXED  # Harper's their/they're, both's two spellings, the model's weather/whether
    assert [(SENTENCE[h.start : h.end], h.replacement) for h in proof.hunks if h.kind == REWORDING] == [("", " it rains"), (" it rains", "")]


def test_a_proofread_suggestion_waits_for_harper_and_drops_stale_lints() -> None:
    from app.desk.suggestion import Suggestion, make_ask

    s = Suggestion()
    s.begin("q1", make_ask("proofread", SENTENCE, 0, len(SENTENCE)))
    s.finish("q1", {"output": FIXED})
    assert s.proofread and s.review() is None and s.waiting == "Harper"  # the model has answered, Harper not yet
    assert not s.linted("q0", [])  # a superseded request's lints
    assert s.linted("q1", harper_lints(SENTENCE, "American"))
    assert s.review() is None and s.waiting == "the model's scores"
    texts = s.to_score()
    assert CONTEXT + SENTENCE in texts and s.to_score() == []  # asked once
    assert not s.scored("q0", [0.0] * len(texts))
    assert s.scored("q1", "The server cannot score texts.")
    assert s.review().result() == FIXED  # unweighed: the merge
    assert s.notes == ["The model could not weigh the corrections (The server cannot score texts.); they are merged unweighed."]


def test_a_proofread_suggestion_shows_what_the_models_scores_support() -> None:
    from app.desk.suggestion import Suggestion, make_ask

    text = "The soup is to hot to eat."
    s = Suggestion()
    s.begin("q1", make_ask("proofread", text, 0, len(text)))
    s.finish("q1", {"output": text})
    s.linted("q1", "RuntimeError: no dictionary")
    texts = s.to_score()
    assert s.scored("q1", [-10.0 if t == CONTEXT + "The soup is too hot to eat." else -30.0 for t in texts])
    assert s.review().result() == "The soup is too hot to eat."
    assert s.notes == ["Harper could not check the text (RuntimeError: no dictionary)."]
