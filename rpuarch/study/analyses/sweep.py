"""Test loss against swept device or periphery fields (studies of asymmetry, DAC, ADC, states).

For every sweep and every line (value of the second axis, if any): the RPU test loss at each value
of the first axis over seeds, compared with the reference value of the same line and with the
floating-point twin; walking from the reference outwards, the last value not resolved worse
(``tolerated``) and the first value resolved worse (``first_worse``); the values resolved better
(``any_better``: a device or periphery effect that lowers the loss, as a regulariser would).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..points import StudyPoint, grid_label
from ..spec import Sweep
from ..stats import compare, monotonic, summarize
from .common import diff_text, fact_key, final, markdown_table, mean_std, per_seed, plt, save, summary_facts, unigram


def analyse(run) -> Any:
    from ..runner import Analysis

    facts: dict[str, Any] = {}
    sections: list[str] = []
    plots: list[str] = []
    results: dict[str, Any] = {}
    for sweep in run.study.sweeps:
        f, md, plot, res = _one_sweep(run, sweep)
        facts.update(f)
        sections += md
        plots.append(plot)
        results[sweep.name] = res
    return Analysis(facts, sections, plots, results)


STARVED_SHARE = 0.01  # of the reference's update coincidences: below it an array barely trained


def starved_arrays(points: list[StudyPoint], ref_points: list[StudyPoint]) -> list[str]:
    """The arrays whose devices saw, on average over the seeds, less than ``STARVED_SHARE`` of the
    update coincidences (device steps) the same array saw at the reference: arrays that barely
    trained, e.g. because the error signals reaching them were rounded to zero."""
    here, ref = _mean_coincidences(points), _mean_coincidences(ref_points)
    return [name for name, c in ref.items() if c > 0 and here.get(name, 0.0) < STARVED_SHARE * c]


def _mean_coincidences(points: list[StudyPoint]) -> dict[str, float]:
    per_array: dict[str, list[float]] = {}
    for p in points:
        for name, counts in ((p.report or {}).get("activity") or {}).get("arrays", {}).items():
            per_array.setdefault(name, []).append(float(counts.get("coincidences", 0)))
    return {name: float(np.mean(values)) for name, values in per_array.items()}


def _points_at(points: list[StudyPoint], sweep: Sweep, values: dict[str, Any]) -> list[StudyPoint]:
    out = [p for p in points if p.coords.get(sweep.name) == values]
    return sorted(out, key=lambda p: p.seed)


def _one_sweep(run, sweep: Sweep) -> tuple[dict, list[str], str, dict]:
    points, out_dir = run.points, run.out_dir
    x_axis = sweep.axes[0]
    line_axis = sweep.axes[1] if len(sweep.axes) > 1 else None
    lines = line_axis.values if line_axis else [None]
    s = sweep.name
    facts: dict[str, Any] = {}
    rows: list[list[str]] = []
    res: dict[str, Any] = {"x": x_axis.name, "line": line_axis.name if line_axis else None, "lines": []}
    ref_index = x_axis.values.index(sweep.reference)
    walk = list(range(ref_index, len(x_axis.values))) if ref_index == 0 else list(range(ref_index, -1, -1))

    # The floating-point twin at the reference (the same for every line of one seed when the swept
    # fields are analog-only; taken at the reference to be safe).
    facts[f"{s}_values"] = ", ".join(str(v) for v in x_axis.values)
    facts[f"{s}_far"] = x_axis.values[walk[-1]]  # the value farthest from the reference
    facts[f"{s}_reference"] = sweep.reference
    uni = unigram(points)
    facts[f"{s}_unigram"] = uni
    fp_points = _points_at(points, sweep, _coords(sweep, sweep.reference, lines[0]))
    fp = summarize([final(p, "fp") for p in fp_points])
    fp_seeds = [p.seed for p in fp_points]
    facts.update(summary_facts(fact_key(s, "fp"), fp))
    # Whether these runs overfit at all: the twin's final test minus training loss.
    gap = summarize([final(p, "fp") - final(p, "fp", "train_loss") for p in fp_points])
    facts[f"{s}_fp_test_minus_train"] = gap.mean
    facts[f"{s}_fp_test_above_train"] = gap.mean > 0

    per_line: dict[Any, list] = {}
    for line in lines:
        lk = fact_key(s, line_axis.name, line) if line_axis else s
        stats = []
        ref_pts = _points_at(points, sweep, _coords(sweep, sweep.reference, line))
        ref_vals, ref_seeds = [final(p, "rpu") for p in ref_pts], [p.seed for p in ref_pts]
        for x in x_axis.values:
            pts = _points_at(points, sweep, _coords(sweep, x, line))
            vals, seeds = [final(p, "rpu") for p in pts], [p.seed for p in pts]
            summ = summarize(vals)
            vs_ref = compare(vals, ref_vals, seeds, ref_seeds)
            vs_fp = compare(vals, [final(p, "fp") for p in pts], seeds, seeds)
            stats.append((x, summ, vs_ref, vs_fp, seeds))
            k = fact_key(lk, x_axis.name, x)
            facts.update(summary_facts(k, summ))
            facts[f"{k}_above_unigram"] = uni is not None and summ.mean > uni
            starved = starved_arrays(pts, ref_pts)
            facts[f"{k}_starved_arrays"] = ", ".join(starved) or "none"
            facts[f"{k}_any_starved"] = bool(starved)
            label = f"{sweep.name}: {grid_label(sweep, (x, line) if line_axis else (x,))} - {x_axis.name}={sweep.reference}"
            facts.update(run.comparison(f"{k}_vs_ref", vs_ref, label, pts + ref_pts if x != sweep.reference else ()))
            facts.update(run.comparison(f"{k}_vs_fp", vs_fp))
            rows.append([*( [str(line)] if line_axis else []), str(x), mean_std(summ), per_seed(summ),
                         "reference" if x == sweep.reference else diff_text(vs_ref), diff_text(vs_fp)])
        per_line[line] = stats
        means = [st[1].mean for st in stats]
        ordered = [means[i] for i in walk]
        facts[f"{lk}_monotonic"] = monotonic(ordered, "rising")
        worse = [i for i in walk[1:] if stats[i][2].resolved and stats[i][2].diff > 0]
        first_worse = worse[0] if worse else None
        tolerated = walk[walk.index(first_worse) - 1] if first_worse is not None else walk[-1]
        facts[f"{lk}_any_worse"] = bool(worse)
        facts[f"{lk}_first_worse"] = x_axis.values[first_worse] if first_worse is not None else None
        facts[f"{lk}_tolerated"] = x_axis.values[tolerated]
        facts[f"{lk}_tolerated_is_reference"] = tolerated == ref_index  # the first step away already hurts
        facts.update(run.comparison(f"{lk}_tolerated_vs_ref", stats[tolerated][2]))
        facts[f"{lk}_resolved_worse_values"] = ", ".join(str(x_axis.values[i]) for i in sorted(worse)) or "none"
        better = [i for i in walk[1:] if stats[i][2].resolved and stats[i][2].diff < 0]  # e.g. noise as a regulariser
        facts[f"{lk}_any_better"] = bool(better)
        facts[f"{lk}_resolved_better_values"] = ", ".join(str(x_axis.values[i]) for i in sorted(better)) or "none"
        facts[f"{lk}_span"] = max(means) - min(means)
        facts[f"{lk}_any_vs_fp"] = any(st[3].resolved for st in stats)
        facts[f"{lk}_ref_vs_fp_resolved_up"] = bool(stats[ref_index][3].resolved and stats[ref_index][3].diff > 0)
        facts[f"{lk}_ref_vs_fp_diff"] = stats[ref_index][3].diff
        worst = int(np.argmax(means))
        facts[f"{lk}_worst_value"] = x_axis.values[worst]
        facts[f"{lk}_worst_mean"] = means[worst]
        facts[f"{lk}_worst_vs_fp_diff"] = stats[worst][3].diff
        res["lines"].append({
            "line": line,
            "points": [{"x": x, "rpu_test_loss": summ.to_dict(), "seeds": seeds, "vs_reference": vr.to_dict(),
                        "vs_fp": vf.to_dict()} for x, summ, vr, vf, seeds in stats],
        })

    if line_axis and len(lines) == 2:
        # The second line against the first at each x (e.g. stochastic rounding on vs off).
        a, b = lines[1], lines[0]
        resolved_better = []
        for i, x in enumerate(x_axis.values):
            sa, sb = per_line[a][i], per_line[b][i]
            c = compare(list(sa[1].values), list(sb[1].values), sa[4], sb[4])
            label = f"{sweep.name}: {x_axis.name}={x}, {line_axis.name}={a} - {line_axis.name}={b}"
            both = _points_at(points, sweep, _coords(sweep, x, a)) + _points_at(points, sweep, _coords(sweep, x, b))
            facts.update(run.comparison(fact_key(s, x_axis.name, x, "line_diff"), c, label, both))
            if c.resolved and c.diff < 0:
                resolved_better.append(x)
        facts[fact_key(s, "line_better_at")] = ", ".join(map(str, resolved_better)) or "none"
        facts[fact_key(s, "line_better_any")] = bool(resolved_better)

    if sweep.costs and line_axis and len(lines) > 2:
        # Every line against the first at each x (e.g. each training algorithm against sgd).
        first = lines[0]
        for line in lines[1:]:
            for i, x in enumerate(x_axis.values):
                sa, sb = per_line[line][i], per_line[first][i]
                c = compare(list(sa[1].values), list(sb[1].values), sa[4], sb[4])
                label = f"{sweep.name}: {x_axis.name}={x}, {line_axis.name}={line} - {line_axis.name}={first}"
                both = _points_at(points, sweep, _coords(sweep, x, line)) + _points_at(points, sweep, _coords(sweep, x, first))
                facts.update(run.comparison(fact_key(s, line_axis.name, line, x_axis.name, x, "vs_first"), c, label, both))
    cost_md: list[str] = []
    if sweep.costs:
        cost_rows = []
        for line in lines:
            lk = fact_key(s, line_axis.name, line) if line_axis else s
            for x in x_axis.values:
                cell = _costs(_points_at(points, sweep, _coords(sweep, x, line)))
                facts.update({f"{fact_key(lk, x_axis.name, x)}_{name}": value for name, value in cell.items()})
                cost_rows.append([*([str(line)] if line_axis else []), str(x)] + [cell.get(f"{key}_text", "-") for key, _ in COSTS])
        cost_md = ["Chip cost of each setting (2016 tile and chip presets, with the activity its runs measured; mean over"
                   " seeds):", "",
                   markdown_table(([line_axis.label] if line_axis else []) + [x_axis.label] + [label for _, label in COSTS],
                                  cost_rows)]
    res["fp_test_loss"] = fp.to_dict()
    res["fp_seeds"] = fp_seeds
    plot = _plot(sweep, per_line, fp, uni, out_dir)
    columns = ([line_axis.label] if line_axis else []) + [x_axis.label, "RPU test loss [nats/char] mean ± std",
                                                         "per seed", f"vs {x_axis.name}={sweep.reference}", "vs FP twin"]
    md = [f"### {sweep.title}", "",
          f"Floating-point twin (same seeds, same data): {mean_std(fp)} nats/char.", "",
          markdown_table(columns, rows),
          "Differences are RPU test losses minus the reference's (or the FP twin's), paired by seed, with their 95 %"
          " interval and the t-test's p; `*` marks a resolved difference, `* sep` one resolved by the separation of the"
          " seeds (rules under Statistics).", "",
          f"![{sweep.name}]({plot})", "", *cost_md]
    return facts, md, plot, res


# Costs of a setting (keys of a run's hardware section, fact names): tiles in use and their area
# (the tiles alone, without the chip's shared memory and network).
COSTS = (("time_per_char_s", "time per training char"), ("energy_per_char_j", "energy per training char"),
         ("tiles", "tiles in use"), ("tiles_area_mm2", "area of those tiles"))


def _costs(points: list[StudyPoint]) -> dict[str, Any]:
    """Mean over the runs of their chip costs, as numbers and ``_text`` with units."""
    from ...report.units import si

    def mean(key: str) -> float | None:
        values = [p.report.get("hardware", {}).get(key) for p in points]
        values = [v for v in values if isinstance(v, (int, float))]
        return float(np.mean(values)) if values else None

    tiles, tile_area = mean("tiles"), mean("tile_area_mm2")
    cell = {"time_per_char_s": mean("time_per_char_s"), "energy_per_char_j": mean("energy_per_char_J"),
            "tiles": tiles, "tiles_area_mm2": tiles * tile_area if tiles is not None and tile_area is not None else None}
    units = {"time_per_char_s": "s", "energy_per_char_j": "J", "tiles": "", "tiles_area_mm2": "mm²"}
    out: dict[str, Any] = {}
    for key, value in cell.items():
        if value is not None:
            out[key] = int(value) if key == "tiles" and value.is_integer() else value
            out[f"{key}_text"] = f"{value:g}" if key == "tiles" else si(value, units[key])
    return out


def _coords(sweep: Sweep, x: Any, line: Any) -> dict[str, Any]:
    coords = {sweep.axes[0].name: x}
    if len(sweep.axes) > 1:
        coords[sweep.axes[1].name] = line
    return coords


def _plot(sweep: Sweep, per_line: dict, fp, unigram_loss, out_dir) -> str:
    x_axis = sweep.axes[0]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x_axis.values)
    xs = np.array(x_axis.values, dtype=float) if numeric else np.arange(len(x_axis.values), dtype=float)
    span = (xs.max() - xs.min()) or 1.0
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = ["tab:red", "tab:blue", "tab:green", "tab:purple"]
    offsets = np.linspace(-0.012, 0.012, len(per_line)) * span if len(per_line) > 1 else [0.0]
    for (line, stats), colour, off in zip(per_line.items(), colours, offsets):
        name = "RPU" if line is None else f"RPU, {sweep.axes[1].label} = {line}"
        means = [st[1].mean for st in stats]
        stds = [st[1].std for st in stats]
        ax.errorbar(xs + off, means, yerr=stds, color=colour, marker="o", capsize=3, label=f"{name} (mean ± std)")
        for x, st in zip(xs, stats):
            ax.scatter([x + off] * st[1].n, st[1].values, color=colour, s=10, alpha=0.45, zorder=3)
    ax.axhspan(fp.mean - fp.std, fp.mean + fp.std, color="grey", alpha=0.2)
    ax.axhline(fp.mean, color="black", linestyle="--", linewidth=1, label="floating point (mean ± std)")
    if unigram_loss is not None:
        ax.axhline(unigram_loss, color="grey", linestyle=":", linewidth=1, label="character frequencies only")
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in x_axis.values])
    ax.set_xlabel(x_axis.label)
    ax.set_ylabel("test cross-entropy [nats/char]")
    ax.set_title(sweep.title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    name = f"{sweep.name}.png"
    save(fig, out_dir / name)
    return name
