"""Helpers shared by the analyses: numbers out of run reports, fact names, Markdown tables."""

from __future__ import annotations

import re
from typing import Any, Sequence

from ...report.plots import plt, save  # noqa: F401  (the Agg backend is chosen there)
from ..points import StudyPoint
from ..stats import ALPHA, Comparison, Summary

SIDES = {"rpu": "RPU", "fp": "floating point"}


def final(point: StudyPoint, side: str, key: str = "test_loss") -> float:
    return float(point.report["accuracy"][side][key])


def curve(point: StudyPoint, side: str, key: str = "test_loss") -> list[float]:
    return [float(c[key]) for c in point.report["accuracy"][side]["curve"]]


def unigram_of(record: dict[str, Any]) -> float | None:
    """The test split's unigram cross-entropy of a run (whichever field its report version has)."""
    acc = record.get("accuracy", {})
    for value in ((acc.get("unigram") or {}).get("test_loss"), acc.get("unigram_test_loss"), record.get("data", {}).get("unigram_test_loss")):
        if isinstance(value, (int, float)):
            return float(value)
    return None


def unigram(points: Sequence[StudyPoint]) -> float | None:
    """The unigram loss of the test split, mean over the finished points (one value: the same split)."""
    values = [v for v in (unigram_of(p.report) for p in points if p.report) if v is not None]
    return sum(values) / len(values) if values else None


def fact_key(*parts: Any) -> str:
    """``fact_key("asym", "up_down", 0.02) == "asym_up_down_0_02"``: a name a template can use."""
    text = "_".join(str(p).lower() for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def mean_std(s: Summary, digits: int = 4) -> str:
    return f"{s.mean:.{digits}f} ± {s.std:.{digits}f}" if s.n > 1 else f"{s.mean:.{digits}f}"


def per_seed(s: Summary, digits: int = 3) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in s.values)


def diff_text(c: Comparison, digits: int = 3) -> str:
    """``+0.043 [-0.021, +0.107] p=0.125``: the difference, its 95 % interval, p; ``*`` resolved."""
    if c.p is None:
        return f"{c.diff:+.{digits}f} (one seed)"
    mark = " * sep" if c.resolved and not c.p < ALPHA else (" *" if c.resolved else "")
    return f"{c.diff:+.{digits}f} [{c.ci_low:+.{digits}f}, {c.ci_high:+.{digits}f}] p={c.p:.3f}{mark}"


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def comparison_facts(prefix: str, c: Comparison, difference_of_interest: float) -> dict[str, Any]:
    """The facts of one comparison: difference, interval, p, verdicts (``_within``: the interval lies
    inside +-difference_of_interest; ``_undecided``: neither resolved nor within), and ``_text``,
    the difference with its interval in words."""
    verdict = c.verdict(difference_of_interest)
    seeds = f"{c.n} seed{'s' if c.n != 1 else ''}"
    text = (f"{c.diff:+.3f} nats/char (95 % interval {c.ci_low:+.3f} to {c.ci_high:+.3f}, {seeds})" if c.ci_low is not None
            else f"{c.diff:+.3f} nats/char ({seeds}: no interval)")
    return {f"{prefix}_text": text, f"{prefix}_diff": c.diff, f"{prefix}_p": c.p, f"{prefix}_resolved": c.resolved,
            f"{prefix}_resolved_up": c.resolved and c.diff > 0, f"{prefix}_resolved_down": c.resolved and c.diff < 0,
            f"{prefix}_ci_low": c.ci_low, f"{prefix}_ci_high": c.ci_high, f"{prefix}_n": c.n,
            f"{prefix}_within": verdict == "within", f"{prefix}_undecided": verdict == "undecided",
            f"{prefix}_pooled_std": c.pooled_std, f"{prefix}_pairs_up": c.pairs_up, f"{prefix}_pairs_down": c.pairs_down,
            f"{prefix}_by_separation": c.resolved and not (c.p is not None and c.p < ALPHA)}


def summary_facts(prefix: str, s: Summary) -> dict[str, Any]:
    return {f"{prefix}_mean": s.mean, f"{prefix}_std": s.std, f"{prefix}_min": s.min, f"{prefix}_max": s.max}
