"""The statistics that decide what a study report calls resolved, against textbook values and
hand computations, and the rule that chooses the number of seeds."""

from __future__ import annotations

import math

import pytest

from rpuarch.study.stats import compare, monotonic, seeds_needed, summarize


def test_summary_uses_the_sample_standard_deviation():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s.mean == 2.5 and s.std == pytest.approx(math.sqrt(5 / 3)) and s.n == 4


def test_paired_when_seeds_match_welch_otherwise():
    a, b = [1.0, 2.0, 3.5], [0.5, 1.9, 2.2]
    paired = compare(a, b, [1, 2, 3], [1, 2, 3])
    welch = compare(a, b)
    assert paired.test == "paired" and welch.test == "welch"
    # Hand computation: differences 0.5, 0.1, 1.3: mean 0.6333, sd 0.6110, t = 1.7953 with 2 df;
    # t(0.975, 2) = 4.3027 (tables), so the 95 % interval is 0.6333 -+ 4.3027 * 0.6110 / sqrt(3).
    assert paired.t == pytest.approx(1.79533, rel=1e-4) and paired.df == 2
    assert paired.p == pytest.approx(0.21445, rel=1e-3)
    half = 4.302653 * 0.611010 / math.sqrt(3)
    assert (paired.ci_low, paired.ci_high) == (pytest.approx(0.633333 - half, abs=1e-5), pytest.approx(0.633333 + half, abs=1e-5))
    assert not paired.resolved and paired.ci_low < 0 < paired.ci_high
    assert (paired.pairs_up, paired.pairs_down) == (3, 0) and welch.pairs_up is None


def test_a_difference_in_the_same_direction_in_every_seed_is_counted_even_when_unresolved():
    # The Tiki-Taka study's case: SGD breaks down in two seeds of three by very different amounts,
    # the third ends close to the other algorithm. Lower in every seed, yet not resolved.
    c = compare([2.806, 2.947, 2.791], [7.681, 24.160, 2.913], [1, 2, 3], [1, 2, 3])
    assert not c.resolved and (c.pairs_up, c.pairs_down) == (0, 3)
    assert compare([1.0, 2.0, 3.0], [1.0, 1.5, 3.5], [1, 2, 3], [1, 2, 3]).pairs_down == 1  # a tie counts neither way


def test_the_interval_excludes_zero_exactly_when_p_is_below_five_percent():
    # Textbook critical value: t(0.975, 4) = 2.776445. Differences with t just above and just below it.
    stderr = math.sqrt(0.625) / math.sqrt(5)  # of the offsets -1, -0.5, 0, 0.5, 1
    for t, resolved in ((2.80, True), (2.75, False)):
        diffs = [t * stderr + e for e in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        c = compare(diffs, [0.0] * 5, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
        assert c.t == pytest.approx(t, rel=1e-9)
        assert c.resolved == resolved == (c.ci_low > 0) == (c.p < 0.05)


def test_agrees_with_scipy_tests():
    stats = pytest.importorskip("scipy.stats")
    a, b = [3.1, 3.3, 3.2, 3.25], [3.0, 3.05, 3.1, 2.98]
    welch, ref = compare(a, b), stats.ttest_ind(a, b, equal_var=False)
    assert welch.p == pytest.approx(ref.pvalue, rel=1e-9)
    assert (welch.ci_low, welch.ci_high) == (pytest.approx(ref.confidence_interval().low), pytest.approx(ref.confidence_interval().high))
    paired, ref = compare(a, b, [1, 2, 3, 4], [1, 2, 3, 4]), stats.ttest_rel(a, b)
    assert paired.p == pytest.approx(ref.pvalue, rel=1e-9)
    assert paired.ci_high == pytest.approx(ref.confidence_interval().high)


def test_pairs_on_the_seeds_both_sides_ran():
    # The reference ran seeds 1-4, the setting 1-3 (and 7): the difference is over seeds 1-3.
    c = compare([2.0, 2.2, 2.1, 9.0], [1.0, 1.1, 1.3, 5.0], [1, 2, 3, 7], [1, 2, 3, 4])
    assert c.test == "paired" and c.n == 3
    assert c.diff == pytest.approx((1.0 + 1.1 + 0.8) / 3)


def test_a_clear_difference_is_resolved_and_one_seed_never_is():
    assert compare([2.0, 2.1, 2.05], [1.0, 1.1, 1.02], [1, 2, 3], [1, 2, 3]).resolved
    single = compare([2.0], [1.0], [1], [1])
    assert single.test == "none" and not single.resolved and single.ci_low is None
    assert single.verdict(0.02) == "undecided"


def test_identical_differences_give_a_point_interval():
    c = compare([2.0, 3.0, 4.0], [1.5, 2.5, 3.5], [1, 2, 3], [1, 2, 3])
    assert c.ci_low == c.ci_high == pytest.approx(0.5) and c.resolved and c.p == 0.0


def test_monotonic():
    assert monotonic([1, 2, 3]) and not monotonic([1, 3, 2]) and monotonic([3, 2, 1], "falling")


def test_complete_separation_of_three_seeds_is_resolved_even_when_the_t_test_is_not():
    # A setting that breaks training in every seed by very different amounts: the paired t-test
    # (p ~ 0.11) misses it, the separation criterion (1/20 by permutation) does not.
    broken, reference = [4.78, 5.94, 3.11], [2.43, 2.52, 2.42]
    c = compare(broken, reference, [1, 2, 3], [1, 2, 3])
    assert c.p > 0.05 and c.separated and c.resolved and c.verdict(0.02) == "up"
    overlapping = compare([2.50, 2.49, 2.48], [2.43, 2.52, 2.42], [1, 2, 3], [1, 2, 3])
    assert not overlapping.separated
    assert not compare([3.0, 3.1], [2.0, 2.1]).separated  # two seeds a side: never by separation


def test_verdicts_and_the_seed_rule():
    seeds = [1, 2, 3]
    # Paired differences 0.001, -0.001, 0.002: interval ~[-0.0031, 0.0045], inside +-0.02: decided.
    within = compare([1.001, 0.999, 1.002], [1.0, 1.0, 1.0], seeds, seeds)
    assert within.verdict(0.02) == "within" and seeds_needed(within, 0.02, 8) == 3
    # Differences 0.01, -0.01, 0.03 (sd 0.02): the interval holds zero and reaches beyond 0.02.
    noisy = compare([1.01, 0.99, 1.03], [1.0, 1.0, 1.0], seeds, seeds)
    assert noisy.verdict(0.02) == "undecided"
    # The fewest n with t(0.975, n-1) * 0.02 / sqrt(n) <= 0.01: t/sqrt(n) = 0.5 needs n = 18
    # (t(0.975,17)/sqrt(18) = 2.1098/4.2426 = 0.4973; n = 17: 2.1199/4.1231 = 0.5142).
    assert noisy.spread == pytest.approx(0.02)
    assert seeds_needed(noisy, 0.02, 30) == 18
    assert seeds_needed(noisy, 0.02, 8) == 8  # the limit
    # With 0.05 of interest: 3 seeds give +-0.0497 (undecided, the interval reaches 0.0597), 4 give
    # +-0.0318, 5 give 2.7764 * 0.02 / sqrt(5) = 0.0248 <= 0.025.
    assert noisy.verdict(0.05) == "undecided" and seeds_needed(noisy, 0.05, 30) == 5
    assert noisy.verdict(0.1) == "within" and seeds_needed(noisy, 0.1, 30) == 3
