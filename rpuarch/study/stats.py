"""Statistics of a study's per-seed results: summaries and the t-tests that decide whether a
difference is resolved by the seeds run.

The rule, stated in every report: two settings differ when a two-sided t-test on their per-seed
final test losses gives p < ALPHA, or when their per-seed values do not overlap at all with at
least SEPARATED_MIN seeds a side. Runs that share a seed share the initial weights and the data
order, so when both sides have the same seeds the t-test is paired (on the per-seed differences);
otherwise Welch's unequal-variance test. The second criterion catches large effects with a large
spread (a setting that breaks training in every seed, by different amounts), which a t-test on
three seeds misses: under the null hypothesis all orderings of 3 + 3 values are equally likely,
so complete separation in a given direction has probability 1/20. No scipy: the Student-t tail comes from the regularised
incomplete beta function (continued fraction, Numerical Recipes 6.4).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

ALPHA = 0.05
SEPARATED_MIN = 3
RULE = (
    f"a difference is called resolved when a two-sided t-test on the per-seed final test losses gives p < {ALPHA:g}"
    " (paired by seed when both sides ran the same seeds: they share initial weights and data order; Welch's test"
    f" otherwise), or when, with at least {SEPARATED_MIN} seeds a side, every seed of one side is beyond every seed"
    " of the other (for 3 against 3 seeds a permutation probability of 1/20 in the observed direction: it catches"
    " a setting that breaks training in every seed by different amounts); with fewer than two seeds per side nothing"
    " is called resolved. Tables mark the second case `sep`."
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
    """``a`` minus ``b``: the difference of means, its test, and whether it is resolved."""

    diff: float
    test: str  # "paired", "welch" or "none"
    t: float | None
    df: float | None
    p: float | None
    pooled_std: float  # sqrt((s_a^2 + s_b^2) / 2): the per-seed spread the difference is set against
    resolved: bool
    separated: bool = False  # no overlap of the per-seed values (at least SEPARATED_MIN a side)

    def to_dict(self) -> dict:
        return asdict(self)


def compare(a: Sequence[float], b: Sequence[float], seeds_a: Sequence[int] | None = None,
            seeds_b: Sequence[int] | None = None) -> Comparison:
    sa, sb = summarize(a), summarize(b)
    diff = sa.mean - sb.mean
    pooled = math.sqrt((sa.std**2 + sb.std**2) / 2)
    paired = seeds_a is not None and seeds_b is not None and list(seeds_a) == list(seeds_b)
    if paired and sa.n >= 2:
        t, df = _paired_t([x - y for x, y in zip(a, b)])
        test = "paired"
    elif sa.n >= 2 and sb.n >= 2:
        t, df = _welch_t(sa, sb)
        test = "welch"
    else:
        return Comparison(diff, "none", None, None, None, pooled, False)
    p = two_sided_p(t, df)
    separated = min(sa.n, sb.n) >= SEPARATED_MIN and (sa.min > sb.max or sa.max < sb.min)
    return Comparison(diff, test, t, df, p, pooled, p < ALPHA or separated, separated)


def _paired_t(d: Sequence[float]) -> tuple[float, float]:
    s = summarize(d)
    if s.std == 0:
        return (math.copysign(math.inf, s.mean) if s.mean else 0.0), s.n - 1
    return s.mean / (s.std / math.sqrt(s.n)), s.n - 1


def _welch_t(a: Summary, b: Summary) -> tuple[float, float]:
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    if va + vb == 0:
        diff = a.mean - b.mean
        return (math.copysign(math.inf, diff) if diff else 0.0), a.n + b.n - 2
    t = (a.mean - b.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    return t, df


def two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    x = df / (df + t * t)
    return min(1.0, _betainc(df / 2.0, 0.5, x))


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float, iterations: int = 300, eps: float = 1e-15) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, iterations + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def monotonic(means: Sequence[float], direction: str = "rising") -> bool:
    """Whether the means rise (or fall) at every step."""
    pairs = list(zip(means[:-1], means[1:]))
    return all(b > a for a, b in pairs) if direction == "rising" else all(b < a for a, b in pairs)
