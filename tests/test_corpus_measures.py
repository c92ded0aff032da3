"""The corpus statistics give the textbooks' numbers: each formula checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from app.corpus import measures

# Manning & Schütze, Foundations of Statistical NLP (1999), ch. 5: counts from 14,307,668 tokens of newswire.
MS_TOKENS = 14_307_668


def test_t_score_of_new_companies_is_manning_and_schutzes() -> None:
    # C(new) = 15,828, C(companies) = 4,675, C(new companies) = 8; M&S §5.3.1 give t ≈ 0.999932.
    e = 15_828 * 4_675 / MS_TOKENS  # 5.171765...
    assert measures.expected(15_828, 4_675, MS_TOKENS) == pytest.approx(e)
    assert measures.t_score(8, e) == pytest.approx((8 - 5.171765) / math.sqrt(8), abs=1e-6)
    assert measures.t_score(8, e) == pytest.approx(0.999932, abs=1e-6)


def test_mutual_information_of_ayatollah_ruhollah_is_manning_and_schutzes() -> None:
    # C(Ayatollah) = 42, C(Ruhollah) = 20, both together 20 times: M&S table 5.14 gives I = 18.38 bits.
    e = 42 * 20 / MS_TOKENS
    assert measures.mutual_information(20, e) == pytest.approx(18.38, abs=0.005)
    assert measures.mutual_information(0, e) == -math.inf


def test_g2_sums_the_four_cells_of_the_table() -> None:
    # A word seen 10 times in 1,000 target tokens and 20 times in 10,000 reference tokens: N = 11,000, 30 of the word.
    e11, e12 = 1_000 * 30 / 11_000, 10_000 * 30 / 11_000
    e21, e22 = 1_000 * 10_970 / 11_000, 10_000 * 10_970 / 11_000
    by_hand = 2 * (10 * math.log(10 / e11) + 20 * math.log(20 / e12) + 990 * math.log(990 / e21)
                   + 9_980 * math.log(9_980 / e22))
    assert by_hand == pytest.approx(13.6379, abs=1e-4)
    assert measures.g2(10, 20, 990, 9_980) == pytest.approx(by_hand)
    assert measures.keyness_g2(10, 1_000, 20, 10_000) == pytest.approx(by_hand)


def test_g2_is_zero_for_independence_and_skips_empty_cells() -> None:
    assert measures.g2(10, 90, 100, 900) == pytest.approx(0.0, abs=1e-9)
    # Rows 5 and 10, columns 10 and 5, N = 15; the empty cell adds nothing: 2·(5·ln(5/E11) + 5·ln(5/E21) + 5·ln(5/E22)).
    e11, e21, e22 = 5 * 10 / 15, 10 * 10 / 15, 10 * 5 / 15
    assert measures.g2(5, 0, 5, 5) == pytest.approx(2 * (5 * math.log(5 / e11) + 5 * math.log(5 / e21) + 5 * math.log(5 / e22)))


def test_chi_square_p_values_at_the_usual_critical_values() -> None:
    assert measures.chi2_p(3.841459) == pytest.approx(0.05, abs=1e-6)
    assert measures.chi2_p(6.634897) == pytest.approx(0.01, abs=1e-7)
    assert measures.chi2_p(10.827566) == pytest.approx(0.001, abs=1e-8)


def test_log_dice_is_14_at_most() -> None:
    # 50 co-occurrences of words seen 100 and 300 times: 14 + log2(100/400) = 12.
    assert measures.log_dice(50, 100, 300) == pytest.approx(12.0)
    assert measures.log_dice(80, 80, 80) == pytest.approx(14.0)


def test_percent_diff_and_log_ratio_by_hand() -> None:
    # 10 per 1,000 is 10,000 per million; 20 per 10,000 is 2,000: %DIFF = 100·8,000/2,000 = 400; the ratio is 5.
    assert measures.percent_diff(10, 1_000, 20, 10_000) == pytest.approx(400.0)
    assert measures.log_ratio(10, 1_000, 20, 10_000) == pytest.approx(math.log2(5))
    assert measures.percent_diff(10, 1_000, 0, 10_000) == math.inf


def test_log_ratio_counts_a_missing_word_as_half() -> None:
    # (0.5/1,000) / (20/10,000) = 1/4: two binary orders of magnitude rarer.
    assert measures.log_ratio(0, 1_000, 20, 10_000) == pytest.approx(-2.0)
    assert measures.log_ratio(20, 10_000, 0, 1_000) == pytest.approx(2.0)


def test_dp_of_gries_2008s_example() -> None:
    # Five parts of 9, 10, 10, 10 and 11 words; the word occurs 1, 2, 3, 4, 5 times in them: DP = 0.18.
    assert measures.gries_dp([1, 2, 3, 4, 5], [9, 10, 10, 10, 11]) == pytest.approx(0.18)
    assert measures.gries_dp([2, 2], [50, 50]) == pytest.approx(0.0)
    assert measures.gries_dp([6, 0, 0], [20, 40, 40]) == pytest.approx(0.8)  # all in the smallest part: 1 − 0.2
    assert math.isnan(measures.gries_dp([0, 0], [5, 5]))


def test_window_table_cells_are_counts_that_add_up_to_the_corpus() -> None:
    table = measures.window_table(observed=4, window=100, collocate_frequency=30, tokens=10_000)
    assert table == (4, 96, 26, 9_874)
    assert sum(table) == 10_000


def test_per_million() -> None:
    assert measures.per_million(3, 1_500_000) == pytest.approx(2.0)
    assert measures.per_million(3, 0) == 0.0
