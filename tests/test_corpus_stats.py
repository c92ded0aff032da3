"""Corpus statistics over stored texts: frequency lists and n-grams, keywords, collocates and dispersion, counted right."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest
from sqlite_utils import Database

from app.corpus import stats
from app.corpus.records import TextRecord
from app.corpus.store import TextFilter, iter_texts
from app.corpus.tokens import ngrams, tokens
from app.errors import UserError
from tests import corpus_sample

POEM = "床前明月光，\n疑是地上霜。\n舉頭望明月，低頭思故鄉。"  # traditional 舉, 頭, 鄉 count as 举, 头, 乡
HARBOUR = "The moon rose over the harbour. The boats lay still, and the moon was white on the water."
GARDEN = "Dear Ada, the moon was full last night and the garden was bright as day."


@pytest.fixture
def db() -> Database:
    return corpus_sample.texts_db({
        "mixed": [TextRecord(title="Quiet night", body=POEM, author="Li Bai"),
                  TextRecord(title="Harbour", body=HARBOUR, author="Anon")],
        "english": [TextRecord(title="Garden", body=GARDEN, author="Ada"),
                    TextRecord(title="Harbour again", body=HARBOUR + " " + HARBOUR, author="Anon")],
    })


@pytest.fixture(scope="module")
def sample_db() -> Database:
    return corpus_sample.sample_db(0.2, seed=3)


def _slow_counts(db: Database, corpus: str, unit: str, n: int) -> tuple[Counter, Counter, int]:
    """Counts, text ranges and the size in tokens, through tokens() and ngrams() one Token at a time."""
    counts, ranges, size = Counter(), Counter(), 0
    for text in iter_texts(db, corpus):
        found = list(tokens(text.body, unit))
        here = Counter(g.text for g in ngrams(found, n, unit))
        counts.update(here)
        ranges.update(here.keys())
        size += len(found)
    return counts, ranges, size


def test_a_word_list_of_mixed_scripts(db: Database) -> None:
    result = stats.frequencies(db, "mixed")
    rows = {row.item: row for row in result.rows}
    assert result.tokens == 20 + 18 and result.types == len(rows)
    assert (rows["the"].count, rows["moon"].count, rows["月"].count, rows["头"].count) == (5, 2, 2, 2)
    assert rows["the"].per_million == pytest.approx(5 / 38 * 1e6)
    assert [r.item for r in result.rows[:3]] == ["the", "moon", "头"]  # ties alphabetical (by code point)


@pytest.mark.parametrize("unit, n", [("word", 1), ("word", 2), ("word", 3), ("word", 4), ("char", 1), ("char", 2)])
def test_counts_equal_counting_token_by_token(sample_db: Database, unit: str, n: int) -> None:
    counts, ranges, size = _slow_counts(sample_db, "sample", unit, n)
    result = stats.frequencies(sample_db, "sample", unit=unit, n=n)
    assert result.tokens == size and result.types == len(counts)
    assert {r.item: r.count for r in result.rows} == counts
    assert {r.item: r.texts for r in result.rows} == ranges


def test_chinese_character_bigrams_stop_at_punctuation(db: Database) -> None:
    bigrams = {r.item: r.count for r in stats.frequencies(db, "mixed", n=2).rows}
    assert bigrams["明月"] == 2 and "光疑" not in bigrams and "霜举" not in bigrams
    by_hand = Counter()  # the clauses between punctuation marks, folded by hand, character pairs counted
    for clause in ("床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"):
        by_hand.update(clause[i : i + 2] for i in range(len(clause) - 1))
    assert {k: v for k, v in bigrams.items() if re.fullmatch("[\u4e00-\u9fff]+", k)} == by_hand


def test_min_count_and_limit_keep_the_commonest(db: Database) -> None:
    result = stats.frequencies(db, "english", min_count=3)
    assert {r.item for r in result.rows} == {"the", "moon", "was", "and"}
    top = stats.frequencies(db, "english", limit=2)
    assert [(r.item, r.count) for r in top.rows] == [("the", 12), ("moon", 5)]


def test_filters_select_the_texts_counted(db: Database) -> None:
    result = stats.frequencies(db, filters=TextFilter(author="Ada"))
    assert result.tokens == 15 and {r.item for r in result.rows} >= {"dear", "ada", "garden"}


def test_keywords_by_hand(db: Database) -> None:
    result = stats.keyness(db, "english", "mixed", min_count=1)
    assert (result.target_tokens, result.reference_tokens) == (51, 38)
    moon = next(k for k in result.rows if k.item == "moon")
    # moon: 5 of 51 target tokens, 2 of 38 reference tokens.
    n, row = 89, 7
    e = [51 * row / n, 38 * row / n, 51 * (n - row) / n, 38 * (n - row) / n]
    o = [5, 2, 46, 36]
    assert moon.log_likelihood == pytest.approx(2 * sum(x * math.log(x / y) for x, y in zip(o, e)))
    assert moon.percent_diff == pytest.approx(100 * (5 / 51 - 2 / 38) / (2 / 38))
    assert moon.log_ratio == pytest.approx(math.log2((5 / 51) / (2 / 38)))
    assert moon.use == "over"
    head = next(k for k in result.rows if k.item == "头")
    assert (head.target_count, head.reference_count, head.use) == (0, 2, "under")
    assert head.log_ratio == pytest.approx(math.log2((0.5 / 51) / (2 / 38)))
    uses = [k.use for k in result.rows]
    assert uses == sorted(uses, key=lambda u: u != "over")  # over-used first


def test_keywords_are_ranked_by_log_likelihood_within_each_sign(db: Database) -> None:
    rows = stats.keyness(db, "english", "mixed", min_count=1).rows
    for use in ("over", "under"):
        lls = [k.log_likelihood for k in rows if k.use == use]
        assert lls == sorted(lls, reverse=True)


def test_collocates_by_hand(db: Database) -> None:
    result = stats.collocates(db, "english", "moon", window=(1, 1), min_count=1)
    # Garden: "the moon was"; Harbour twice, each "the moon rose" and "the moon was": 5 nodes, 10 window tokens.
    assert (result.node_frequency, result.window_tokens, result.tokens) == (5, 10, 51)
    rows = {c.item: c for c in result.rows}
    assert {item: c.observed for item, c in rows.items()} == {"the": 5, "was": 3, "rose": 2}
    the = rows["the"]
    e = 10 * 12 / 51  # window tokens × f(the) / N
    assert the.expected == pytest.approx(e)
    assert the.scores["mi"] == pytest.approx(math.log2(5 / e))
    assert the.scores["t"] == pytest.approx((5 - e) / math.sqrt(5))
    assert the.scores["logdice"] == pytest.approx(14 + math.log2(2 * 5 / (5 + 12)))
    assert [c.item for c in result.rows] == sorted(rows, key=lambda k: -rows[k].scores["mi"])


def test_a_token_in_two_windows_counts_once_and_the_node_is_never_its_own_collocate() -> None:
    db = corpus_sample.texts_db({"c": [TextRecord(title="t", body="a b x b x c")]})
    result = stats.collocates(db, "c", "x", window=(1, 1), min_count=1)
    assert {c.item: c.observed for c in result.rows} == {"b": 2, "c": 1}  # the b between the nodes counts once
    assert (result.node_frequency, result.window_tokens) == (2, 3)


def test_collocates_of_a_chinese_character(db: Database) -> None:
    result = stats.collocates(db, "mixed", "月", window=(1, 1), min_count=1)
    assert {c.item: c.observed for c in result.rows} == {"明": 2, "光": 1, "低": 1}  # windows cross punctuation


def test_log_likelihood_of_a_collocate_is_negative_when_rarer_than_expected() -> None:
    body = "a b c b c b c b c b c " + "a " * 40  # near b: one a of 41, where 6 × 41 / 51 = 4.8 are expected
    db = corpus_sample.texts_db({"c": [TextRecord(title="t", body=body)]})
    rows = {c.item: c for c in stats.collocates(db, "c", "b", window=(1, 1), min_count=1).rows}
    assert (rows["a"].observed, rows["a"].expected) == (1, pytest.approx(6 * 41 / 51))
    assert rows["a"].scores["ll"] < 0 < rows["c"].scores["ll"]


@pytest.mark.parametrize("kwargs", [{"window": (0, 0)}, {"window": (-1, 3)}, {"measures": ("mi", "zscore")},
                                    {"term": "  "}])
def test_bad_collocation_requests_are_refused(db: Database, kwargs: dict) -> None:
    with pytest.raises(UserError):
        stats.collocates(db, "english", **{"term": "moon", **kwargs})


def test_dispersion_by_text(db: Database) -> None:
    result = stats.dispersion(db, "english", "moon")
    assert [(p.label, p.tokens, p.count) for p in result.parts] == [("Garden", 15, 1), ("Harbour again", 36, 4)]
    assert result.dp == pytest.approx(0.5 * (abs(1 / 5 - 15 / 51) + abs(4 / 5 - 36 / 51)))
    garden = result.parts[0]
    assert garden.per_million == pytest.approx(1 / 15 * 1e6)
    assert garden.positions == (GARDEN.index("moon") / len(GARDEN),)


def test_dispersion_by_author_joins_an_authors_texts(db: Database) -> None:
    result = stats.dispersion(db, term="moon", by="author")
    assert [(p.label, p.tokens, p.count) for p in result.parts] == [("Ada", 15, 1), ("Anon", 18 + 36, 6),
                                                                     ("Li Bai", 20, 0)]
    anon = result.parts[1]
    assert all(0 <= x < 1 for x in anon.positions) and len(anon.positions) == 6
    assert (result.tokens, result.count) == (89, 7)


def test_dispersion_of_a_term_found_nowhere_has_no_dp(db: Database) -> None:
    assert math.isnan(stats.dispersion(db, "english", "zebra").dp)


def test_results_turn_into_plain_values(db: Database) -> None:
    assert stats.frequencies(db, "english", limit=1).to_dict()["rows"][0]["item"] == "the"
    assert stats.dispersion(db, "english", "moon").to_dict()["parts"][0]["label"] == "Garden"
