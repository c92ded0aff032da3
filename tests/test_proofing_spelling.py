"""Known words one typo away from a word Harper flags: candidates for the judge, never merged as Harper's fixes."""

from __future__ import annotations

from app.desk.proofread import NEAR_RULE, harper_lints, merge
from app.grammar import Checker, Lint
from app.proofing import candidates, plan
from app.proofing.judge import CONTEXT
from app.proofing.spelling import edits, near_lints


def test_the_common_typos_are_undone() -> None:
    assert {"until", "wonderful"} <= edits("untill") | edits("wonderfull")  # a doubled letter
    assert "friendly" in edits("freindly") and "because" in edits("becuase")  # two letters swapped
    assert "really" in edits("realy") and "happened" in edits("happend")  # a double letter's second, a vowel
    assert "calendar" in edits("calender") and "untill" not in edits("untill")


def test_a_word_harper_misjudges_gets_the_known_words_one_typo_away() -> None:
    text = "We will wait untill the rain stops."
    checker = Checker("American")
    lints = checker.lint(text)
    assert [x.suggestions for x in lints] == [("distill",)]  # Harper's only suggestion, as harper-py 0.2.0 lints it
    [near] = near_lints(text, lints, checker)
    assert (text[near.start : near.end], near.rule, near.kind) == ("untill", NEAR_RULE, "spelling")
    assert "until" in near.suggestions and "distill" not in near.suggestions  # Harper's own are not repeated
    assert near_lints("Untill then.", checker.lint("Untill then."), checker)[0].suggestions[0][0] == "U"  # its case


def test_near_words_are_the_judges_candidates_and_never_merged_as_harpers() -> None:
    text = "We will wait untill the rain stops."
    lints = harper_lints(text, "American")
    assert NEAR_RULE in {x.rule for x in lints}
    found = {(c.replacement, c.source) for c in candidates.harper(lints)}
    assert ("until", candidates.SPELL) in found and ("distill", candidates.HARPER) in found
    assert merge(text, lints, text).corrected == "We will wait distill the rain stops."  # Harper alone, as before
    assert CONTEXT + "We will wait until the rain stops." in plan(text, lints, text).texts()


def test_no_flag_no_lookup() -> None:
    checker = Checker("American")
    assert near_lints("All is well here.", [], checker) == []
    style = Lint(0, 3, "style", "Consider another word.", ("Everything",), "Style")
    assert near_lints("All is well here.", [style], checker) == []  # style advice is not a typo
