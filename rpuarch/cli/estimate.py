"""``rpuarch estimate``: the chip estimate of a workload, without training."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..arch.estimate import estimate
from ..config import load_workload
from ..errors import UserError
from ..files import atomic_write_json
from ..report.units import si
from . import add_workload_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="latency, energy, power and area of a workload's LSTM on the RPU chip, against digital baselines",
        description="Map the workload's network onto the chip's tiles, simulate training (or inference) windows"
        " (SimPy) with the expected activity of the workload's activity section, and compare with the baselines.",
    )
    p.add_argument("--mode", choices=("training", "inference"), default="training",
                   help="training (default; inference beside it) or inference alone: the forward pass per token")
    p.add_argument("--sensitivity", action="store_true",
                   help="vary every [assumed] constant (default x0.5 and x2) and show which decides the headline metrics;"
                   " --json then writes {\"sensitivity\": [...]}")
    p.add_argument("--range", default="0.5,2", metavar="LOW,HIGH", help="the factors of --sensitivity (default 0.5,2)")
    p.add_argument("--plot", type=Path, metavar="FILE", help="with --sensitivity: write a tornado chart (PNG)")
    add_workload_args(p, seed=False)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the estimate as JSON")
    p.add_argument("--trace", type=Path, metavar="FILE", help="write the simulated windows as a Chrome trace (Perfetto)")
    p.add_argument("--train-chars", type=int, metavar="N", help="characters of the training split (default: from the dataset's size)")
    p.add_argument("--host-chars-per-s", type=float, metavar="X", help="measured floating-point speed for the measured-host baseline")
    p.set_defaults(handler=cmd_estimate)


def cmd_estimate(args: argparse.Namespace) -> int:
    loaded = load_workload(args.workload, args.overrides)
    source = str(loaded.path)
    if args.sensitivity:
        return _sensitivity(args, loaded, source)
    if args.plot is not None:
        raise UserError("--plot draws the tornado chart of --sensitivity; give --sensitivity too.")
    result = estimate(loaded.workload, measured_host_chars_per_s=args.host_chars_per_s, trace_path=args.trace,
                      train_chars=args.train_chars, source=source, mode=args.mode)
    if args.json is not None:
        atomic_write_json(args.json, result)
    console = Console()
    print_summary(console, loaded.workload.name, result)
    for path, what in ((args.json, "estimate"), (args.trace, "trace")):
        if path is not None:
            console.print(f"[green]wrote[/] {what} {path}")
    return 0


def _inference_rows(inference: dict[str, Any], unit: str) -> list[tuple[str, str]]:
    return [
        (f"inference: time per {unit} / latency of one step",
         f"{si(inference['time_per_char_s'], 's')} / {si(inference['latency_s'], 's')}"),
        (f"inference: energy per {unit} / power",
         f"{si(inference['energy_per_char_J'], 'J')} / {si(inference['power_W'], 'W')}"),
        ("inference: throughput / efficiency",
         f"{si(inference['ops_per_s'], 'Ops/s')} / {si(inference['ops_per_s_per_W'], 'Ops/s/W')}"),
    ]


def print_summary(console: Console, name: str, result: dict[str, Any]) -> None:
    hw = result["hardware"]
    unit = hw["inputs"]["unit"]
    training = hw["mode"] == "training"
    chip = Table(title=f"{name}: the chip ({hw['mode']})", show_header=False)
    chip.add_column(style="bold")
    chip.add_column(justify="right")
    head = [
        ("tiles used / on the chip", f"{hw['tiles']} / {hw['chip_tiles']} of {hw['tile_shape'][0]} x {hw['tile_shape'][1]}"),
        ("area: chip / used part", f"{si(hw['chip']['area_mm2'], 'mm²')} / {si(hw['used']['area_mm2'], 'mm²')}"),
        ("peak throughput: chip / used", f"{si(hw['chip']['peak_ops_per_s'], 'Ops/s')} / {si(hw['used']['peak_ops_per_s'], 'Ops/s')}"),
        ("peak power: chip / used", f"{si(hw['chip']['peak_power_W'], 'W')} / {si(hw['used']['peak_power_W'], 'W')}"),
        ("static power: chip / charged", f"{si(hw['chip']['static_power_W'], 'W')} / {si(hw['used']['static_power_W'], 'W')}"
                                         + (" (unused tiles power-gated)" if hw["power_gating"] else "")),
        ("programming the weights: time / energy",
         f"{si(hw['programming']['time_s'], 's')} / {si(hw['programming']['energy_J'], 'J')}"),
    ]
    rows = head + [
        ("array cycle 2 t_int + 4 BL t_pulse", si(hw["array_cycle_s"], "s")),
        (f"time per training {unit} (throughput)", si(hw["time_per_char_s"], "s")),
        ("latency of one training step", si(hw["latency_s"], "s")),
        (f"epoch ({hw['items_per_epoch']:,} {unit}s, {hw['windows_per_epoch']:,} windows)", si(hw["epoch_time_s"], "s")),
        (f"energy per training {unit}", si(hw["energy_per_char_J"], "J")),
        ("power (training)", si(hw["power_W"], "W")),
        ("efficiency (training)", si(hw["ops_per_s_per_W"], "Ops/s/W")),
        ("full tile, paper-style", f"{si(hw['full_tile']['ops_per_s'], 'Ops/s')} at {si(hw['full_tile']['power_W'], 'W')}"
                                   f" = {si(hw['full_tile']['ops_per_s_per_W'], 'Ops/s/W')}"),
        *_inference_rows(hw["inference"], unit),
    ] if training else head + _inference_rows(hw, unit)
    rows.append(("activity", f"{hw['activity']['source']} (measured by training, or the workload's expected activity)"))
    for label, value in rows:
        chip.add_row(label, value)
    console.print(chip)

    use = Table(title="Utilisation (steady window)")
    use.add_column("component")
    use.add_column("busy", justify="right")
    for component, value in hw["utilization"].items():
        use.add_row(component, f"{100 * value:.1f} %")
    energy = Table(title=f"Energy by component ({hw['breakdown']['scope']})")
    energy.add_column("component")
    energy.add_column("energy", justify="right")
    energy.add_column("share", justify="right")
    totals = {c: sum(p.values()) for c, p in hw["breakdown"]["energy_J"].items()}
    total = sum(totals.values()) or 1.0
    for component, joules in sorted(totals.items(), key=lambda kv: -kv[1]):
        energy.add_row(component, si(joules, "J"), f"{100 * joules / total:.1f} %")
    console.print(use)
    console.print(energy)

    if not training:
        _inference_baselines(console, result["baselines"], unit)
        _footer(console, hw, result["baselines"])
        return
    base = Table(title="Against digital baselines (one epoch)")
    for column in ("baseline", "epoch time", "energy", "acceleration factor", "energy ratio", "at best batch"):
        base.add_column(column, justify="left" if column == "baseline" else "right")
    for b in result["baselines"]:
        best = b.get("best_batch")
        base.add_row(b["name"], si(b["epoch_time_s"], "s"), si(b["energy_J"], "J"),
                     f"{b['acceleration_factor']:.3g}x", f"{b['energy_ratio']:.3g}x",
                     f"batch {best['batch']:,}: {best['acceleration_factor']:.3g}x, {best['energy_ratio']:.3g}x"
                     if best else "-")
    console.print(base)
    console.print("At best batch: the baseline at the batch that gives it the most throughput (acceleration factor,"
                  " energy ratio), the chip at the workload's batch.")
    _footer(console, hw, result["baselines"])


def _footer(console: Console, hw: dict[str, Any], baselines: list[dict[str, Any]]) -> None:
    analytical = hw["analytical"]
    console.print(
        f"Analytical model, first window: {si(analytical['window_time_s'], 's')} (limited by {analytical['limited_by']});"
        f" simulated {si(analytical['des_window_time_s'], 's')} ({100 * analytical['des_over_analytical']:+.1f} %)."
        f" Simulated {hw['simulation']['windows_simulated']} windows, {hw['simulation']['events']:,} events,"
        f" {hw['simulation']['streams_per_operation']} stream(s) per operation, {hw['simulation']['wall_s']:.2f} s."
    )
    failed = [f"sizing check {name} fails: {c['rule']} gives {c['value']:.3g}." for name, c in hw["checks"].items() if not c["ok"]]
    for warning in failed + hw["warnings"]:
        console.print(f"[bold red]warning[/]: {warning}")
    for note in hw["notes"] + [b["note"] for b in baselines if "note" in b]:
        console.print(f"[yellow]note[/]: {note}")


def _inference_baselines(console: Console, baselines: list[dict[str, Any]], unit: str) -> None:
    table = Table(title=f"Against digital baselines (inference, per {unit}, the workload's batch)")
    for column in ("baseline", f"time per {unit}", f"energy per {unit}", "acceleration factor", "energy ratio"):
        table.add_column(column, justify="left" if column == "baseline" else "right")
    for b in baselines:
        i = b["inference"]
        table.add_row(b["name"], si(i["time_per_item_s"], "s"), si(i["energy_per_item_J"], "J"),
                      f"{i['acceleration_factor']:.3g}x", f"{i['energy_ratio']:.3g}x")
    console.print(table)


def _factors(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"--range: {text!r} is not LOW,HIGH (two numbers, e.g. 0.5,2).") from None
    if not 0 < low < 1 < high or not math.isfinite(high):
        raise UserError(f"--range: {text!r} must be two factors with 0 < LOW < 1 < HIGH, e.g. 0.5,2.")
    return low, high


def _sensitivity(args: argparse.Namespace, loaded, source: str) -> int:
    from ..arch.sensitivity import METRICS, label, ranked, sensitivity, shown_metrics, swing, tornado

    low, high = _factors(args.range)
    result = sensitivity(loaded.workload, low=low, high=high, mode=args.mode, source=source,
                         train_chars=args.train_chars)
    console = Console()
    metrics = shown_metrics(result)
    table = Table(title=f"{loaded.workload.name}: which \\[assumed] constant decides the answer"
                        f" (metric at x{low:g} / at x{high:g} of the constant, over its base value)")
    table.add_column("parameter", overflow="fold")
    table.add_column("value", justify="right")
    for metric in metrics:
        table.add_column(label(metric), justify="right")
    by_parameter: dict[str, dict[str, dict]] = {}
    for row in result["sensitivity"]:
        by_parameter.setdefault(row["parameter"], {})[row["metric"]] = row
    order = sorted(by_parameter, key=lambda p: -max(swing(by_parameter[p][m]) for m in metrics))

    def ends(row: dict) -> str:
        return " / ".join(f"{row[s] / row['base']:.3f}" if isinstance(row.get(s), (int, float)) else "n/a"
                          for s in ("low", "high"))

    shown = [p for p in order if max(swing(by_parameter[p][m]) for m in metrics) > 1e-3][:15]
    for parameter in shown:
        rows = by_parameter[parameter]
        table.add_row(parameter, f"{next(iter(rows.values()))['base_value']:g}", *(ends(rows[m]) for m in metrics))
    console.print(table)
    def value(metric: str) -> str:
        number = result["base"][metric]
        return si(number, METRICS[metric][1]) if metric in METRICS else f"{number:.3g}x ({metric.split('.', 1)[1]})"

    base = "; ".join(f"{label(m)} {value(m)}" for m in metrics)
    console.print(f"Base: {base}. {len(by_parameter)} constants varied; {len(by_parameter) - len(shown)} moved no"
                  " metric by 0.1 % or more and are not shown (all are in --json).")
    top = ranked(result, metrics[0])[:5]
    console.print(f"Largest effect on {label(metrics[0])}: "
                  + "; ".join(f"{r['parameter']} ({ends(r)})" for r in top) + ".")
    for skip in result["skipped"]:
        console.print(f"[yellow]skipped[/]: {skip['parameter']} = {skip['value']:g}: {skip['reason']}")
    if args.json is not None:
        atomic_write_json(args.json, result)
        console.print(f"[green]wrote[/] {args.json}")
    if args.plot is not None:
        tornado(result, args.plot)
        console.print(f"[green]wrote[/] tornado chart {args.plot}")
    return 0
