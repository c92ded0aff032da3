"""The statistics of corpus linguistics as small functions of plain counts: association, keyness and dispersion.

Each function is one published formula, written as the README writes it, so a result can be checked by hand.
Logarithms: log2 for MI, logDice and log ratio (their units are bits), the natural log for G² (a chi-square value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Hardie (2014): a frequency of 0 stands as 0.5 in the log ratio, so a word absent from one side has a finite ratio.
ZERO_STANDIN = 0.5
PER_MILLION = 1_000_000


def per_million(count: float, tokens: int) -> float:
    """A frequency normalised to occurrences per million tokens (0 for an empty corpus)."""
    return count * PER_MILLION / tokens if tokens else 0.0


def expected(row_total: float, column_total: float, total: float) -> float:
    """The expected count of a contingency cell under independence: E = R·C / N."""
    return row_total * column_total / total if total else 0.0


def g2(o11: float, o12: float, o21: float, o22: float) -> float:
    """Dunning's (1993) log-likelihood G² = 2 Σ O·ln(O/E) over the four cells of a 2×2 table; an O of 0 adds 0."""
    n = o11 + o12 + o21 + o22
    rows, columns = (o11 + o12, o21 + o22), (o11 + o21, o12 + o22)
    cells = ((o11, rows[0], columns[0]), (o12, rows[0], columns[1]), (o21, rows[1], columns[0]), (o22, rows[1], columns[1]))
    return 2 * sum(o * math.log(o / expected(r, c, n)) for o, r, c in cells if o > 0)


def chi2_p(statistic: float) -> float:
    """The p-value of a chi-square statistic with one degree of freedom: P(X > x) = erfc(√(x/2))."""
    return math.erfc(math.sqrt(max(statistic, 0.0) / 2))


def mutual_information(observed: float, expected_count: float) -> float:
    """Church & Hanks (1990) (pointwise) mutual information: MI = log2(O / E); -inf when O is 0."""
    return math.log2(observed / expected_count) if observed > 0 else -math.inf


def t_score(observed: float, expected_count: float) -> float:
    """The t-score of a co-occurrence (Church et al. 1991): t = (O − E) / √O; 0 when O is 0."""
    return (observed - expected_count) / math.sqrt(observed) if observed > 0 else 0.0


def log_dice(observed: float, node_frequency: float, collocate_frequency: float) -> float:
    """Rychlý's (2008) logDice = 14 + log2(2·O / (f_node + f_collocate)); 14 at most, -inf when O is 0."""
    return 14 + math.log2(2 * observed / (node_frequency + collocate_frequency)) if observed > 0 else -math.inf


def window_table(observed: int, window: int, collocate_frequency: int, tokens: int) -> tuple[int, int, int, int]:
    """The 2×2 table of a window co-occurrence (Evert 2008): rows in/out of the node's windows, columns c/not c.

    `window` is the number of token positions inside the node's windows (their union, node tokens left out), so
    O11 = observed, O12 = window − O, O21 = f_c − O, O22 = N − window − f_c + O; every cell is a count ≥ 0.
    """
    return observed, window - observed, collocate_frequency - observed, tokens - window - collocate_frequency + observed


def keyness_g2(target_count: int, target_tokens: int, reference_count: int, reference_tokens: int) -> float:
    """Keyness log-likelihood: G² of the table (a, b / c − a, d − b) for a word seen a times in c and b times in d."""
    return g2(target_count, reference_count, target_tokens - target_count, reference_tokens - reference_count)


def percent_diff(target_count: int, target_tokens: int, reference_count: int, reference_tokens: int) -> float:
    """Gabrielatos & Marchi's (2012) %DIFF = 100·(NF_t − NF_r) / NF_r, NF per million; +inf when the reference has 0."""
    nf_target = per_million(target_count, target_tokens)
    nf_reference = per_million(reference_count, reference_tokens)
    if nf_reference == 0:
        return math.inf if nf_target > 0 else 0.0
    return 100 * (nf_target - nf_reference) / nf_reference


def log_ratio(target_count: int, target_tokens: int, reference_count: int, reference_tokens: int) -> float:
    """Hardie's (2014) log ratio = log2((a/c) / (b/d)): +1 is twice as frequent in the target; a zero count is 0.5."""
    a = target_count or ZERO_STANDIN
    b = reference_count or ZERO_STANDIN
    return math.log2((a / target_tokens) / (b / reference_tokens))


def gries_dp(counts: Sequence[float], sizes: Sequence[float]) -> float:
    """Gries's (2008) deviation of proportions DP = ½ Σ |v_i − s_i|: 0 even, near 1 all in one small part.

    v_i is part i's share of the word's occurrences, s_i its share of the corpus; NaN when the word never occurs.
    """
    total, size = sum(counts), sum(sizes)
    if total == 0 or size == 0:
        return math.nan
    return 0.5 * sum(abs(c / total - s / size) for c, s in zip(counts, sizes, strict=True))
