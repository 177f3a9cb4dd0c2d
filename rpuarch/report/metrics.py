"""The headline numbers of a run report, named once for summaries, comparisons and sweeps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from .units import SI_UNITS, factor, percent, plain, si

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Metric:
    """One number of a report: ``key`` is its dotted path (baselines by name), ``better`` says
    which way is an improvement (None: neither, e.g. a tile count)."""

    key: str
    label: str
    unit: str
    better: Literal["lower", "higher"] | None

    def value(self, report: dict[str, Any]) -> float | None:
        return lookup(report, self.key)

    def show(self, value: float | None, unit: bool = True) -> str:
        """The value for people; ``unit=False`` leaves out a unit that ``header`` carries (SI
        units keep their prefixed unit in the cell, as the prefix varies from cell to cell)."""
        if value is None:
            return "n/a"
        if self.unit in SI_UNITS:
            return si(value, self.unit)
        if self.unit == "x":
            text, suffix = factor(value).removesuffix("x"), "x"
        elif self.unit == "%":
            text, suffix = percent(value).removesuffix(" %"), " %"
        elif self.unit in ("nats/char", "bits/char"):
            text, suffix = f"{value:.4f}", f" {self.unit}"
        elif self.unit in ("", "tile", "weight"):
            return plain(value)
        else:
            text, suffix = plain(value, 3), f" {self.unit}"
        return text + suffix if unit else text

    @property
    def header(self) -> str:
        """The label with the unit the cells of ``show(unit=False)`` leave out."""
        if self.unit in ("", "tile", "weight") or self.unit in SI_UNITS:
            return self.label
        return f"{self.label} [{self.unit}]"


CORE_METRICS = (
    Metric("accuracy.rpu.test_loss", "RPU test loss", "nats/char", "lower"),
    Metric("accuracy.rpu.test_bpc", "RPU test loss", "bits/char", "lower"),
    Metric("accuracy.fp.test_loss", "FP test loss", "nats/char", "lower"),
    Metric("accuracy.gap", "RPU - FP test loss", "nats/char", "lower"),
    Metric("accuracy.unigram.test_loss", "unigram test loss", "nats/char", None),
    Metric("network.weights", "weights", "weight", None),
    Metric("hardware.tiles", "tiles used", "tile", None),
    Metric("network.utilization", "array utilisation", "%", "higher"),
    Metric("hardware.area_mm2", "chip area", "mm²", "lower"),
    Metric("hardware.time_per_char_s", "time per char", "s", "lower"),
    Metric("hardware.epoch_time_s", "epoch time", "s", "lower"),
    Metric("hardware.energy_per_char_J", "energy per char", "J", "lower"),
    Metric("hardware.power_W", "power", "W", "lower"),
    Metric("hardware.ops_per_s_per_W", "efficiency", "Ops/s/W", "higher"),
)


# The metrics of sweep and comparison plots and of the sweep table (with every acceleration factor);
# the CSV files hold all.
HEADLINE_METRICS = {
    "accuracy.rpu.test_loss", "accuracy.fp.test_loss", "accuracy.gap", "accuracy.unigram.test_loss",
    "hardware.tiles", "hardware.area_mm2",
    "hardware.time_per_char_s", "hardware.energy_per_char_J", "hardware.power_W",
}


def headline_metrics(metrics: list[Metric]) -> list[Metric]:
    """Those of ``metrics`` that sweep and comparison plots show (and the sweep table)."""
    return [m for m in metrics if m.key in HEADLINE_METRICS or m.key.endswith(".acceleration_factor")]


def metrics_of(reports: list[dict[str, Any]]) -> list[Metric]:
    """The core metrics plus acceleration factor and energy ratio against every baseline that
    appears in any of ``reports``."""
    names: list[str] = []
    for report in reports:
        for baseline in report.get("baselines") or []:
            if baseline.get("name") not in names:
                names.append(baseline["name"])
    out = list(CORE_METRICS)
    for name in names:
        out.append(Metric(f"baselines.{name}.acceleration_factor", f"acceleration factor vs {name}", "x", "higher"))
        out.append(Metric(f"baselines.{name}.energy_ratio", f"energy ratio vs {name}", "x", "higher"))
    return out


def lookup(report: dict[str, Any], key: str) -> float | None:
    """The number at dotted ``key``; ``baselines.<name>.<field>`` looks the baseline up by name,
    ``accuracy.gap`` and ``accuracy.<side>.test_bpc`` are derived when absent."""
    parts = key.split(".")
    if parts[0] == "baselines":
        name, _, rest = key[len("baselines."):].rpartition(".")
        for baseline in report.get("baselines") or []:
            if baseline.get("name") == name:
                return _number(baseline.get(rest))
        return None
    if key == "accuracy.gap":
        rpu, fp = lookup(report, "accuracy.rpu.test_loss"), lookup(report, "accuracy.fp.test_loss")
        return None if rpu is None or fp is None else rpu - fp
    node: Any = report
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            node = None
            break
        node = node[part]
    if node is None and len(parts) == 3 and parts[0] == "accuracy" and parts[2] == "test_bpc":
        nats = lookup(report, f"accuracy.{parts[1]}.test_loss")
        return None if nats is None else nats / LN2
    return _number(node)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def best_indices(metric: Metric, values: list[float | None]) -> set[int]:
    """Indices of the best value (all of them on ties); none when the metric has no direction,
    fewer than two values exist, or all values are equal."""
    present = [v for v in values if v is not None]
    if metric.better is None or len(present) < 2 or len(set(present)) == 1:
        return set()
    best = min(present) if metric.better == "lower" else max(present)
    return {i for i, v in enumerate(values) if v == best}
