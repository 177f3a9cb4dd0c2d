"""``rpuarch estimate``: the chip estimate of a workload, without training."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..arch.estimate import estimate
from ..config import load_workload
from ..files import atomic_write_json
from ..report.units import si
from . import add_workload_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="latency, energy, power and area of a workload's LSTM on the RPU chip, against digital baselines",
        description="Map the workload's network onto the chip's tiles, simulate training windows (SimPy) with the"
        " expected activity of the workload's activity section, and compare with the baselines.",
    )
    add_workload_args(p, seed=False)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the estimate as JSON")
    p.add_argument("--trace", type=Path, metavar="FILE", help="write the simulated windows as a Chrome trace (Perfetto)")
    p.add_argument("--train-chars", type=int, metavar="N", help="characters of the training split (default: from the dataset's size)")
    p.add_argument("--host-chars-per-s", type=float, metavar="X", help="measured floating-point speed for the measured-host baseline")
    p.set_defaults(handler=cmd_estimate)


def cmd_estimate(args: argparse.Namespace) -> int:
    loaded = load_workload(args.workload, args.overrides)
    source = str(loaded.path)
    result = estimate(loaded.workload, measured_host_chars_per_s=args.host_chars_per_s, trace_path=args.trace,
                      train_chars=args.train_chars, source=source)
    if args.json is not None:
        atomic_write_json(args.json, result)
    console = Console()
    print_summary(console, loaded.workload.name, result)
    for path, what in ((args.json, "estimate"), (args.trace, "trace")):
        if path is not None:
            console.print(f"[green]wrote[/] {what} {path}")
    return 0


def print_summary(console: Console, name: str, result: dict[str, Any]) -> None:
    hw = result["hardware"]
    unit = hw["inputs"]["unit"]
    chip = Table(title=f"{name}: the chip", show_header=False)
    chip.add_column(style="bold")
    chip.add_column(justify="right")
    rows = [
        ("tiles used / on the chip", f"{hw['tiles']} / {hw['chip_tiles']} of {hw['tile_shape'][0]} x {hw['tile_shape'][1]}"),
        ("chip area", si(hw["area_mm2"], "mm²")),
        ("peak throughput (all tiles)", si(hw["peak_ops_per_s"], "Ops/s")),
        ("array cycle 2 t_int + 4 BL t_pulse", si(hw["array_cycle_s"], "s")),
        (f"latency per training {unit}", si(hw["latency_per_char_s"], "s")),
        (f"epoch ({hw['items_per_epoch']:,} {unit}s, {hw['windows_per_epoch']:,} windows)", si(hw["epoch_time_s"], "s")),
        (f"energy per training {unit}", si(hw["energy_per_char_J"], "J")),
        ("power (training)", si(hw["power_W"], "W")),
        ("efficiency (training)", si(hw["ops_per_s_per_W"], "Ops/s/W")),
        ("full tile, paper-style", f"{si(hw['full_tile']['ops_per_s'], 'Ops/s')} at {si(hw['full_tile']['power_W'], 'W')}"
                                   f" = {si(hw['full_tile']['ops_per_s_per_W'], 'Ops/s/W')}"),
        (f"inference latency per {unit}", si(hw["inference"]["latency_per_char_s"], "s")),
        ("activity", f"{hw['activity']['source']} (measured by training, or the workload's expected activity)"),
    ]
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
    analytical = hw["analytical"]
    console.print(
        f"Analytical model, first window: {si(analytical['window_time_s'], 's')} (limited by {analytical['limited_by']});"
        f" simulated {si(analytical['des_window_time_s'], 's')} ({100 * analytical['des_over_analytical']:+.1f} %)."
        f" Simulated {hw['simulation']['windows_simulated']} windows, {hw['simulation']['events']:,} events,"
        f" {hw['simulation']['streams_per_operation']} stream(s) per operation, {hw['simulation']['wall_s']:.2f} s."
    )
    for note in hw["notes"] + [b["note"] for b in result["baselines"] if "note" in b]:
        console.print(f"[yellow]note[/]: {note}")
