"""``rpuarch device pulse-response``: the potentiation/depression curve of a device preset."""

from __future__ import annotations

import argparse
import io

import numpy as np
from rich.console import Console
from rich.table import Table

from ..config import resolve
from ..device.pulse_response import PulseResponse, pulse_response
from ..errors import ConfigError
from ..files import atomic_write_bytes, atomic_write_json
from . import add_overrides, help_by_default

DEVICE_SECTIONS = ("device", "io", "update")  # what a --set of this command may change


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("device", help="look at one device model")
    sub = p.add_subparsers(dest="device_command", metavar="SUBCOMMAND", parser_class=type(p))
    q = sub.add_parser(
        "pulse-response",
        help="apply trains of up and down pulses to devices and show the weight after each pulse",
        description="Apply --up up pulses then --down down pulses (--cycles times) to --devices devices"
        " of a device preset, starting from w = 0, and show the mean and spread of the weight.",
    )
    q.add_argument("preset", metavar="PRESET_OR_YAML", help="device preset name (see `rpuarch presets device`) or a preset YAML file")
    q.add_argument("--up", type=_count, required=True, metavar="N", help="up pulses per cycle")
    q.add_argument("--down", type=_count, required=True, metavar="N", help="down pulses per cycle")
    q.add_argument("--cycles", type=_positive, default=1, metavar="K", help="up/down cycles (default 1)")
    q.add_argument("--devices", type=_positive, default=100, metavar="M", help="devices drawn (default 100)")
    q.add_argument("--seed", type=int, default=0, help="seed of the device draws and pulse noise (default 0)")
    q.add_argument("--json", metavar="FILE", help="write mean and std per pulse (start included) and the summary")
    q.add_argument("--plot", metavar="FILE", help="write the potentiation/depression curve as a PNG")
    add_overrides(q)
    q.set_defaults(handler=cmd_pulse_response)
    help_by_default(p)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def cmd_pulse_response(args: argparse.Namespace) -> int:
    if args.up + args.down == 0:
        raise ConfigError("--up/--down", None, "no pulses to apply.", "--up N and --down N with N + N >= 1")
    for text in args.overrides:
        head = text.split("=", 1)[0].split(".", 1)[0].strip()
        if head not in DEVICE_SECTIONS:
            raise ConfigError("--set", text.split("=", 1)[0], "a device preset has no such section.",
                              "paths under " + ", ".join(DEVICE_SECTIONS) + ", e.g. device.up_down=0.02")
    workload, _ = resolve({"device": {"preset": args.preset}}, args.preset, args.overrides)
    device = workload.device
    if device.type == "ideal":
        raise ConfigError(args.preset, "device.type", "an ideal device takes no pulses.",
                          "constant_step, soft_bounds, linear_step, exp_step or pow_step")

    result = pulse_response(device, args.up, args.down, args.cycles, args.devices, np.random.default_rng(args.seed))
    # Render everything before writing anything, so a failure leaves no half-finished output.
    png = _plot_png(result, device.preset or args.preset, args) if args.plot else None
    if args.json:
        atomic_write_json(args.json, {"preset": device.preset, "device": device.model_dump(), **result.to_dict()})
    if png is not None:
        atomic_write_bytes(args.plot, png)
    _print_summary(result, device.preset or args.preset, args)
    return 0


def _print_summary(result: PulseResponse, name: str, args: argparse.Namespace) -> None:
    s = result.summary
    table = Table(title=f"Pulse response of {name}: {args.devices} devices, {args.cycles} x ({args.up} up, {args.down} down)")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    table.add_row("states", "n/a" if s.states is None else f"{s.states:,.0f} pulses",
                  f"plateau to plateau per mean step (nominal {s.nominal_states:,.0f})")
    for name, value, spread, train in (("plateau up", s.plateau_up, s.spread_plateau_up, "up"),
                                       ("plateau down", s.plateau_down, s.spread_plateau_down, "down")):
        table.add_row(name, "n/a" if value is None else f"{value:+.4f}",
                      f"mean weight at the end of a {train} train" + ("" if spread is None else f" (device spread {spread:.4f})"))
    table.add_row("highest / lowest", f"{s.w_highest:+.4f} / {s.w_lowest:+.4f}", "mean extremes touched")
    table.add_row("step up", f"{s.step_up:.3e}", "mean weight change of one up pulse at w = 0")
    table.add_row("step down", f"{s.step_down:.3e}", "mean weight change of one down pulse at w = 0")
    table.add_row("asymmetry", f"{100 * s.asymmetry:+.2f} %", "(up - down) / (up + down) step")
    table.add_row("final weight", f"{result.mean[-1]:+.4f} ± {result.std[-1]:.4f}", "mean ± std over devices after the last pulse")
    console = Console()
    console.print(table)
    if not s.bounds_reached:
        console.print("[yellow]note[/]: the trains did not take (90 % of) the devices to both bounds; "
                      "states and the plateaus are not the device's. Use more --up/--down pulses.")
    for label, path in (("json", args.json), ("plot", args.plot)):
        if path:
            console.print(f"wrote {label}: {path}")


def _plot_png(result: PulseResponse, name: str, args: argparse.Namespace) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pulse = np.arange(result.mean.size)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.fill_between(pulse, result.mean - result.std, result.mean + result.std, alpha=0.3, label="± 1 std over devices")
    ax.plot(pulse, result.mean, lw=1.5, label="mean weight")
    ax.set_xlabel("pulse number")
    ax.set_ylabel("weight")
    ax.set_title(f"{name}: {args.devices} devices, {args.cycles} x ({args.up} up, {args.down} down)")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
