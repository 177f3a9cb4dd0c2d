"""Overfitting with and without dropout, in floating point and on the RPU device (study 6).

Overfitting is measured two ways on each run: the rise of the test loss from its best epoch to the
last (``rise``: a model that overfits gets worse on held-out text while training goes on) and the
final gap between test and training loss (``gen_gap``; with dropout the training loss is measured
with dropout on, so it is reported, not used for the verdicts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..stats import compare, summarize
from .common import diff_text, fact_key, final, markdown_table, mean_std, plt, save, summary_facts, unigram


def analyse(run) -> Any:
    from ..runner import Analysis

    study = run.study
    facts: dict[str, Any] = {}
    results: dict[str, Any] = {}
    rows = []
    data: dict[tuple[str, str], dict[str, list[float]]] = {}
    seeds_of: dict[str, list[int]] = {}
    points_of: dict[str, list] = {}
    for condition in study.conditions:
        pts = sorted((p for p in run.points if p.condition == condition.name), key=lambda p: p.seed)
        seeds_of[condition.name] = [p.seed for p in pts]
        points_of[condition.name] = pts
        for side in ("fp", "rpu"):
            tests = [[c["test_loss"] for c in p.report["accuracy"][side]["curve"]] for p in pts]
            d = {
                "final_test": [final(p, side) for p in pts],
                "best_test": [min(t) for t in tests],
                "final_train": [final(p, side, "train_loss") for p in pts],
                "best_epoch": [int(np.argmin(t)) + 1 for t in tests],
            }
            d["rise"] = [f - b for f, b in zip(d["final_test"], d["best_test"])]
            d["gen_gap"] = [t - tr for t, tr in zip(d["final_test"], d["final_train"])]
            data[(condition.name, side)] = d
            k = fact_key(condition.name, side)
            for name, values in d.items():
                facts.update(summary_facts(f"{k}_{name}", summarize(values)))
            seeds = seeds_of[condition.name]
            facts.update(run.comparison(f"{k}_rise", compare(d["final_test"], d["best_test"], seeds, seeds)))
            results[f"{condition.name}/{side}"] = {n: summarize(v).to_dict() for n, v in d.items()}
            rows.append([condition.label or condition.name, "RPU" if side == "rpu" else "FP",
                         mean_std(summarize(d["final_train"])), mean_std(summarize(d["final_test"])),
                         mean_std(summarize(d["best_test"])), diff_text(compare(d["final_test"], d["best_test"], seeds, seeds)),
                         mean_std(summarize(d["gen_gap"]))])

    # Verdicts: the first condition is without dropout, the second with.
    plain, dropped = study.conditions[0].name, study.conditions[1].name
    seeds = seeds_of[plain]
    for side in ("fp", "rpu"):
        helps = compare(data[(plain, side)]["final_test"], data[(dropped, side)]["final_test"], seeds, seeds_of[dropped])
        facts.update(run.comparison(fact_key("dropout_effect", side), helps,
                                    f"{'RPU' if side == 'rpu' else 'floating point'}: {plain} - {dropped}",
                                    points_of[plain] + points_of[dropped]))
        facts[fact_key("dropout_helps", side)] = helps.resolved and helps.diff > 0
    rise = compare(data[(plain, "fp")]["rise"], data[(plain, "rpu")]["rise"], seeds, seeds)
    facts.update(run.comparison("rise_fp_minus_rpu", rise, f"rise from the best test loss, floating point - RPU, {plain}",
                                points_of[plain]))
    facts["fp_overfits"] = bool(facts[f"{fact_key(plain, 'fp')}_rise_resolved_up"])
    facts["rpu_overfits"] = bool(facts[f"{fact_key(plain, 'rpu')}_rise_resolved_up"])
    facts["rpu_overfits_less"] = rise.resolved and rise.diff > 0
    best = compare(data[(plain, "rpu")]["best_test"], data[(plain, "fp")]["best_test"], seeds, seeds)
    facts.update(run.comparison("best_rpu_minus_fp", best))
    final_gap = compare(data[(plain, "rpu")]["final_test"], data[(plain, "fp")]["final_test"], seeds, seeds)
    facts.update(run.comparison("final_rpu_minus_fp", final_gap))
    for side_condition in (plain, dropped):  # floating point with dropout against the RPU network
        c = compare(data[(dropped, "fp")]["final_test"], data[(side_condition, "rpu")]["final_test"],
                    seeds_of[dropped], seeds_of[side_condition])
        facts.update(run.comparison(fact_key("fp", dropped, "minus_rpu", side_condition), c))
    facts["unigram"] = unigram(run.points)

    plot = _plot(study, run.points, run.out_dir)
    table = markdown_table(
        ["dropout", "network", "final train loss", "final test loss", "best test loss (any epoch)",
         "final - best test (p)", "test - train"], rows)
    sections = ["Cross-entropy [nats/char], mean ± std over seeds. Training loss is the running mean over the last"
                " epoch (with dropout on when dropout is used); test loss is evaluated without dropout.", "", table,
                f"![overfitting]({plot})", ""]
    return Analysis(facts, sections, [plot], results)


def _plot(study, points, out_dir) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    styles = ["-", "--", "-.", ":"]
    for ax, side in zip(axes, ("fp", "rpu")):
        for condition, style in zip(study.conditions, styles):
            pts = [p for p in points if p.condition == condition.name]
            for split, colour in (("train_loss", "tab:blue"), ("test_loss", "tab:red")):
                curves = np.array([[c[split] for c in p.report["accuracy"][side]["curve"]] for p in pts])
                epochs = np.arange(1, curves.shape[1] + 1)
                for row in curves:
                    ax.plot(epochs, row, style, color=colour, alpha=0.25, linewidth=0.7)
                ax.plot(epochs, curves.mean(axis=0), style, color=colour, linewidth=2,
                        label=f"{split.removesuffix('_loss')}, {condition.label or condition.name}")
        ax.set_title("floating point" if side == "fp" else "RPU device")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy [nats/char]")
    axes[1].legend(fontsize=7)
    fig.suptitle("Training (blue) and test (red) loss; thick: mean over seeds, thin: single seeds")
    save(fig, out_dir / "overfitting.png")
    return "overfitting.png"
