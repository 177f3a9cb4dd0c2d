"""Whether a study's runs have learned: per setting, the convergence criterion of the study file
(rpuarch.study.spec.Convergence) on the validation curves, against the unigram loss of the test
split (a model of character frequencies alone), with a plot of the curves.

The criterion is taken on the mean curve over a setting's seeds: the floating-point twin has
converged when its validation loss improved by less than ``fp_improvement`` (a fraction) over the
last epoch and lies at least ``below_unigram`` below the unigram loss; the RPU network has stopped
improving when its validation loss improved by less than ``rpu_improvement``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..report.plots import plt, save
from .analyses.common import fact_key, markdown_table, unigram
from .points import StudyPoint
from .spec import Convergence

PLOT = "convergence.png"


def criterion_text(c: Convergence) -> str:
    return (f"the floating-point twin has converged when its validation loss (mean over seeds) improved by less than"
            f" {c.fp_improvement:.0%} over the last epoch and lies at least {c.below_unigram:.0%} below the unigram loss"
            f" of the test split (a model of character frequencies alone); the RPU network has stopped improving when its"
            f" validation loss improved by less than {c.rpu_improvement:.0%} over the last epoch (otherwise its result is"
            " the value at this training length, and its curve is shown)")


@dataclass
class SettingConvergence:
    name: str
    seeds: int
    epochs: int
    fp_valid: list[float]  # mean over seeds, per epoch
    rpu_valid: list[float]
    fp_change: float | None  # relative improvement over the last epoch (None: one epoch)
    rpu_change: float | None
    fp_below_unigram: float | None  # (unigram - final FP validation loss) / unigram
    fp_converged: bool
    rpu_stopped: bool


def _mean_curve(points: list[StudyPoint], side: str) -> list[float]:
    curves = [[e["valid_loss"] for e in p.report["accuracy"][side]["curve"]] for p in points]
    epochs = min(len(c) for c in curves)
    return [float(v) for v in np.mean([c[:epochs] for c in curves], axis=0)]


def _improvement(curve: list[float]) -> float | None:
    return (curve[-2] - curve[-1]) / curve[-2] if len(curve) >= 2 else None


def assess(points: list[StudyPoint], criterion: Convergence, out_dir: Path) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Facts, the report's section and results.json's entry, from the finished points (settings in
    the order of ``points``)."""
    finished = [p for p in points if p.report is not None]
    uni = unigram(finished)
    rows: list[SettingConvergence] = []
    for name in dict.fromkeys(p.condition for p in points):
        pts = [p for p in finished if p.condition == name]
        if not pts:
            continue
        fp, rpu = _mean_curve(pts, "fp"), _mean_curve(pts, "rpu")
        fp_change, rpu_change = _improvement(fp), _improvement(rpu)
        below = (uni - fp[-1]) / uni if uni else None
        rows.append(SettingConvergence(
            name, len(pts), len(fp), fp, rpu, fp_change, rpu_change, below,
            fp_change is not None and fp_change < criterion.fp_improvement and below is not None and below >= criterion.below_unigram,
            rpu_change is not None and rpu_change < criterion.rpu_improvement))

    facts: dict[str, Any] = {"unigram": uni, "settings_count": len(rows)}
    for r in rows:
        k = fact_key(r.name)
        facts.update({f"{k}_fp_converged": r.fp_converged, f"{k}_fp_last_change": r.fp_change,
                      f"{k}_rpu_stopped": r.rpu_stopped, f"{k}_rpu_last_change": r.rpu_change})
    changes = [r.fp_change for r in rows if r.fp_change is not None]
    belows = [r.fp_below_unigram for r in rows if r.fp_below_unigram is not None]
    facts.update({
        "converged": bool(rows) and all(r.fp_converged for r in rows),
        "fp_converged_count": sum(r.fp_converged for r in rows),
        "rpu_stopped": bool(rows) and all(r.rpu_stopped for r in rows),
        "rpu_stopped_count": sum(r.rpu_stopped for r in rows),
        "fp_last_change_max": max(changes) if changes else None,
        "fp_below_unigram_min": min(belows) if belows else None,
        "fp_valid_final_min": min(r.fp_valid[-1] for r in rows) if rows else None,
    })
    facts["convergence_text"] = _sentence(rows, facts, criterion)

    plot = _plot(rows, uni, out_dir) if rows else None
    table = markdown_table(
        ["setting", "seeds", "epochs", "FP valid loss", "FP change, last epoch", "FP below unigram", "FP converged",
         "RPU valid loss", "RPU change, last epoch", "RPU stopped"],
        [[r.name, str(r.seeds), str(r.epochs), f"{r.fp_valid[-1]:.4f}", _pct(r.fp_change), _pct(r.fp_below_unigram),
          "yes" if r.fp_converged else "**no**", f"{r.rpu_valid[-1]:.4f}", _pct(r.rpu_change),
          ("yes, rising" if _rising(r, criterion) else "yes") if r.rpu_stopped else "no (curve below)"] for r in rows])
    section = ["## Convergence", "", f"Criterion: {criterion_text(criterion)}.", "",
               f"Unigram loss of the test split: {uni:.4f} nats/char." if uni is not None else
               "The runs do not record the unigram loss of the test split.", "", facts["convergence_text"][0].upper() + facts["convergence_text"][1:] + ".", "",
               table]
    if plot:
        section += [f"![validation curves]({plot})", ""]
    results = {"criterion": criterion.model_dump(), "unigram": uni, "plot": plot,
               "settings": [asdict(r) for r in rows]}
    return facts, section, results


def _rising(r: SettingConvergence, c: Convergence) -> bool:
    """The RPU validation loss got worse by more than the criterion over the last epoch."""
    return r.rpu_change is not None and r.rpu_change < -c.rpu_improvement


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}" if value < 0 else f"{value:.2%}"


def _against_unigram(below: float | None) -> str:
    if below is None:
        return "no unigram loss recorded"
    return f"{abs(below):.0%} {'below' if below >= 0 else 'above'} the unigram loss"


def _sentence(rows: list[SettingConvergence], facts: dict[str, Any], c: Convergence) -> str:
    """One clause a reading can quote: whether the runs have learned, with the numbers."""
    if not rows:
        return "no run has finished yet"
    n = len(rows)
    if any(r.epochs < 2 for r in rows):
        return "convergence cannot be judged: the runs trained one epoch (the criterion needs the last epoch's change)"
    if facts["converged"]:
        fp = (f"the floating-point twin has converged in {'every' if n > 1 else 'the'} setting"
              f" (validation loss improving at most {facts['fp_last_change_max']:.2%} over the last epoch, at least"
              f" {facts['fp_below_unigram_min']:.0%} below the unigram loss)")
    else:
        failing = [r for r in rows if not r.fp_converged]
        worst = max(failing, key=lambda r: r.fp_change if r.fp_change is not None else -1.0)
        fp = (f"the floating-point twin has not converged in {len(failing)} of {n} setting{'s' if n > 1 else ''}"
              f" ({worst.name}: validation loss improving {_pct(worst.fp_change)} over the last epoch, criterion"
              f" < {c.fp_improvement:.0%}; {_against_unigram(worst.fp_below_unigram)}, criterion at least"
              f" {c.below_unigram:.0%} below)")
    stopped = facts["rpu_stopped_count"]
    rpu = (f"the RPU network has stopped improving in {'every' if n > 1 else 'the'} setting" if stopped == n else
           f"the RPU network is still improving in {n - stopped} of {n} setting{'s' if n > 1 else ''} (curves under Convergence)")
    rising = [r.name for r in rows if _rising(r, c)]
    if rising:
        rpu += (f"; its validation loss rose by more than {c.rpu_improvement:.0%} over the last epoch in"
                f" {', '.join(rising)}: stopped by getting worse, not by converging")
    return f"{fp}; {rpu}"


def _plot(rows: list[SettingConvergence], uni: float | None, out_dir: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(rows):
        colour = colours[i % len(colours)]
        epochs = np.arange(1, r.epochs + 1)
        ax.plot(epochs, r.rpu_valid, color=colour, marker="o", markersize=3, label=f"RPU, {r.name}")
        ax.plot(epochs, r.fp_valid, color=colour, linestyle="--", linewidth=1, alpha=0.7)
    if uni is not None:
        ax.axhline(uni, color="grey", linestyle=":", label="character frequencies only (test split)")
    ax.plot([], [], color="black", linestyle="--", linewidth=1, label="floating-point twin (dashed)")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation cross-entropy [nats/char]")
    ax.set_title("Validation loss per epoch, mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, out_dir / PLOT)
    return PLOT
