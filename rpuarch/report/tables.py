"""The tables of a run report, independent of how they are shown (rich terminal or Markdown)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .metrics import LN2, Metric, best_indices, lookup, metrics_of
from .units import factor, percent, plain, si
from .warnings import LEGEND, codes


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str | None = None
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row, column) cells to highlight
    keys: int = 1  # leading columns that name a row: repeated when a narrow display splits the table

    def columns_split(self, groups: list[list[int]]) -> list[Table]:
        """The table as one table per group of its non-key columns (each with the key columns
        first); the title says "continued" after the first, the note is under the last."""
        out = []
        for n, group in enumerate(groups):
            chosen = list(range(self.keys)) + group
            out.append(Table(
                self.title + (" (continued)" if n else ""),
                [self.columns[c] for c in chosen],
                [[row[c] for c in chosen] for row in self.rows],
                self.note if n == len(groups) - 1 else None,
                {(r, chosen.index(c)) for r, c in self.bold if c in chosen},
                self.keys,
            ))
        return out


def _loss(value: Any) -> str:
    return "n/a" if not isinstance(value, (int, float)) else f"{value:.4f}"


def _bits(value: Any) -> str:
    return "n/a" if not isinstance(value, (int, float)) else f"{value / LN2:.4f}"


def accuracy_table(report: dict[str, Any]) -> Table:
    acc = report.get("accuracy", {})
    table = Table(
        "Accuracy (cross-entropy of the next character)",
        ["model", "train [nats/char]", "valid [nats/char]", "test [nats/char]", "test [bits/char]"],
    )
    rpu, fp = acc.get("rpu", {}), acc.get("fp", {})
    gap = {k: rpu[k] - fp[k] for k in rpu if isinstance(rpu.get(k), (int, float)) and isinstance(fp.get(k), (int, float))}
    for label, losses in (("RPU network", rpu), ("floating point", fp), ("RPU - floating point", gap),
                          ("unigram", acc.get("unigram", {}))):
        cells = [_loss(losses.get(f"{split}_loss")) if f"{split}_loss" in losses else "-" for split in ("train", "valid", "test")]
        table.rows.append([label, *cells, _bits(losses.get("test_loss"))])
    notes = ["Unigram: a model that learnt only the training split's character frequencies, on the same characters"]
    vocab = report.get("network", {}).get("vocab_size")
    if isinstance(vocab, int):
        notes.append(f"uniform guessing over the {vocab} symbols scores {math.log(vocab):.4f} nats/char")
    table.note = "; ".join(notes) + "."
    return table


def network_table(report: dict[str, Any]) -> Table:
    net = report.get("network", {})
    table = Table("Network and mapping onto tiles", ["array", "logical rows x cols", "weights", "physical tiles", "utilisation"])
    for layer in net.get("layers", []):
        shape = layer.get("logical_shape") or ["?", "?"]
        table.rows.append([
            str(layer.get("name", "?")),
            f"{shape[0]} x {shape[1]}",
            plain(layer.get("weights")),
            plain(layer.get("physical_tiles")),
            percent(layer.get("utilization")),
        ])
    table.rows.append(["total", "", plain(net.get("weights")), plain(net.get("physical_tiles")), percent(net.get("utilization"))])
    tile = report.get("workload", {}).get("resolved", {}).get("tile", {})
    if tile:
        table.note = f"Tile: {tile.get('rows')} x {tile.get('cols')} devices; vocabulary {plain(net.get('vocab_size'))} symbols."
    return table


def hardware_table(report: dict[str, Any]) -> Table:
    hw = report.get("hardware", {})
    table = Table("Chip estimate (one training character = forward, backward and update of every layer)", ["quantity", "value"])
    for label, key, unit in (
        ("tiles used", "tiles", "tile"),
        ("tiles on the chip", "chip_tiles", "tile"),
        ("chip area", "area_mm2", "mm²"),
        ("area of the used part", "used.area_mm2", "mm²"),
        ("peak throughput", "peak_ops_per_s", "Ops/s"),
        ("static power charged (unused tiles power-gated unless chip.power_gating is false)", "static_power_W", "W"),
        ("array cycle (2 t_int + 4 BL t_pulse)", "array_cycle_s", "s"),
        ("time per training character (throughput)", "time_per_char_s", "s"),
        ("latency of one training step (dependent chain)", "latency_s", "s"),
        ("epoch time", "epoch_time_s", "s"),
        ("energy per training character", "energy_per_char_J", "J"),
        ("power", "power_W", "W"),
        ("efficiency", "ops_per_s_per_W", "Ops/s/W"),
        ("inference: time per character (throughput)", "inference.time_per_char_s", "s"),
        ("inference: latency of one step", "inference.latency_s", "s"),
        ("inference: energy per character", "inference.energy_per_char_J", "J"),
        ("inference: throughput", "inference.ops_per_s", "Ops/s"),
        ("inference: efficiency", "inference.ops_per_s_per_W", "Ops/s/W"),
        ("programming the initial weights (program-and-verify): time", "programming.time_s", "s"),
        ("programming the initial weights: energy", "programming.energy_J", "J"),
    ):
        value = lookup(report, f"hardware.{key}")
        table.rows.append([label, Metric(key, label, unit, None).show(value if isinstance(value, (int, float)) else None)])
    utilization = hw.get("utilization")
    if isinstance(utilization, dict):
        for component, value in utilization.items():
            if isinstance(value, (int, float)):
                table.rows.append([f"utilisation: {component}", percent(value)])
    elif isinstance(utilization, (int, float)):
        table.rows.append(["utilisation", percent(utilization)])
    return table


def breakdown_table(report: dict[str, Any], kind: str) -> Table | None:
    """Energy (``energy_J``) or latency (``latency_s``) by component (rows) and phase (columns)."""
    breakdown = report.get("hardware", {}).get("breakdown", {})
    tree = breakdown.get(kind)
    if not isinstance(tree, dict) or not tree:
        return None
    unit = "J" if kind == "energy_J" else "s"
    rows = {component: (phases if isinstance(phases, dict) else {"": phases}) for component, phases in tree.items()}
    phases: list[str] = []
    for by_phase in rows.values():
        phases += [p for p in by_phase if p not in phases]
    totals = {c: sum(v for v in by_phase.values() if isinstance(v, (int, float))) for c, by_phase in rows.items()}
    grand = sum(totals.values())
    what = "Energy" if unit == "J" else "Busy time"
    table = Table(f"{what} by component and phase", ["component", *(p or "all" for p in phases), "total", "share"])
    for component, by_phase in rows.items():
        cells = [si(by_phase[p], unit) if isinstance(by_phase.get(p), (int, float)) else "-" for p in phases]
        table.rows.append([component, *cells, si(totals[component], unit), percent(totals[component] / grand) if grand else "n/a"])
    scope = breakdown.get("scope")
    table.note = f"Scope: {scope}." if scope else None
    if unit == "s":
        table.note = (table.note or "") + " Components work in parallel: busy times overlap and do not add up to the latency."
    return table


def flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """Nested numbers as (``a / b``, value) pairs, in order."""
    out: list[tuple[str, float]] = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(flatten(value, f"{name} / "))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((name, float(value)))
    return out


def baselines_table(report: dict[str, Any]) -> Table:
    table = Table(
        "Against digital baselines (one epoch)",
        ["baseline", "epoch time", "energy per epoch", "acceleration factor", "energy ratio", "at best batch"],
    )
    for b in report.get("baselines") or []:
        best = b.get("best_batch")
        table.rows.append([
            str(b.get("name")),
            si(b.get("epoch_time_s"), "s"),
            si(b.get("energy_J"), "J"),
            factor(b.get("acceleration_factor")),
            factor(b.get("energy_ratio")),
            f"batch {best['batch']:,}: {factor(best['acceleration_factor'])}, {factor(best['energy_ratio'])}"
            if best else "-",
        ])
    hw = report.get("hardware", {})
    table.note = (
        f"RPU chip: {si(hw.get('epoch_time_s'), 's')} per epoch. Acceleration factor = baseline epoch time / RPU "
        "epoch time; energy ratio = baseline energy / RPU energy (above 1: the RPU chip is better). At best batch:"
        " both ratios with the baseline at the batch that gives it the most throughput, the chip at the workload's."
    )
    table.note += "".join(f" {b['note']}" for b in report.get("baselines") or [] if b.get("note"))
    reused = report.get("timing", {}).get("fp", {}).get("reused_from")
    if reused and any(b.get("kind") == "measured-host" for b in report.get("baselines") or []):
        table.note += (f" The measured-host speed is that of the floating-point twin reused from an earlier point"
                       f" (twin cache fp/{reused}.json), measured when that point trained it.")
    return table


def timing_table(report: dict[str, Any]) -> Table:
    timing = report.get("timing", {})
    table = Table("This run on this machine (wall clock, measured)", ["quantity", "RPU network", "floating-point twin"])
    sides = [timing.get("rpu", {}), timing.get("fp", {})]
    table.rows.append(["training speed", *(si(side.get("chars_per_s"), "chars/s") for side in sides)])
    table.rows.append(["characters trained", *(plain(side.get("train_chars")) for side in sides)])
    table.rows.append(["training time", *(si(side.get("train_s"), "s") for side in sides)])
    table.rows.append(["evaluation time", *(si(side.get("eval_s"), "s") for side in sides)])
    wall = report.get("run", {}).get("wall_s")
    notes = [f"Whole run (training, evaluation, estimate): {si(wall, 's')}."] if isinstance(wall, (int, float)) else []
    reused = timing.get("fp", {}).get("reused_from")
    if reused:
        notes.append(
            f"The floating-point twin was not trained in this run: an earlier point of the sweep trained the same twin"
            f" (twin cache fp/{reused}.json); its losses and these times are that run's, and so is the speed of the"
            " measured-host baseline."
        )
    table.note = " ".join(notes) or None
    return table


def headline(report: dict[str, Any]) -> str:
    """The run in two sentences: accuracy against floating point, and the chip against the baselines."""
    rpu, fp = lookup(report, "accuracy.rpu.test_loss"), lookup(report, "accuracy.fp.test_loss")
    hw, net = report.get("hardware", {}), report.get("network", {})
    parts = []
    unigram = lookup(report, "accuracy.unigram.test_loss")
    if rpu is not None and fp is not None:
        parts.append(
            f"On the test split the RPU network scores {rpu:.4f} nats/char ({rpu / LN2:.3f} bits/char) against "
            f"{fp:.4f} nats/char ({fp / LN2:.3f} bits/char) in floating point, a gap of {rpu - fp:+.4f} nats/char"
            + (f"; character frequencies alone score {unigram:.4f}." if unigram is not None else ".")
        )
    chip = (
        f"The chip maps it onto {plain(net.get('physical_tiles'))} tiles ({percent(net.get('utilization'))} of their "
        f"devices hold weights), {si(hw.get('area_mm2'), 'mm²')}, and takes {si(hw.get('time_per_char_s'), 's')} and "
        f"{si(hw.get('energy_per_char_J'), 'J')} per training character at {si(hw.get('power_W'), 'W')}"
    )
    baselines = [b for b in report.get("baselines") or [] if isinstance(b.get("acceleration_factor"), (int, float))]
    if baselines:
        fastest = max(baselines, key=lambda b: b["acceleration_factor"])
        slowest = min(baselines, key=lambda b: b["acceleration_factor"])
        chip += (
            f"; it trains an epoch {factor(slowest['acceleration_factor'])} ({slowest['name']}) to "
            f"{factor(fastest['acceleration_factor'])} ({fastest['name']}) faster than the digital baselines"
        )
    parts.append(chip + ".")
    return " ".join(parts)


def run_tables(report: dict[str, Any]) -> list[Table]:
    tables = [accuracy_table(report), network_table(report), hardware_table(report)]
    tables += [t for t in (breakdown_table(report, "energy_J"), breakdown_table(report, "latency_s")) if t]
    tables += [baselines_table(report), timing_table(report)]
    return tables


def comparison_table(labels: list[str], reports: list[dict[str, Any] | None], title: str) -> Table:
    """Metrics down, variants across; the best value of each row in bold. A failed variant
    (``None``) shows "failed"."""
    metrics = metrics_of([r for r in reports if r is not None])
    table = Table(title, ["metric", *labels])
    for row, metric in enumerate(metrics):
        values = [metric.value(r) if r is not None else None for r in reports]
        cells = [metric.show(v) if r is not None else "failed" for v, r in zip(values, reports)]
        table.rows.append([metric.label, *cells])
        table.bold |= {(row, 1 + i) for i in best_indices(metric, values)}
    table.rows.append(["warnings", *(codes(r.get("warnings")) or "none" if r is not None else "failed" for r in reports)])
    table.note = f"Best value of each row in bold (lower or higher, whichever is better for that row); {LEGEND}."
    return table


__all__ = ["Table", "comparison_table", "flatten", "headline", "lookup", "run_tables"]
