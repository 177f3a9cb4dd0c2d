"""``rpuarch device pulse-response`` (the potentiation/depression curve of a device preset) and
``rpuarch device fit`` (a device preset fitted to measured curves)."""

from __future__ import annotations

import argparse
import io
import shlex
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__
from ..config import DeviceConfig, load_preset, resolve
from ..config.loader import models_dir
from ..device.fit import DEFAULT_BOOTSTRAP, FIT_MODELS, FitResult, figure, fit_measurements
from ..device.measured import DeviceTrace, read_measurements, to_csv
from ..device.pulse_response import PulseResponse, pulse_response
from ..errors import ConfigError
from ..files import atomic_write_bytes, atomic_write_json, atomic_write_text
from . import add_overrides, help_by_default

DEVICE_SECTIONS = ("device", "io", "update")  # what a --set of this command may change
MAX_TRACE_VALUES = 20_000_000  # weights recorded (pulses x devices, float64): 160 MB


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
    q.add_argument("--csv", metavar="FILE", help="write every device's weight after each pulse in the CSV format `device fit` reads")
    add_overrides(q)
    q.set_defaults(handler=cmd_pulse_response)

    q = sub.add_parser(
        "fit",
        help="fit the step models to measured potentiation/depression curves and write a device preset",
        description="Fit constant-step, soft-bounds, linear-step, exp-step and pow-step models to the readings of"
        " DATA (a CSV: device, pulse, direction, weight or conductance; docs/device.md), choose one (auto: the"
        " smallest BIC) and write it as a device preset with each parameter's standard error.",
    )
    q.add_argument("data", metavar="DATA", help="measurement CSV, or the name of one under models/devices/measured/")
    q.add_argument("--model", default="auto", type=_model_name, metavar="MODEL",
                   help="auto (default: the smallest BIC) or one of " + ", ".join(m.replace("_", "-") for m in FIT_MODELS))
    q.add_argument("--out", required=True, metavar="PRESET.yaml", help="the device preset to write")
    q.add_argument("--plot", metavar="FIT.png", help="write the readings against the fitted model as a PNG")
    q.add_argument("--g-range", nargs=2, type=float, metavar=("GMIN", "GMAX"),
                   help="conductances mapped to weights -1 and 1 (default: the file's lowest and highest)")
    q.add_argument("--bootstrap", type=_replicates, default=DEFAULT_BOOTSTRAP, metavar="B",
                   help=f"synthetic replicates per device for the uncertainties (default {DEFAULT_BOOTSTRAP}; 0: none)")
    q.add_argument("--extends", default="gokmen-vlasov-2016", metavar="PRESET",
                   help="device preset the fitted one takes its io and update from (default gokmen-vlasov-2016)")
    q.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    q.set_defaults(handler=cmd_fit)
    help_by_default(p)


def _model_name(text: str) -> str:
    name = text.strip().lower().replace("-", "_")
    if name != "auto" and name not in FIT_MODELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a model: auto, " + ", ".join(m.replace("_", "-") for m in FIT_MODELS))
    return name


def _replicates(text: str) -> int:
    value = int(text)
    if value < 0 or value == 1:
        raise argparse.ArgumentTypeError(f"must be 0 (no uncertainties) or at least 2, got {value}")
    return value


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
    recorded = (args.cycles * (args.up + args.down) + 1) * args.devices
    if recorded > MAX_TRACE_VALUES:
        raise ConfigError(
            "--up/--down/--cycles/--devices", None,
            f"{args.cycles:,} x ({args.up:,} + {args.down:,}) pulses on {args.devices:,} devices records {recorded:,} weights,"
            f" more than the {MAX_TRACE_VALUES:,} ({MAX_TRACE_VALUES * 8 / 1e6:.0f} MB) this command keeps.",
            "fewer pulses or --devices (a device crosses its range in about w_max / dw_min pulses: 600 for gokmen-vlasov-2016)",
        )
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
    csv = _traces_csv(result, args) if args.csv else None
    if csv is not None:
        atomic_write_text(args.csv, csv)
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
    for label, path in (("json", args.json), ("plot", args.plot), ("csv", args.csv)):
        if path:
            console.print(f"wrote {label}: {path}")


def _traces_csv(result: PulseResponse, args: argparse.Namespace) -> str:
    """Every device's trace as `device fit` reads it, with the command that simulated it."""
    traces = [DeviceTrace(f"d{m + 1}", result.traces[:, m], result.pulses > 0) for m in range(args.devices)]
    command = (f"rpuarch device pulse-response {shlex.quote(args.preset)} --up {args.up} --down {args.down}"
               f" --cycles {args.cycles} --devices {args.devices} --seed {args.seed}"
               + "".join(f" --set {shlex.quote(o)}" for o in args.overrides) + f" --csv {shlex.quote(Path(args.csv).name)}")
    return to_csv(traces, f"Simulated by rpuarch {__version__}, not measured:\n{command}")


def cmd_fit(args: argparse.Namespace) -> int:
    data = read_measurements(_data_path(args.data), tuple(args.g_range) if args.g_range else None)
    load_preset("device", args.extends, "--extends")  # an unknown preset fails before the fit
    console = Console()
    with console.status("fitting ...") as status:
        result = fit_measurements(data, args.model, args.bootstrap, np.random.default_rng(args.seed),
                                  progress=lambda text: status.update(text + " ..."))
    command = (f"rpuarch device fit {shlex.quote(args.data)} --model {args.model.replace('_', '-')}"
               f" --out {shlex.quote(Path(args.out).name)} --bootstrap {args.bootstrap} --seed {args.seed}"
               + (f" --g-range {args.g_range[0]:g} {args.g_range[1]:g}" if args.g_range else "")
               + (f" --extends {shlex.quote(args.extends)}" if args.extends != "gokmen-vlasov-2016" else ""))
    text = result.preset_yaml(args.extends, command)
    # Render everything before writing anything, so a failure leaves no half-finished output.
    png = _png(figure(result)) if args.plot else None
    atomic_write_text(args.out, text)
    if png is not None:
        atomic_write_bytes(args.plot, png)
    _print_fit(result, console)
    for label, path in (("preset", args.out), ("plot", args.plot)):
        if path:
            console.print(f"wrote {label}: {path}")
    return 0


def _data_path(text: str) -> Path:
    """DATA as given, or models/devices/measured/DATA(.csv) when no such file exists."""
    path = Path(text)
    if path.exists():
        return path
    shipped = models_dir() / "devices" / "measured" / (text if text.endswith(".csv") else f"{text}.csv")
    return shipped if shipped.is_file() else path


def _print_fit(result: FitResult, console: Console) -> None:
    data = result.data
    best = min(f.bic for f in result.fits.values())
    why = "the smallest BIC" if result.chosen_by == "BIC" else "given by --model"
    devices = f"{len(data.devices)} device" + ("s" if len(data.devices) > 1 else "")
    table = Table(title=f"Step models fitted to {Path(data.path).name}: {devices}, {data.pulses:,} pulses",
                  caption=f"* chosen: {why}")
    for column in ("model", "k", "1-step RMS", "in steps", "curve RMS", "AIC", "BIC", "ΔBIC"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=column == "model")
    for name, f in result.fits.items():
        chosen = name == result.chosen
        table.add_row(name + (" *" if chosen else ""), str(f.parameters), f"{f.rms:.3g}", f"{f.rms / result.typical_step:.3f}",
                      f"{f.curve_rms:.3g}", f"{f.aic:.0f}", f"{f.bic:.0f}", f"{f.bic - best:+.0f}", style="bold" if chosen else None)
    console.print(table)
    console.print(f"k: parameters (per device x devices). 1-step RMS: each reading predicted from the one before it (what"
                  f" the fit minimises), in weight and in median measured steps ({result.typical_step:.3g}); curve RMS:"
                  f" the mean curve, each train run from its measured start. BIC = n ln(RSS/n) + k ln n, n ="
                  f" {result.fit.readings:,}. Readings: {data.conversion}.")
    units = {name: (info.json_schema_extra or {}).get("unit", "-") if isinstance(info.json_schema_extra, dict) else "-"
             for name, info in DeviceConfig.model_fields.items()}
    params = Table(title=f"Fitted device: {result.chosen}")
    for column in ("device.", "value", "± 1 s.e.", "unit", "how"):
        params.add_column(column, justify="right" if column in ("value", "± 1 s.e.") else "left")
    for p in result.parameters:
        value = f"{p.value:.5g}" if isinstance(p.value, float) else str(p.value)
        field = p.path.removeprefix("device.")
        params.add_row(field, value, "-" if p.se is None else f"{p.se:.2g}", units.get(field.split(".")[0], "-"), p.how)
    console.print(params)
    console.print(f"Uncertainty: {result.uncertainty}. Read noise of the measurement: {result.fit.read_noise:.3g}"
                  f" ({result.fit.read_noise / result.typical_step:.2f} median steps; removed from dw_min_std).")
    for note in result.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


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
    return _png(fig)
