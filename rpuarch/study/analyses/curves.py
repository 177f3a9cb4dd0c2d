"""Loss curves of the RPU network against its floating-point twin, over seeds, per condition; with
several conditions, their RPU test losses against each other."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ...report.metrics import lookup
from ..stats import compare, summarize
from .common import diff_text, fact_key, final, markdown_table, mean_std, per_seed, plt, save, summary_facts, unigram

HARDWARE = (
    ("hardware.time_per_char_s", "time per training char", "s"),
    ("hardware.energy_per_char_J", "energy per training char", "J"),
    ("hardware.power_W", "power", "W"),
    ("hardware.epoch_time_s", "epoch time (this run's training split)", "s"),
    ("hardware.tiles", "tiles in use", ""),
)


def analyse(run) -> Any:
    from ..runner import Analysis

    facts: dict[str, Any] = {}
    sections: list[str] = []
    results: dict[str, Any] = {}
    plots = []
    rows = []
    uni = unigram(run.points)
    facts["unigram"] = uni
    for condition in run.study.conditions:
        pts = sorted((p for p in run.points if p.condition == condition.name), key=lambda p: p.seed)
        seeds = [p.seed for p in pts]
        c = fact_key(condition.name)
        res: dict[str, Any] = {"seeds": seeds}
        for side in ("rpu", "fp"):
            for split in ("train_loss", "test_loss"):
                s = summarize([final(p, side, split) for p in pts])
                facts.update(summary_facts(fact_key(c, side, split.removesuffix("_loss")), s))
                res[f"{side}_{split}"] = s.to_dict()
        rpu = [final(p, "rpu") for p in pts]
        fp = [final(p, "fp") for p in pts]
        gap = compare(rpu, fp, seeds, seeds)
        facts.update(run.comparison(fact_key(c, "gap"), gap, f"RPU - floating point, {condition.name}", pts))
        facts[fact_key(c, "gap_relative")] = gap.diff / summarize(fp).mean
        if uni is not None:
            learns = compare(rpu, [uni] * len(rpu))  # against a constant: Welch with zero spread on one side
            facts[fact_key(c, "rpu_learns")] = learns.resolved and learns.diff < 0
            facts[fact_key(c, "rpu_below_unigram")] = uni - summarize(rpu).mean
            facts[fact_key(c, "fp_below_unigram")] = uni - summarize(fp).mean
        # Epoch of the last resolved gap and whether the gap shrinks over training.
        epochs = len(pts[0].report["accuracy"]["rpu"]["curve"])
        gaps = [compare([p.report["accuracy"]["rpu"]["curve"][e]["test_loss"] for p in pts],
                        [p.report["accuracy"]["fp"]["curve"][e]["test_loss"] for p in pts], seeds, seeds) for e in range(epochs)]
        facts[fact_key(c, "gap_first_epoch")] = gaps[0].diff
        facts[fact_key(c, "gap_shrinks")] = abs(gaps[-1].diff) < abs(gaps[0].diff)
        res["gap_by_epoch"] = [g.to_dict() for g in gaps]
        for key, label, unit in HARDWARE:
            values = [lookup(p.report, key) for p in pts]
            values = [v for v in values if v is not None]
            if values:
                mean = float(np.mean(values))
                mean = int(mean) if mean.is_integer() else mean  # tile counts print as counts
                facts[fact_key(c, key.split(".")[-1])] = mean
                facts[fact_key(c, key.split(".")[-1], "text")] = _si(mean, unit)
        baselines = {b["name"]: [] for p in pts for b in p.report.get("baselines", [])}
        for p in pts:
            for b in p.report.get("baselines", []):
                baselines[b["name"]].append(b["acceleration_factor"])
        res["acceleration_factor"] = {k: float(np.mean(v)) for k, v in baselines.items()}
        for name, v in res["acceleration_factor"].items():
            facts[fact_key(c, "accel", name)] = v
        rows.append([condition.label or condition.name, mean_std(summarize(rpu)), mean_std(summarize(fp)),
                     diff_text(gap), per_seed(summarize(rpu)), per_seed(summarize(fp))])
        plot = _plot(condition, pts, uni, run.out_dir)
        plots.append(plot)
        results[condition.name] = res
        sections += [f"### {condition.label or condition.name}", "", f"![curves]({plot})", ""]
        hw_rows = [[label, _si(facts.get(fact_key(c, key.split('.')[-1])), unit)] for key, label, unit in HARDWARE]
        hw_rows += [[f"acceleration factor vs {name}", f"{v:,.1f}x"] for name, v in res["acceleration_factor"].items()]
        sections += ["Hardware estimate with the activity these runs measured (mean over seeds; 2016 tile and chip presets):", "",
                     markdown_table(["quantity", "value"], hw_rows)]
    table = markdown_table(["device", "RPU test loss", "FP test loss", "RPU - FP, paired [95 % interval]", "RPU per seed",
                            "FP per seed"], rows)
    sections = ["Final test cross-entropy [nats/char], mean ± std over seeds:", "", table] + _between(run, facts) + sections
    if uni is not None:
        sections.insert(3, f"A model of character frequencies alone scores {uni:.4f} nats/char on the test split.\n")
    return Analysis(facts, sections, plots, results)


def _between(run, facts: dict[str, Any]) -> list[str]:
    """Every pair of conditions: RPU test loss of one minus the other's, paired by seed (the facts of
    comparison ``<a>_vs_<b>``, each a comparison the study is about); a table when there are two or more."""
    conditions = run.study.conditions
    rows = []
    for i, a in enumerate(conditions):
        for j, b in enumerate(conditions):
            if i == j:
                continue
            pa = sorted((p for p in run.points if p.condition == a.name), key=lambda p: p.seed)
            pb = sorted((p for p in run.points if p.condition == b.name), key=lambda p: p.seed)
            c = compare([final(p, "rpu") for p in pa], [final(p, "rpu") for p in pb], [p.seed for p in pa], [p.seed for p in pb])
            # each unordered pair is tracked once (the seed rule), its mirror only gives facts
            facts.update(run.comparison(fact_key(a.name, "vs", b.name), c, f"RPU, {a.name} - {b.name}",
                                        pa + pb if i < j else ()))
            if i < j:
                rows.append([a.label or a.name, b.label or b.name, diff_text(c)])
    if not rows:
        return []
    return ["", "RPU test loss of one condition minus another's (paired by seed):", "",
            markdown_table(["condition", "minus", "difference [95 % interval]"], rows)]


def _si(value, unit):
    from ...report.units import si

    return si(value, unit)


def _plot(condition, pts, uni, out_dir) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, split in zip(axes, ("train_loss", "test_loss")):
        for side, colour in (("rpu", "tab:red"), ("fp", "tab:blue")):
            curves = np.array([[c[split] for c in p.report["accuracy"][side]["curve"]] for p in pts])
            epochs = np.arange(1, curves.shape[1] + 1)
            for row in curves:
                ax.plot(epochs, row, color=colour, alpha=0.3, linewidth=0.8)
            label = "RPU" if side == "rpu" else "floating point"
            ax.plot(epochs, curves.mean(axis=0), color=colour, marker="o", linewidth=2, label=f"{label} (mean of {len(pts)} seeds)")
        if uni is not None:
            ax.axhline(uni, color="grey", linestyle=":", label="character frequencies only")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(split.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy [nats/char]")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{condition.label or condition.name}: thin lines are single seeds")
    name = f"curves_{fact_key(condition.name)}.png"
    save(fig, out_dir / name)
    return name
