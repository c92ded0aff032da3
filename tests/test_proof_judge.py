"""Proofreading judged by the model: candidates from Harper, the word lists and the model's answer, taken by score and margin."""

from __future__ import annotations

from app.desk.proofread import BOTH, CORRECTION, MODEL, REWORDING
from app.grammar import Lint
from app.proofing import MARGINS, plan, proofread, split_sentences
from app.proofing import candidates, tables
from app.proofing.judge import CONTEXT


def judge(likely: dict[str, float], default: float = -40.0):
    """A scorer that knows a few sentences' log-probabilities; every other text scores `default`. Each text must come
    after the judge's CONTEXT; `asked` records them without it."""
    asked: list[list[str]] = []

    def scorer(texts: list[str]) -> list[float]:
        assert all(t.startswith(CONTEXT) for t in texts)
        asked.append([t.removeprefix(CONTEXT) for t in texts])
        return [likely.get(t.removeprefix(CONTEXT), default) for t in texts]

    scorer.asked = asked  # type: ignore[attr-defined]
    return scorer


def changes(result) -> list[tuple[str, str, str, str]]:
    return [(result.original[h.start : h.end], h.replacement, h.source, h.kind) for h in result.hunks]


def test_a_word_list_candidate_far_likelier_than_the_original_is_taken_with_the_models_reason() -> None:
    text = "The soup is to hot to eat."
    result = proofread(text, [], text, judge({"The soup is too hot to eat.": -30.0}))
    assert result.corrected == "The soup is too hot to eat."
    (hunk,) = result.hunks
    assert (hunk.source, hunk.kind) == (MODEL, CORRECTION)
    assert hunk.reason == "model: “too” is far likelier than “to” here (Δ log-prob 10.0)"


def test_a_candidate_that_gains_less_than_its_margin_is_not_taken() -> None:
    text = "The soup is to hot to eat."
    gain = MARGINS["table"] - 0.5
    result = proofread(text, [], text, judge({"The soup is too hot to eat.": -40.0 + gain}))
    assert result.corrected == text and not result.hunks


def test_harpers_suggestions_are_all_candidates_and_the_likeliest_wins() -> None:
    text = "We walked until sunset untill dark."
    lint = Lint(23, 29, "spelling", "Did you mean to spell `untill` this way?", ("distill", "until"), "SpellCheck")
    result = proofread(text, [lint], text, judge({"We walked until sunset until dark.": -20.0, "We walked until sunset distill dark.": -35.0}))
    assert result.corrected == "We walked until sunset until dark."
    assert changes(result) == [("untill", "until", BOTH, CORRECTION)]
    assert result.hunks[0].reason.startswith("Did you mean to spell")


def test_a_harper_fix_the_model_does_not_prefer_is_shown_apart_not_applied() -> None:
    text = "The colour of the sea."
    lint = Lint(4, 10, "spelling", "Did you mean `color`?", ("color",), "SpellCheck")
    result = proofread(text, [lint], text, judge({"The colour of the sea.": -10.0, "The color of the sea.": -12.0}))
    assert result.corrected == text
    assert changes(result) == [("colour", "color", "harper", REWORDING)]


def test_the_models_one_for_one_change_is_judged_and_a_bigger_one_is_a_rewording() -> None:
    text = "I seen that film last week."
    answer = "I saw that film last week, and I loved it."
    result = proofread(text, [], answer, judge({"I saw that film last week.": -15.0}))
    assert result.corrected == "I saw that film last week."
    assert ("seen", "saw", MODEL, CORRECTION) in changes(result)
    assert any(kind == REWORDING and "loved" in new for _, new, _, kind in changes(result))


def test_a_rewording_model_answer_never_drops_a_word() -> None:
    text = "She drinks less cups of coffee."
    answer = "She's drinking fewer cups of coffee."
    result = proofread(text, [], answer, judge({"She drinks fewer cups of coffee.": -20.0, "She's drinking fewer cups of coffee.": -5.0}))
    assert result.corrected == "She drinks fewer cups of coffee."


def test_chinese_confusable_characters_are_candidates() -> None:
    text = "他高兴的跳了起来。"
    result = proofread(text, [], text, judge({"他高兴地跳了起来。": -20.0}))
    assert result.corrected == "他高兴地跳了起来。"


def test_each_sentence_is_scored_alone_and_each_text_once() -> None:
    text = "Its late. We walk home."
    scorer = judge({"It's late.": -20.0})
    result = proofread(text, [], text, scorer)
    assert result.corrected == "It's late. We walk home."
    (texts,) = scorer.asked
    assert len(texts) == len(set(texts)) and "Its late." in texts and "We walk home." in texts
    assert all(t.count(".") == 1 for t in texts)


def test_without_candidates_nothing_is_scored() -> None:
    scorer = judge({})
    assert proofread("Hmm.", [], "Hmm.", scorer).hunks == () and scorer.asked == []


def test_sentences_split_at_their_ends_in_both_scripts() -> None:
    parts = split_sentences("  One. Two?  三。四！\nFive")
    assert [p.text for p in parts] == ["One.", "Two?", "三。", "四！", "Five"]
    assert all("  One. Two?  三。四！\nFive"[p.start : p.end] == p.text for p in parts)


def test_candidates_keep_the_case_and_apostrophe_of_the_original() -> None:
    found = {(c.replacement, c.source) for c in candidates.english("Its raining. They’re house.")}
    assert ("It's", "table") in found and ("Their", "table") in found and ("There", "table") in found


def test_could_of_and_verb_forms_are_offered() -> None:
    found = {c.replacement for c in candidates.english("She could of gone. He walk. They has ate.")}
    assert {"have", "walks", "walked", "have", "eaten", "went"} <= found


def test_verb_forms_follow_the_spelling_rules() -> None:
    forms = tables.verb_forms()
    assert {"carries", "carried", "carry"} <= forms["carry"] | {"carry"}
    assert {"stopped", "stops"} <= forms["stop"] and {"went", "gone", "goes"} <= forms["go"]
    assert tables.third_person("push") == "pushes" and tables.regular_past("love") == ("loved",)


def test_a_plan_is_decided_again_with_other_margins_without_scoring_again() -> None:
    text = "The soup is to hot to eat."
    p = plan(text, [], text)
    scores = {t: -40.0 for t in p.texts()} | {CONTEXT + "The soup is too hot to eat.": -40.0 + MARGINS["table"] - 0.5}
    assert p.decide(scores).corrected == text
    assert p.decide(scores, MARGINS | {"table": MARGINS["table"] - 1.0}).corrected == "The soup is too hot to eat."


def test_where_harper_flagged_a_span_its_suggestion_stands_against_a_barely_likelier_word_list_one() -> None:
    text = "Their waiting outside."
    lint = Lint(0, 5, "grammar", "Did you mean `They're`?", ("They're",), "TheirThey're")
    scores = {"They're waiting outside.": -20.0, "There waiting outside.": -19.5}
    assert proofread(text, [lint], text, judge(scores)).corrected == "They're waiting outside."
    scores["There waiting outside."] = -20.0 + MARGINS["table"] + 0.5  # likelier by more than its own margin
    assert proofread(text, [lint], text, judge(scores)).corrected == "There waiting outside."


def test_of_a_verb_form_and_an_edit_beside_it_only_the_likelier_is_taken() -> None:
    text = "He has wrote three letters."
    scores = {"He has written three letters.": -20.0, "He had wrote three letters.": -35.0}
    assert proofread(text, [], text, judge(scores)).corrected == "He has written three letters."


def test_two_misspelt_neighbours_are_both_fixed() -> None:
    text = "We met at the libary tomorow."
    lints = [Lint(14, 20, "spelling", "Spelling", ("library",), "SpellCheck"), Lint(21, 28, "spelling", "Spelling", ("tomorrow",), "SpellCheck")]
    scores = {"We met at the library tomorow.": -30.0, "We met at the libary tomorrow.": -30.0}
    assert proofread(text, lints, text, judge(scores)).corrected == "We met at the library tomorrow."
