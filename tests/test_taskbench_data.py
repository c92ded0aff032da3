"""The shipped evaluation set: its size and kinds, well-formed items, and no overlap with the prompts' few-shot examples."""

from __future__ import annotations

from collections import Counter

from app.taskbench.checks import check
from app.taskbench.data import Item, load_set, scaffolds, spread
from app.taskbench.proofing import error_span, words
from inference.degenerate import units
from inference.tasks import TASKS

PROOF_KINDS = ("spelling", "its-its", "their-theyre", "agreement", "could-of", "a-an", "less-fewer", "to-too", "homophone", "tense")
GRAM = 5  # a shared run of five words (ten CJK characters) would be a copied example, not a coincidence


def _grams(text: str) -> set[tuple[str, ...]]:
    keys = [u.key for u in units(text)]
    return {tuple(keys[i : i + GRAM]) for i in range(len(keys) - GRAM + 1)}


def test_every_task_has_a_set_in_english_and_chinese() -> None:
    sets = load_set()
    assert set(sets) == set(TASKS)
    for task, items in sets.items():
        assert len(items) >= (60 if task == "proofread" else 24), task
        assert {"en", "zh"} <= {i.lang for i in items} or task == "instruct" or task == "translate", task
    assert "Chinese" in {i.language for i in sets["translate"]} and "Chinese" in {i.expect.get("language") for i in sets["instruct"]}
    ids = [i.id for items in sets.values() for i in items]
    assert len(ids) == len(set(ids))


def test_proofreading_has_six_sentences_of_each_kind_each_with_one_error() -> None:
    items = load_set(("proofread",))["proofread"]
    kinds = Counter(i.kind for i in items)
    assert all(kinds[k] >= 6 for k in PROOF_KINDS), kinds
    for item in items:
        orig, gold = words(item.text), words(item.expect["corrected"])
        i1, i2, j1, j2 = error_span(orig, gold)
        assert (i2 - i1) + (j2 - j1) <= 4, item.id  # one error: a word or two, not a rewrite
        assert check(item, item.expect["corrected"]).passed, item.id
        assert not check(item, item.text).passed, item.id


def test_no_input_or_answer_overlaps_a_few_shot_example() -> None:
    scaffold_grams = set().union(*(_grams(p.text or "") for p in scaffolds()))
    for items in load_set().values():
        for item in items:
            for text in (item.text, item.instruction, item.expect.get("corrected", "")):
                assert not (_grams(text) & scaffold_grams), (item.id, _grams(text) & scaffold_grams)


def test_a_limited_run_takes_each_kind_in_turn() -> None:
    items = [Item(f"{k}{n}", "proofread", "x", kind=k) for k in "abc" for n in range(3)]
    assert [i.id for i in spread(items, 4)] == ["a0", "b0", "c0", "a1"]
    assert spread(items, None) == items


def test_the_error_free_sentences_and_the_dev_split_are_apart_from_the_eval_set_and_the_examples() -> None:
    from app.taskbench.data import DEV_DIR, load, load_clean

    scaffold_grams = set().union(*(_grams(p.text or "") for p in scaffolds()))
    eval_items = load("proofread")
    eval_grams = set().union(*(_grams(i.text) | _grams(i.expect["corrected"]) for i in eval_items))
    clean, dev, dev_clean = load_clean(), load("proofread", DEV_DIR), load_clean(DEV_DIR)
    assert len(clean) >= 40 and len(dev) >= 30 and len(dev_clean) >= 40
    assert {"en", "zh"} <= {i.lang for i in clean} and {"en", "zh"} <= {i.lang for i in dev_clean}
    for item in clean + dev_clean:
        assert not (_grams(item.text) & scaffold_grams), item.id
        assert check(item, item.text).passed, item.id  # an error-free sentence left as it is passes
    for item in dev + dev_clean:
        assert not (_grams(item.text) & eval_grams), item.id
    assert not {i.text for i in clean} & {i.text for i in dev_clean}
