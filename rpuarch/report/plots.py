"""PNG plots of reports (matplotlib, Agg backend: no display needed). Written atomically."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..files import atomic_write_bytes  # noqa: E402
from .metrics import LN2, Metric, lookup  # noqa: E402
from .tables import flatten  # noqa: E402
from .units import SI_UNITS, si  # noqa: E402

DPI = 110


def save(fig: Any, path: Path, tight: bool = True) -> Path:
    """``tight``: crop to the drawn content (renders twice; figures with a laid-out grid skip it)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight" if tight else None, metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def loss_curves(report: dict[str, Any], path: Path) -> Path | None:
    """Train / valid / test loss per epoch, RPU (solid) against floating point (dashed)."""
    acc = report.get("accuracy", {})
    curves = {side: acc.get(side, {}).get("curve") or [] for side in ("rpu", "fp")}
    if not any(curves.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {"train_loss": "tab:blue", "valid_loss": "tab:orange", "test_loss": "tab:green"}
    for side, style in (("rpu", "-"), ("fp", "--")):
        points = curves[side]
        epochs = [p.get("epoch") for p in points]
        for split, colour in colours.items():
            values = [p.get(split) for p in points]
            if any(isinstance(v, (int, float)) for v in values):
                ax.plot(epochs, values, style, marker="o", color=colour, label=f"{'RPU' if side == 'rpu' else 'FP'} {split.removesuffix('_loss')}")
    unigram = lookup(report, "accuracy.unigram.test_loss")
    if unigram is not None:
        ax.axhline(unigram, color="grey", linewidth=0.8, linestyle=":", label="character frequencies only")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("cross-entropy [nats/char]")
    ax.secondary_yaxis("right", functions=(lambda n: n / LN2, lambda b: b * LN2)).set_ylabel("[bits/char]")
    ax.set_title(f"{report.get('name')}: RPU (solid) vs floating point (dashed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    return save(fig, path)


def breakdown(report: dict[str, Any], kind: str, path: Path) -> Path | None:
    """Horizontal bars of hardware.breakdown.<kind> (energy_J or latency_s), one per component and
    phase; a log axis when the values span more than two decades (static power often dwarfs the rest)."""
    breakdown_ = report.get("hardware", {}).get("breakdown", {})
    tree = breakdown_.get(kind)
    items = [(n, v) for n, v in flatten(tree) if v > 0] if isinstance(tree, dict) else []
    if not items:
        return None
    unit = "J" if kind == "energy_J" else "s"
    largest, smallest = max(v for _, v in items), min(v for _, v in items)
    scale, prefix = _scale(largest)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(items) + 1.6))
    names = [name for name, _ in items][::-1]
    values = [v / scale for _, v in items][::-1]
    ax.barh(names, values, color="tab:purple" if unit == "J" else "tab:cyan")
    if largest / smallest > 100:
        ax.set_xscale("log")
        ax.set_xlim(smallest / scale / 3, largest / scale * 30)  # room for the labels
    else:
        ax.margins(x=0.3)
    for y, v in enumerate(values):
        ax.text(v, y, f" {si(v * scale, unit)}", va="center", fontsize=8)
    what = "energy" if unit == "J" else "busy time"
    ax.set_xlabel(f"{what} [{prefix}{unit}]")
    ax.tick_params(axis="y", labelsize=8)
    scope = breakdown_.get("scope")
    ax.set_title(f"{report.get('name')}: {what} by component / phase" + (f"\n{scope}" if scope else ""), fontsize=10)
    return save(fig, path)


def _scale(magnitude: float) -> tuple[float, str]:
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if magnitude >= scale:
            return scale, prefix
    return 1e-15, "f"


def write_run_plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    written = [
        loss_curves(report, out_dir / "loss_curves.png"),
        breakdown(report, "energy_J", out_dir / "energy_breakdown.png"),
        breakdown(report, "latency_s", out_dir / "latency_breakdown.png"),
    ]
    return [p for p in written if p is not None]


def metric_grid(
    x_label: str,
    x_values: list[Any],
    series: dict[str, list[dict[str, Any] | None]],
    metrics: list[Metric],
    title: str,
    path: Path,
) -> Path:
    """One panel per metric, the metric against the swept value; one line per ``series`` (the
    combinations of the other swept fields). Failed points (None) are gaps. Numeric x values are
    plotted in order; others as categories in the order given."""
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in x_values)
    order = sorted(range(len(x_values)), key=lambda i: x_values[i]) if numeric else list(range(len(x_values)))
    xs = [x_values[i] for i in order] if numeric else order
    columns = 3
    rows = max(1, math.ceil(len(metrics) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.9 * rows + 0.6), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        values = {label: [metric.value(reports[i]) if reports[i] is not None else None for i in order] for label, reports in series.items()}
        present = [abs(v) for ys in values.values() for v in ys if v is not None]
        scale, prefix = _scale(max(present)) if present and metric.unit in SI_UNITS else (1.0, "")
        for label, ys in values.items():
            ax.plot(xs, [float("nan") if y is None else y / scale for y in ys], marker="o", label=label or None)
        unit = f"{prefix}{metric.unit}"
        ax.set_title(f"{metric.label} [{unit}]" if metric.unit else metric.label, fontsize=9)
        ax.set_xlabel(x_label, fontsize=8)
        if not numeric:
            ax.set_xticks(xs, [str(x) for x in x_values], fontsize=7, rotation=20)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    if len(series) > 1:
        axes.flat[0].legend(fontsize=7)
    fig.suptitle(title)
    height = 2.9 * rows + 0.6
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.6 / height, top=1 - 0.7 / height, hspace=0.6, wspace=0.3)
    return save(fig, path, tight=False)
