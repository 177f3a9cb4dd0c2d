"""Statistics of a study's per-seed results: summaries, paired differences with their 95 %
confidence intervals, whether a difference is resolved, and how many seeds a comparison needs.

The rules (``RULE`` and ``seed_rule``) are stated in every report. Runs that share a seed share
the initial weights and the data order, so two settings are compared on the seeds both ran, by
the per-seed differences (a paired t-test and its interval); with no two seeds in common, Welch's
unequal-variance test. Student's t comes from scipy.stats.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal, Sequence

from scipy import stats as _scipy

ALPHA = 0.05
CONFIDENCE = 1 - ALPHA
SEPARATED_MIN = 3
RULE = (
    "each difference is the mean of the per-seed differences over the seeds both sides ran (they share initial"
    f" weights and data order), with its {CONFIDENCE:.0%} confidence interval from Student's t; with no two seeds in"
    " common, the difference of the means with Welch's interval. A difference is called resolved when its interval"
    f" excludes zero (the two-sided t-test gives p < {ALPHA:g}), or when, with at least {SEPARATED_MIN} seeds a side,"
    " every seed of one side is beyond every seed of the other (for 3 against 3 seeds a permutation probability of"
    " 1/20 in the observed direction: it catches a setting that breaks training in every seed by different amounts;"
    " tables mark it `sep`); with fewer than two seeds per side nothing is called resolved."
)

Verdict = Literal["up", "down", "within", "undecided"]


def seed_rule(difference_of_interest: float, max_seeds: int) -> str:
    """The rule that chose the number of seeds, with this study's numbers."""
    d = difference_of_interest
    return (
        f"every setting starts with the study's seeds (at least 3). A comparison is decided when it is resolved, or when"
        f" its {CONFIDENCE:.0%} interval lies within ±{d:g} nats/char, the smallest difference this study cares about"
        f" (no difference that large). An undecided comparison (its interval holds zero and reaches beyond ±{d:g}: a"
        f" difference of interest would be inside the noise) gets more seeds on both sides: the fewest n at which an"
        f" interval of the observed spread s would be at most {d / 2:g} on either side (t(0.975, n-1) s / sqrt(n) <= {d / 2:g};"
        f" such an interval either excludes zero or lies within ±{d:g}), at most {max_seeds}. This repeats until every"
        " comparison is decided or at the limit. Adding seeds until decided makes the 5 % level approximate."
    )


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (ddof 1); 0 for one value
    min: float
    max: float
    values: tuple[float, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(values: Sequence[float]) -> Summary:
    xs = tuple(float(v) for v in values)
    if not xs:
        raise ValueError("no values to summarize")
    n = len(xs)
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return Summary(n, mean, std, min(xs), max(xs), xs)


@dataclass(frozen=True)
class Comparison:
    """``a`` minus ``b``: the difference, its interval and test, and whether it is resolved."""

    diff: float
    test: str  # "paired", "welch" or "none"
    n: int  # seeds in the difference: pairs (paired), the smaller side (welch, none)
    t: float | None
    df: float | None
    p: float | None
    ci_low: float | None  # CONFIDENCE interval of the difference
    ci_high: float | None
    spread: float | None  # per-seed spread of the difference: std of the pairs (paired), sqrt(s_a^2 + s_b^2) (welch)
    pooled_std: float  # sqrt((s_a^2 + s_b^2) / 2): the per-seed spread of either side
    resolved: bool
    separated: bool = False  # no overlap of the per-seed values (at least SEPARATED_MIN a side)
    pairs_up: int | None = None  # paired: seeds where a is above b (None: not paired)
    pairs_down: int | None = None  # paired: seeds where a is below b

    def to_dict(self) -> dict:
        return asdict(self)

    def verdict(self, difference_of_interest: float) -> Verdict:
        """up / down: resolved; within: the interval lies inside ±difference_of_interest; else undecided."""
        if self.resolved:
            return "up" if self.diff > 0 else "down"
        if self.ci_low is not None and -difference_of_interest < self.ci_low and self.ci_high < difference_of_interest:
            return "within"
        return "undecided"


def compare(a: Sequence[float], b: Sequence[float], seeds_a: Sequence[int] | None = None,
            seeds_b: Sequence[int] | None = None) -> Comparison:
    """``a - b``: paired over the seeds both lists ran when seeds are given and at least two are
    shared, Welch's test otherwise."""
    sa, sb = summarize(a), summarize(b)
    pooled = math.sqrt((sa.std**2 + sb.std**2) / 2)
    separated = min(sa.n, sb.n) >= SEPARATED_MIN and (sa.min > sb.max or sa.max < sb.min)
    if seeds_a is not None and seeds_b is not None:
        by_seed = dict(zip(seeds_b, b))
        diffs = [x - by_seed[s] for s, x in zip(seeds_a, a) if s in by_seed]
        if len(diffs) >= 2:
            d = summarize(diffs)
            t, df, p, low, high = _interval(d.mean, d.std / math.sqrt(d.n), d.n - 1)
            return Comparison(d.mean, "paired", d.n, t, df, p, low, high, d.std, pooled, p < ALPHA or separated, separated,
                              sum(x > 0 for x in diffs), sum(x < 0 for x in diffs))
    diff = sa.mean - sb.mean
    if sa.n < 2 or sb.n < 2:
        return Comparison(diff, "none", min(sa.n, sb.n), None, None, None, None, None, None, pooled, False)
    va, vb = sa.std**2 / sa.n, sb.std**2 / sb.n
    df = (va + vb) ** 2 / (va**2 / (sa.n - 1) + vb**2 / (sb.n - 1)) if va + vb > 0 else sa.n + sb.n - 2
    t, df, p, low, high = _interval(diff, math.sqrt(va + vb), df)
    spread = math.sqrt(sa.std**2 + sb.std**2)
    return Comparison(diff, "welch", min(sa.n, sb.n), t, df, p, low, high, spread, pooled, p < ALPHA or separated, separated)


def _interval(diff: float, stderr: float, df: float) -> tuple[float, float, float, float, float]:
    """t, df, two-sided p and the CONFIDENCE interval of ``diff`` with standard error ``stderr``."""
    if stderr == 0:  # identical per-seed differences: the interval is the point
        return (math.copysign(math.inf, diff) if diff else 0.0), df, (0.0 if diff else 1.0), diff, diff
    t = diff / stderr
    p = float(2 * _scipy.t.sf(abs(t), df))
    half = float(_scipy.t.ppf(1 - ALPHA / 2, df)) * stderr
    return t, df, p, diff - half, diff + half


def seeds_needed(c: Comparison, difference_of_interest: float, max_seeds: int) -> int:
    """Seeds the seed rule asks for on both sides of ``c`` (``c.n`` when it is decided, at the
    limit, or has fewer than two seeds: no spread to go by)."""
    if c.spread is None or c.n >= max_seeds or c.verdict(difference_of_interest) != "undecided":
        return c.n
    target = difference_of_interest / 2
    for n in range(c.n + 1, max_seeds + 1):
        if _scipy.t.ppf(1 - ALPHA / 2, n - 1) * c.spread / math.sqrt(n) <= target:
            return n
    return max_seeds


def monotonic(means: Sequence[float], direction: str = "rising") -> bool:
    """Whether the means rise (or fall) at every step."""
    pairs = list(zip(means[:-1], means[1:]))
    return all(b > a for a, b in pairs) if direction == "rising" else all(b < a for a, b in pairs)
