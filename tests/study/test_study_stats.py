"""The t-tests that decide what a study report calls resolved, against textbook values."""

from __future__ import annotations

import math

import pytest

from rpuarch.study.stats import compare, monotonic, summarize, two_sided_p


@pytest.mark.parametrize("t, df", [(2.776445, 4), (12.7062, 1), (2.228139, 10), (1.959964, 1e7)])
def test_two_sided_p_at_textbook_critical_values(t, df):
    # Student-t tables: these are the 97.5 % quantiles, so the two-sided p is 0.05.
    assert two_sided_p(t, df) == pytest.approx(0.05, abs=2e-5)


def test_p_is_one_at_zero_and_zero_at_infinity():
    assert two_sided_p(0.0, 3) == pytest.approx(1.0)
    assert two_sided_p(math.inf, 3) == 0.0


def test_summary_uses_the_sample_standard_deviation():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s.mean == 2.5 and s.std == pytest.approx(math.sqrt(5 / 3)) and s.n == 4


def test_paired_when_seeds_match_welch_otherwise():
    a, b = [1.0, 2.0, 3.5], [0.5, 1.9, 2.2]
    paired = compare(a, b, [1, 2, 3], [1, 2, 3])
    welch = compare(a, b)
    assert paired.test == "paired" and welch.test == "welch"
    # Hand computation: differences 0.5, 0.1, 1.3: mean 0.6333, sd 0.6110, t = 1.7953 with 2 df.
    assert paired.t == pytest.approx(1.79533, rel=1e-4) and paired.df == 2
    assert paired.p == pytest.approx(0.21445, rel=1e-3)
    assert not paired.resolved


def test_agrees_with_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    a, b = [3.1, 3.3, 3.2, 3.25], [3.0, 3.05, 3.1, 2.98]
    assert compare(a, b).p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-6)
    assert compare(a, b, [1, 2, 3, 4], [1, 2, 3, 4]).p == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-6)


def test_a_clear_difference_is_resolved_and_one_seed_never_is():
    assert compare([2.0, 2.1, 2.05], [1.0, 1.1, 1.02], [1, 2, 3], [1, 2, 3]).resolved
    single = compare([2.0], [1.0], [1], [1])
    assert single.test == "none" and not single.resolved


def test_monotonic():
    assert monotonic([1, 2, 3]) and not monotonic([1, 3, 2]) and monotonic([3, 2, 1], "falling")


def test_complete_separation_of_three_seeds_is_resolved_even_when_the_t_test_is_not():
    # A setting that breaks training in every seed by very different amounts: the paired t-test
    # (p ~ 0.11) misses it, the separation criterion (1/20 by permutation) does not.
    broken, reference = [4.78, 5.94, 3.11], [2.43, 2.52, 2.42]
    c = compare(broken, reference, [1, 2, 3], [1, 2, 3])
    assert c.p > 0.05 and c.separated and c.resolved
    overlapping = compare([2.50, 2.49, 2.48], [2.43, 2.52, 2.42], [1, 2, 3], [1, 2, 3])
    assert not overlapping.separated
    assert not compare([3.0, 3.1], [2.0, 2.1]).separated  # two seeds a side: never by separation
