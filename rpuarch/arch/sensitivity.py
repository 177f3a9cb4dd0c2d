"""Which assumption decides the answer: every [assumed] constant varied over a range.

``sensitivity(workload)`` takes each numeric constant of the tile and chip whose source is tagged
[assumed] (and each of the workload's expected activity figures, which stand in for what training
would measure; the baselines' constants are the baselines' own), sets it to ``low`` and ``high`` times its value (default 0.5 and 2) one at a time, and
records the headline metrics: energy and time per character, efficiency, and the acceleration
factor against every baseline. A variant that is not a valid chip (a voltage order broken, a node
without a memory table) is listed as skipped with the reason.

A variant that changes no duration (an energy, an area, a static power) has the base's schedule,
so its energies are summed over the base's simulated operations instead of simulating again (the
same sum the simulation makes); the others are simulated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import Workload
from ..errors import UserError
from . import rollup
from .baselines import baseline_estimate
from .components import build_hardware
from .epoch import SteadyState, steady_state
from .estimate import baselines_of, hardware_sources, vocab_and_chars
from .network import NetworkSpec, check_fits, lstm_network, replicated
from .program import Program, build_program
from .rates import expected_rates

METRICS = {
    "energy_per_char_J": ("energy per character", "J"),
    "time_per_char_s": ("time per character", "s"),
    "ops_per_s_per_W": ("efficiency", "Ops/s/W"),
}
ACTIVITY = ("x_pulse_fraction", "d_pulse_fraction", "coincidence_rate", "bm_repeats", "input_fraction")


@dataclass(frozen=True)
class Run:
    program: Program
    steady: SteadyState
    windows: int


def assumed_constants(workload: Workload) -> dict[str, float]:
    """Dotted path -> value of every numeric [assumed] constant the estimate uses."""
    out: dict[str, float] = {}
    for path, source in hardware_sources(workload, {}).items():
        if not source.startswith("[assumed]") or path.split(".")[0] not in ("tile", "chip"):
            continue
        parent_path, _, name = path.rpartition(".")
        parent = _at(workload, parent_path)
        if name in getattr(parent, "unused", lambda: set())():
            continue
        value = getattr(parent, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0:
            out[path] = value
    for name in ACTIVITY:
        value = getattr(workload.activity, name)
        if isinstance(value, (int, float)) and value:
            out[f"activity.{name}"] = value
    return out


def with_value(workload: Workload, path: str, value: float) -> Workload:
    """A copy of the workload with one field set (validated as an override would be)."""
    copy = workload.model_copy(deep=True)
    parent_path, _, name = path.rpartition(".")
    setattr(_at(copy, parent_path), name, value)
    return copy


def _at(workload: Workload, path: str) -> Any:
    node: Any = workload
    for key in path.split("."):
        node = node[key] if isinstance(node, dict) else getattr(node, key)
    return node


def _signature(program: Program) -> tuple:
    """What decides the schedule and its timing: resources and every stage's durations."""
    works = tuple(sorted((key, tuple((s.resource, s.per_vector, s.per_pass) for s in w.stages), w.repeats)
                         for key, w in program.works.items()))
    return tuple(sorted(program.capacities.items())), works


def _run(workload: Workload, network: NetworkSpec, items: int, mode: str, source: str,
         base: Run | None = None) -> Run:
    capacity = workload.chip.tiles * workload.tile.arrays
    check_fits(network, capacity, source, workload.tile.arrays)
    network = replicated(network, capacity, workload.chip.replicate)
    hardware = build_hardware(workload.tile, workload.chip, workload.io, workload.update, source)
    rates = expected_rates(network, workload.activity, workload.update.desired_bl)
    program = build_program(network, hardware, rates, training=mode == "training")
    steady = base.steady if base is not None and _signature(program) == _signature(base.program) else steady_state(program)
    windows = max(1, items // network.items_per_window)
    if workload.training.max_windows_per_epoch is not None:
        windows = min(windows, workload.training.max_windows_per_epoch)
    return Run(program, steady, windows)


def _metrics(run: Run, workload: Workload, mode: str) -> dict[str, float]:
    program, steady = run.program, run.steady
    network, hardware = program.network, program.hardware
    works = {id(w): key for key, w in steady.schedule.program.works.items()}
    dynamic = 0.0
    for op in steady.schedule.ops:
        if op.window == steady.steady_window and op.work is not None:
            work = program.works[works[id(op.work)]]
            dynamic += sum(work.energy(op.vectors, op.passes).values())
    dynamic *= steady.scale * network.replicas
    period = steady.period_s
    static = rollup.static_W(hardware, network)
    items = network.items_per_window
    ops = sum(w.ops for w in program.works.values())
    power = (dynamic + static * period) / period
    out = {
        "energy_per_char_J": (dynamic + static * period) / items,
        "time_per_char_s": period / items,
        "ops_per_s_per_W": ops * items / period / power,
    }
    if mode == "training":
        epoch_s = steady.epoch_time_s(run.windows)
        epoch_J = run.windows * dynamic + static * epoch_s
        for baseline in baselines_of(workload, [])[0]:
            result = baseline_estimate(baseline, network, run.windows, epoch_s, epoch_J, None)
            if not isinstance(result, str):
                out[f"acceleration_factor.{baseline.name}"] = result["acceleration_factor"]
    return out


def sensitivity(workload: Workload, *, low: float = 0.5, high: float = 2.0, mode: str = "training",
                source: str = "workload", vocab_size: int | None = None, train_chars: int | None = None) -> dict[str, Any]:
    """``{"sensitivity": [{"parameter", "metric", "low", "high", "base", "source", ...}], "skipped":
    [...], "range": [low, high], "base": {metric: value}}``."""
    vocab, chars, _ = vocab_and_chars(workload, vocab_size, train_chars, source)
    t = workload.training

    def network_of(w: Workload) -> NetworkSpec:
        return lstm_network(vocab, w.network.hidden, w.network.layers, w.tile.rows, w.tile.cols, t.streams, t.seq_length,
                            w.network.bias, w.network.arrays)

    base_run = _run(workload, network_of(workload), chars, mode, source)
    base = _metrics(base_run, workload, mode)
    sources = hardware_sources(workload, {})
    rows, skipped = [], []
    for path, value in assumed_constants(workload).items():
        results = {}
        for side, factor in (("low", low), ("high", high)):
            varied = value * factor
            if isinstance(value, int):
                varied = max(1, round(varied))
            try:
                variant = with_value(workload, path, varied)
                run = _run(variant, network_of(variant), chars, mode, source, base_run)
                results[side] = (varied, _metrics(run, variant, mode))
            except (UserError, ValidationError) as error:
                reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
                skipped.append({"parameter": path, "value": varied, "reason": reason})
        for metric, base_value in base.items():
            row = {"parameter": path, "metric": metric, "base": base_value, "base_value": value,
                   "source": sources.get(path, "[assumed] the workload's expected activity")}
            for side in ("low", "high"):
                row[side] = results[side][1].get(metric) if side in results else None
                row[f"{side}_value"] = results[side][0] if side in results else None
            rows.append(row)
    return {"sensitivity": rows, "skipped": skipped, "range": [low, high], "base": base, "mode": mode}


def swing(row: dict[str, Any]) -> float:
    """How far a parameter moves a metric: the larger |log(varied / base)| of its two ends."""
    ends = [row[s] for s in ("low", "high") if isinstance(row.get(s), (int, float)) and row[s] > 0]
    if not ends or not row["base"]:
        return 0.0
    return max(abs(math.log(v / row["base"])) for v in ends)


def ranked(result: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    return sorted((r for r in result["sensitivity"] if r["metric"] == metric), key=swing, reverse=True)


def shown_metrics(result: dict[str, Any]) -> list[str]:
    """The metrics to show: the baselines do not vary, so every acceleration factor changes by the
    same ratio and the first stands for all."""
    speedups = [m for m in result["base"] if m.startswith("acceleration_factor.")]
    return [m for m in result["base"] if m in METRICS] + speedups[:1]


def label(metric: str) -> str:
    if metric.startswith("acceleration_factor."):
        return "speed-up over every baseline"
    return METRICS[metric][0]


def tornado(result: dict[str, Any], path: Path, top: int = 10) -> Path:
    """One panel per metric: the ``top`` parameters' low and high ends as ratios to the base."""
    from ..report.plots import plt, save

    metrics = shown_metrics(result)
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 2.2 + 0.32 * top * len(metrics)), squeeze=False)
    low, high = result["range"]
    for ax, metric in zip(axes[:, 0], metrics):
        rows = [r for r in ranked(result, metric)[:top] if swing(r) > 0][::-1]
        names = [r["parameter"] for r in rows]
        for y, r in enumerate(rows):
            for side, colour in (("low", "tab:blue"), ("high", "tab:red")):
                if isinstance(r.get(side), (int, float)):
                    ax.barh(y, r[side] / r["base"] - 1.0, color=colour, alpha=0.8,
                            label=f"x{low:g}" if side == "low" and y == 0 else (f"x{high:g}" if side == "high" and y == 0 else None))
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(label(metric), fontsize=9)
        ax.set_xlabel("change from the base value", fontsize=8)
        ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} %")
        ax.grid(axis="x", alpha=0.3)
        if rows:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Sensitivity to the [assumed] constants (each at x{low:g} and x{high:g})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save(fig, path, tight=False)


__all__ = ["assumed_constants", "label", "ranked", "sensitivity", "shown_metrics", "swing", "tornado"]
