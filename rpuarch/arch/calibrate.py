"""``rpuarch calibrate``: published chips reproduced by the model, case by case.

A case is a YAML file under workloads/calibration/: a published chip described as a (partial)
workload, the ``kind`` of figure it publishes, and the figures with their tolerance and source.
Kinds and what computes them:

- ``peak-mvm``: every array of the chip doing matrix-vector products back to back
  (``rollup.peak_mvm``): throughput, efficiency, power and area, what chips publish as TOPS and
  TOPS/W;
- ``training-cycle``: one full tile cycling forward, backward and update, and the chip of such
  tiles (``rollup.training_cycle``): the 2016 paper's GOps/s/W;
- ``baseline``: a digital baseline's time for a published LSTM benchmark (``deepbench``): the
  figure's metric is the benchmark's label, e.g. ``V100 FP32 LSTM training, H=256, N=16, T=150``.

A figure may name the constant fitted to it (``fit: tile.adc.energy_pJ``): the constant's value in
its file is tagged [calibrated] with that figure, the table marks the figure a fit (its ratio is
1 by construction) and the others predictions, and calibrate solves the fit again to show that
the stored value still reproduces it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import ValidationError

from ..config.base import Section, field
from ..config.loader import DATA_ROOT, read_yaml, resolve
from ..config.workload import Workload
from ..errors import ConfigError
from . import rollup
from .components import build_hardware
from .rates import expected_activity

CASES_DIR = DATA_ROOT / "workloads" / "calibration"


class Figure(Section):
    """One published figure of a case."""

    metric: str = field(..., "Which figure of the case's kind (e.g. ops_per_s, ops_per_s_per_W).")
    published: float = field(..., "The published value, in SI units (ops/s, W, mm^2, ops/s/W).", gt=0)
    tolerance: float = field(..., "Relative tolerance of |model / published - 1|.", gt=0, le=1)
    fit: str | None = field(None, "The workload field fitted to this figure (a [calibrated] constant), if any.")
    check: Literal["prediction", "bookkeeping"] = field(
        "prediction",
        "bookkeeping: the figure is a sum of published parts the case's files hold (it checks the roll-up's"
        " arithmetic); prediction: the model derives it.",
    )
    label: str = field("", "How the figure reads in the table (default: the metric).")


class Case(Section):
    """A published chip and the figures it must reproduce."""

    name: str = field(..., "Name of the case.")
    kind: str = field(..., "What the figures are: peak-mvm, training-cycle, baseline.")
    source: str = field(..., "Where the figures are published.")
    assumptions: str = field("", "What the model assumes beyond the workload (stated in the table).")
    workload: dict[str, Any] = field({}, "The chip as a partial workload (presets and overrides).")
    figures: list[Figure] = field(..., "The published figures.")


def _peak_mvm(workload: Workload, source: str) -> dict[str, float]:
    hardware = build_hardware(workload.tile, workload.chip, workload.io, workload.update, source)
    peak = rollup.peak_mvm(hardware, workload.activity.input_fraction)
    peak["tile_ops_per_s"] = peak["ops_per_s"] / workload.chip.tiles
    return peak


def _training_cycle(workload: Workload, source: str) -> dict[str, float]:
    hardware = build_hardware(workload.tile, workload.chip, workload.io, workload.update, source)
    return rollup.training_cycle(hardware, expected_activity(workload.activity, workload.update.desired_bl))


def _baseline(workload: Workload, source: str) -> dict[str, float]:
    """Every DeepBench figure the baseline model reproduces: its time in seconds, by label."""
    from . import deepbench

    return {case["name"].removeprefix("DeepBench "): case["model"] * 1e-3
            for case in deepbench.calibration_cases()}


def _baseline_fit(figure: Figure) -> tuple[float, float]:
    """(stored, solved again) of the baseline constant fitted to a DeepBench figure."""
    from ..config import load_preset
    from . import deepbench

    preset, _, name = figure.fit.partition(".")
    stored = float(load_preset("baseline", preset, "rpuarch calibrate").sections["baseline"][name])
    return stored, deepbench.fit_launch_overhead()


KINDS: dict[str, Callable[[Workload, str], dict[str, float]]] = {
    "peak-mvm": _peak_mvm,
    "training-cycle": _training_cycle,
    "baseline": _baseline,
}


@dataclass(frozen=True)
class Row:
    case: str
    metric: str
    label: str
    published: float
    model: float
    tolerance: float
    role: str  # "prediction", "bookkeeping" or "fit"
    kind: str
    source: str
    fitted: dict[str, float] | None = None  # {"field", "stored", "refit"} of a fit

    @property
    def ratio(self) -> float:
        return self.model / self.published

    @property
    def passed(self) -> bool:
        return abs(self.ratio - 1.0) <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.case, "metric": self.metric, "published": self.published, "model": self.model,
               "ratio": self.ratio, "tolerance": self.tolerance, "pass": self.passed, "source": self.source,
               "role": self.role, "label": self.label, "unit": UNITS.get(self.metric, "s" if self.kind == "baseline" else "")}
        if self.fitted:
            out["fitted"] = self.fitted
        return out


def load_case(path: Path) -> Case:
    data = read_yaml(path, "calibration case")
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(str(path), where or None, f"{err['msg']}.") from None
    if case.kind not in KINDS:
        raise ConfigError(str(path), "kind", f"unknown kind {case.kind!r}.", ", ".join(KINDS))
    return case


def case_files(folder: Path = CASES_DIR) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def _evaluate(case: Case, source: str, overrides: list[str] | None = None) -> dict[str, float]:
    workload, _ = resolve(case.workload, source, overrides)
    return KINDS[case.kind](workload, source)


def _value(case: Case, source: str, metric: str, overrides: list[str] | None = None) -> float:
    figures = _evaluate(case, source, overrides)
    if metric not in figures or not isinstance(figures[metric], (int, float)):
        known = ", ".join(k for k, v in figures.items() if isinstance(v, (int, float)))
        raise ConfigError(source, "figures.metric", f"the {case.kind} kind has no figure {metric!r}.", known)
    return float(figures[metric])


def refit(case: Case, figure: Figure, source: str) -> tuple[float, float]:
    """(stored value, value that reproduces the published figure) of the fitted field: the model's
    figure is monotonic in one constant, so bracket it on a log scale and solve."""
    from scipy.optimize import brentq

    workload, _ = resolve(case.workload, source)
    stored = float(field_value(workload, figure.fit))
    target = math.log(figure.published)

    def gap(log_value: float) -> float:
        return math.log(_value(case, source, figure.metric, [f"{figure.fit}={math.exp(log_value)!r}"])) - target

    low, high = math.log(stored) - math.log(1e3), math.log(stored) + math.log(1e3)
    if gap(low) * gap(high) > 0:
        raise ConfigError(source, "figures.fit", f"no value of {figure.fit} within 1000x of {stored:g} reproduces"
                          f" {figure.metric} = {figure.published:g}.")
    return stored, math.exp(brentq(gap, low, high, xtol=1e-10))


def field_value(workload: Workload, path: str) -> Any:
    value: Any = workload
    for key in path.split("."):
        value = getattr(value, key)
    return value


def run_case(path: Path) -> list[Row]:
    case = load_case(path)
    source = str(path)
    figures = _evaluate(case, source)
    rows = []
    for figure in case.figures:
        if figure.metric not in figures:
            known = ", ".join(k for k, v in figures.items() if isinstance(v, (int, float)))
            raise ConfigError(source, "figures.metric", f"the {case.kind} kind has no figure {figure.metric!r}.", known)
        fitted = None
        if figure.fit:
            stored, value = _baseline_fit(figure) if case.kind == "baseline" else refit(case, figure, source)
            fitted = {"field": figure.fit, "stored": stored, "refit": value}
        rows.append(Row(case.name, figure.metric, figure.label or figure.metric, figure.published,
                        float(figures[figure.metric]), figure.tolerance, "fit" if figure.fit else figure.check,
                        case.kind, case.source, fitted))
    return rows


def calibrate(folder: Path = CASES_DIR) -> dict[str, Any]:
    """Every case of ``folder``: ``{"cases": [rows], "assumptions": {case: text}}``."""
    rows: list[Row] = []
    assumptions: dict[str, str] = {}
    for path in case_files(folder):
        case = load_case(path)
        rows += run_case(path)
        assumptions[case.name] = " ".join(case.assumptions.split())
    return {"cases": [r.to_dict() for r in rows], "assumptions": assumptions}


# ----------------------------------------------------------------------------- the table
UNITS = {"time_s": "s", "ops_per_s": "Ops/s", "tile_ops_per_s": "Ops/s", "ops_per_s_per_W": "Ops/s/W",
         "chip_ops_per_s_per_W": "Ops/s/W", "ops_per_s_per_mm2": "Ops/s/mm²", "power_W": "W",
         "tile_power_W": "W", "area_mm2": "mm²", "tile_area_mm2": "mm²"}


def render(result: dict[str, Any]) -> str:
    from ..report.units import si

    lines = [
        "| case | figure | published | model | ratio | tolerance | role | pass | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["cases"]:
        unit = row["unit"]
        fit = row.get("fitted")
        role = row["role"]
        if fit:
            role += f" ({fit['field']} = {fit['stored']:.4g}; solved again: {fit['refit']:.4g})"
        lines.append(
            f"| {row['name']} | {row['label']} | {si(row['published'], unit)} | {si(row['model'], unit)}"
            f" | {row['ratio']:.3f} | ±{100 * row['tolerance']:.0f} % | {role} | {'pass' if row['pass'] else '**FAIL**'}"
            f" | {row['source']} |"
        )
    out = "\n".join(lines) + "\n"
    if result["assumptions"]:
        out += "\nWhat each case assumes beyond its published description:\n\n"
        out += "".join(f"- **{name}**: {text}\n" for name, text in result["assumptions"].items() if text)
    return out
