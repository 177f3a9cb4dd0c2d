"""``rpuarch study STUDY.yaml``: run one of the paper's studies and write its report.

A study is a campaign that may take several sittings. Its finished runs are small JSON files in
``OUT/runs/`` (rpuarch.study.runs; committed with the report), so every invocation first takes
what is there (and the same runs, by key, from the other studies' folders beside it: the studies
share their reference setting), then runs what is missing, within ``budget`` minutes if one is given, and writes
``OUT/results.json`` (every number of the report), PNG plots and ``OUT/report.md`` from what is
there. A study with runs still pending gets a report that lists them; the finding and the reading
are written once every run has finished. The index ``reports/README.md`` is regenerated when OUT
is ``<reports>/paper/<study>``.

The number of seeds follows the seed rule (rpuarch.study.stats.seed_rule): once the planned runs
have finished, a comparison whose interval is too wide to decide it gives its settings more seeds,
which are planned and run in turn.

Runs are also cached locally (``--cache``, default ``runs/study/points``, shared by all studies):
there a run keeps its training checkpoints while it runs, so a run stopped by the budget or by
Ctrl-C continues where it stopped.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.console import Console

from ..config import load_workload
from ..config.loader import find_workload_file, missing_workload
from ..errors import UserError
from ..files import atomic_write_json, atomic_write_text
from ..run import preflight, versions
from ..sweep import ResultCache, make_executor, run_points
from ..sweep.cache import check_output_dirs
from . import convergence
from . import data as corpus_data
from .analyses.common import comparison_facts, markdown_table, mean_std
from .budget import BudgetExecutor
from .points import StudyPoint, build_points
from .runs import DIRNAME as RUNS_DIRNAME
from .runs import RunStore, corpus_digest, run_key, run_record
from .spec import Study, load_study, to_overrides
from .stats import RULE, Comparison, seed_rule, seeds_needed, summarize
from .template import render

RESULTS_SCHEMA = "rpuarch.study/2"
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class Analysis:
    """What an analysis of a study's runs gives the report."""

    facts: dict[str, Any]  # the names the reading template may use
    sections: list[str]  # Markdown: tables and plot links
    plots: list[str] = field(default_factory=list)  # PNG files written beside the report
    results: dict[str, Any] = field(default_factory=dict)  # aggregates for results.json


@dataclass
class Tracked:
    """A comparison the study is about: reported with its verdict and given seeds by the seed rule."""

    name: str  # its fact prefix
    label: str
    comparison: Comparison
    settings: tuple[str, ...]  # the settings whose seeds it compares


@dataclass
class StudyRun:
    """Everything an analysis sees."""

    study: Study
    path: Path
    out_dir: Path
    full: bool
    seeds: list[int]
    points: list[StudyPoint]
    overrides: list[str]  # --set and --data, as applied to every point
    data_paths: dict[str, Path]
    tracked: list[Tracked] = field(default_factory=list)

    def comparison(self, prefix: str, c: Comparison, label: str | None = None,
                   points: Sequence[StudyPoint] = ()) -> dict[str, Any]:
        """The facts of comparison ``c``; with ``points`` (its runs, both sides) it is one the study is
        about, listed with its verdict and subject to the seed rule."""
        if points:
            self.tracked.append(Tracked(prefix, label or prefix, c, tuple(dict.fromkeys(p.condition for p in points))))
        return comparison_facts(prefix, c, self.study.difference_of_interest)


def default_out_dir(study: Study) -> Path:
    return Path("reports") / "paper" / study.study


def default_cache_dir(study: Study) -> Path:
    """One cache for all studies: a run two studies share (e.g. the baseline device at the same
    scale and seed) is computed once."""
    return Path("runs") / "study" / "points"


def run_study(
    path: str | Path,
    out_dir: str | Path | None = None,
    jobs: int = 1,
    full: bool = False,
    overrides: list[str] | None = None,
    data: list[str] | None = None,
    seeds: list[int] | None = None,
    cache_dir: str | Path | None = None,
    command: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    budget: float | None = None,
    max_seeds: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run what is missing of the study (within ``budget`` minutes; also stops when ``stop()`` turns
    true), analyse what is there, write the report; return results.json's content."""
    from .analyses import ANALYSES

    started, clock = time.time(), time.monotonic()
    path = find_workload_file(path)
    if not path.is_file():
        raise missing_workload(path, "study file")
    study = load_study(path)
    if max_seeds is not None:
        if max_seeds < 1:
            raise UserError(f"--max-seeds must be at least 1, got {max_seeds}.")
        study = study.model_copy(update={"max_seeds": max_seeds})
    if budget is not None and budget < 0:
        raise UserError(f"--budget is in minutes and cannot be negative, got {budget:g}.")
    console = console or Console(stderr=True)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(study)
    seeds = list(seeds or study.seeds)
    scale_settings = study.full if full else study.quick
    corpora = list(study.corpora) if study.kind == "scale" else [_workload_corpus(study, path)]
    data_paths = corpus_data.parse_data(list(data or []), corpora)
    # The study's scale first, then --data, then --set: what the user types last wins.
    base = to_overrides(scale_settings)
    if study.kind != "scale" and data_paths:
        base += corpus_data.dataset_overrides("dataset", data_paths[corpora[0]])
    base += list(overrides or [])

    if study.kind == "scale":  # a computation, no runs
        run = StudyRun(study, path, out_dir, full, seeds, [], base, data_paths)
        analysis = ANALYSES["scale"](run)
        return _finish(run, analysis, None, command, started, complete=True)
    check_output_dirs(out_dir, cache_dir if cache_dir is not None else default_cache_dir(study))

    def should_stop() -> bool:
        return (budget is not None and time.monotonic() - clock >= budget * 60) or (stop is not None and stop())

    campaign = _Campaign(study, _workload_of(study, path), base, seeds, out_dir, cache_dir)
    seeds_of: dict[str, int] = {}
    asked: list[Tracked] = []  # the comparisons of the last complete stage, which asked for more seeds
    while True:
        points = campaign.plan(seeds_of)
        todo = [p for p in points if p.report is None]
        if todo and not should_stop():
            limited = budget is not None or stop is not None
            campaign.execute(todo, jobs, should_stop if limited else None, progress, console)
        if any(p.report is None for p in points):
            run = StudyRun(study, path, out_dir, full, seeds, points, base, data_paths, tracked=asked)
            return _finish(run, None, campaign, command, started, complete=False)
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".analysis-") as staging:
            run = StudyRun(study, path, Path(staging), full, seeds, points, base, data_paths)
            analysis = ANALYSES[study.kind](run)
            asked = run.tracked
            if not _extend(seeds_of, run, points):
                for plot in Path(staging).glob("*.png"):
                    os.replace(plot, out_dir / plot.name)
                run.out_dir = out_dir
                return _finish(run, analysis, campaign, command, started, complete=True)


class _Campaign:
    """The runs of one study at one scale: planned, taken from the runs folder or the local cache,
    or computed."""

    def __init__(self, study: Study, workload: Path, base: list[str], seeds: list[int], out_dir: Path, cache_dir):
        self.study, self.workload, self.base, self.seeds = study, workload, base, seeds
        self.store = RunStore(out_dir / RUNS_DIRNAME)
        self.cache = ResultCache(cache_dir if cache_dir is not None else default_cache_dir(study))
        self.digests: dict[str, str] = {}
        self.counts: Counter[str] = Counter()  # points finished, by status, over this invocation
        self.statuses: dict[str, str] = {}  # run key -> how this invocation got it (done, cached)
        self.checked = False

    def plan(self, seeds_of: dict[str, int]) -> list[StudyPoint]:
        points = build_points(self.study, self.workload, self.base, self.seeds, seeds_of)
        if not self.checked:
            preflight(points[0].loaded)  # the dataset exists and is large enough, the network fits
            self.checked = True
        for point in points:
            point.key = run_key(point.loaded, self._digest(point))
            point.run_file = self.store.file_for(point)
            point.report = self.store.get(point)
            if point.report is None and (copied := self.store.copy_from_sibling(point)) is not None:
                point.report = copied
                self.statuses[point.key] = "copied"
                self.counts["copied"] += 1
            if point.report is not None:
                point.status = self.statuses.get(point.key, "stored")
        return points

    def _digest(self, point: StudyPoint) -> str:
        dataset = point.loaded.workload.dataset
        key = dataset.model_dump_json()
        if key not in self.digests:
            self.digests[key] = corpus_digest(dataset)
        return self.digests[key]

    def execute(self, todo: list[StudyPoint], jobs: int, should_stop: Callable[[], bool] | None, progress: bool,
                console: Console) -> None:
        if jobs > 1:
            # Parallelism is --jobs processes; a multi-threaded BLAS in each would oversubscribe the
            # cores (the workers inherit this; a user's own setting wins).
            for name in BLAS_THREAD_VARIABLES:
                os.environ.setdefault(name, "1")
        executor = BudgetExecutor(jobs, should_stop) if should_stop is not None else make_executor("local", jobs)
        results = run_points([(p.label, p.loaded) for p in todo], self.cache, executor, progress=progress, console=console)
        failed = []
        for point, result in zip(todo, results):
            point.status = result.status
            self.counts[result.status] += 1
            if result.report is not None:
                point.report = run_record(result.report, point, self._digest(point))
                self.store.put(point, point.report)
                self.statuses[point.key] = result.status
            elif result.status == "failed":
                failed.append(f"{point.label}: {(result.error or '?').splitlines()[0]}")
        if failed:
            raise UserError(
                f"{len(failed)} of {len(todo)} runs of study {self.study.study} failed, so no report was written "
                f"(finished runs are kept; run again to retry): " + "; ".join(failed[:5])
            )


def _extend(seeds_of: dict[str, int], run: StudyRun, points: list[StudyPoint]) -> bool:
    """Apply the seed rule to the tracked comparisons; whether any setting got more seeds."""
    have = Counter(p.condition for p in points)
    grown = False
    for t in run.tracked:
        needed = seeds_needed(t.comparison, run.study.difference_of_interest, run.study.max_seeds)
        for setting in t.settings:
            if needed > have[setting]:
                seeds_of[setting] = have[setting] = needed
                grown = True
    return grown


def _workload_corpus(study: Study, path: Path) -> str:
    loaded = load_workload(_workload_of(study, path))
    return loaded.workload.dataset.name or "dataset"


def _workload_of(study: Study, path: Path) -> Path | None:
    return (path.parent / study.workload).resolve() if study.workload else None


# ----------------------------------------------------------------------------- results and report
def _finish(run: StudyRun, analysis: Analysis | None, campaign: _Campaign | None, command: str | None,
            started: float, complete: bool) -> dict[str, Any]:
    """Write results.json, report.md and the index; return the results."""
    study = run.study
    run.out_dir.mkdir(parents=True, exist_ok=True)
    finished = [p for p in run.points if p.report is not None]
    facts = dict(analysis.facts) if analysis else {}
    sections = list(analysis.sections) if analysis else []
    conv_results = None
    if finished:
        conv_facts, conv_section, conv_results = convergence.assess(run.points, study.convergence, run.out_dir)
        facts.update(conv_facts)
        sections += conv_section
    facts.update(_common_facts(run))
    undecided = [t for t in run.tracked if t.comparison.verdict(study.difference_of_interest) == "undecided"]
    facts.update({"comparisons_undecided": len(undecided), "any_undecided": bool(undecided)})
    facts.update(claim_facts(study.claims, facts))
    if complete:
        reading, finding = render(study.reading, facts), render(study.finding, facts)
    else:
        reading = None
        finding = (f"In progress: {len(finished)} of {len(run.points)} runs finished; the finding is written when every"
                   " run has finished.")
    comparisons = [_tracked_summary(t, study.difference_of_interest) for t in run.tracked]
    used = {p.run_file for p in run.points}
    results = {
        "schema": RESULTS_SCHEMA,
        "study": study.study,
        "title": study.title,
        "kind": study.kind,
        "command": command,
        "full_command": _full_command(command, run.full),
        "scale": "full" if run.full else "default",
        "complete": complete,
        "seeds": run.seeds,
        "statistics_rule": RULE,
        "seed_rule": seed_rule(study.difference_of_interest, study.max_seeds) if run.points else None,
        "finding": finding,
        "reading": reading,
        "facts": facts,
        "results": analysis.results if analysis else {},
        "convergence": conv_results,
        "comparisons": comparisons,
        "verdicts": dict(Counter(c["verdict"] for c in comparisons)),
        "runs": {
            "planned": len(run.points),
            "finished": len(finished),
            "pending": [p.label for p in run.points if p.report is None],
            "this_invocation": dict(campaign.counts) if campaign else {},
            "other_files": [f.name for f in campaign.store.others(used)] if campaign else [],
        },
        "points": [_point_summary(p, run.out_dir) for p in run.points],
        "warnings": _warnings(finished),
        "data": (analysis.results.pop("data", None) if analysis else None) or _data_provenance(run),
        "settings": scale_table(run),
        "study_file": {"path": _shown_path(run.path), "text": run.path.read_text(encoding="utf-8")},
        "versions": versions(),
        "run": {"finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "wall_s": time.time() - started,
                "compute_s": facts["compute_s"]},
    }
    results["notices"] = _notices(results)
    atomic_write_json(run.out_dir / "results.json", results)
    atomic_write_text(run.out_dir / "report.md", render_report(results, sections, study))
    index = _index_root(run.out_dir)
    if index is not None:
        from .index import write_index

        write_index(index)
    return results


def _common_facts(run: StudyRun) -> dict[str, Any]:
    finished = [p for p in run.points if p.report is not None]
    compute = sum(float(p.report.get("run", {}).get("wall_s") or 0.0) for p in finished)
    per_setting = Counter(p.condition for p in run.points)
    facts: dict[str, Any] = {
        "seeds": min(per_setting.values()) if per_setting else len(run.seeds),
        "seeds_max": max(per_setting.values()) if per_setting else len(run.seeds),
        "difference_of_interest": run.study.difference_of_interest,
        "max_seeds": run.study.max_seeds,
        "full_scale": run.full,
        "compute_s": compute,
        "compute_min": compute / 60.0,
        "full_epochs": run.study.full.get("training.epochs"),
        "full_max_chars": run.study.full.get("dataset.max_chars"),
    }
    if run.points:
        w = run.points[0].loaded.workload
        report = finished[0].report if finished else {}
        facts.update({
            "layers": w.network.layers,
            "hidden": w.network.hidden,
            "epochs": w.training.epochs,
            "max_chars": w.dataset.max_chars,
            "train_chars": report.get("data", {}).get("chars", {}).get("train"),
            "vocab": report.get("network", {}).get("vocab_size"),
            "runs": len(run.points),
        })
    return facts


def claim_facts(claims: dict[str, float], facts: dict[str, Any]) -> dict[str, Any]:
    """The paper's numbers as facts (``claim_<name>``), and for a claim named like a result fact,
    how the result compares: ``<name>_matches_claim``, ``_below_claim``, ``_above_claim``."""
    out: dict[str, Any] = {}
    for name, claimed in claims.items():
        out[f"claim_{name}"] = claimed
        found = facts.get(name)
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            out[f"{name}_matches_claim"] = found == claimed
            out[f"{name}_below_claim"] = found < claimed
            out[f"{name}_above_claim"] = found > claimed
    return out


def _tracked_summary(t: Tracked, difference_of_interest: float) -> dict[str, Any]:
    c = t.comparison
    return {"name": t.name, "label": t.label, "settings": list(t.settings), "test": c.test, "n": c.n, "diff": c.diff,
            "ci_low": c.ci_low, "ci_high": c.ci_high, "p": c.p, "separated": c.separated,
            "verdict": c.verdict(difference_of_interest)}


def _point_summary(point: StudyPoint, out_dir: Path) -> dict[str, Any]:
    record = point.report or {}
    acc = record.get("accuracy", {})
    return {
        "condition": point.condition,
        "seed": point.seed,
        "coords": point.coords,
        "status": point.status,
        "key": point.key,
        "run_file": os.path.relpath(point.run_file, out_dir) if point.run_file else None,
        "resolved_sha256": point.loaded.resolved_sha256,
        "rpu": {k: acc.get("rpu", {}).get(k) for k in ("train_loss", "valid_loss", "test_loss")},
        "fp": {k: acc.get("fp", {}).get(k) for k in ("train_loss", "valid_loss", "test_loss")},
        "wall_s": record.get("run", {}).get("wall_s"),
    }


def _warnings(points: list[StudyPoint]) -> list[dict[str, Any]]:
    """The runs' own warnings (rpuarch.report.warnings), one entry per kind and subject, with the
    runs that gave it and the first run's message."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for p in points:
        for w in p.report.get("warnings") or []:
            w = w if isinstance(w, dict) else {"message": str(w)}
            entry = seen.setdefault((str(w.get("kind")), str(w.get("subject"))),
                                    {"kind": w.get("kind"), "subject": w.get("subject"), "message": w.get("message"), "runs": []})
            entry["runs"].append(p.label)
    return list(seen.values())


def _runs_text(runs: list[str], shown: int = 0) -> str:
    """``3 runs (a, b, c)``, or ``3 runs`` with ``shown=0``."""
    head = f"{len(runs)} run{'s' if len(runs) > 1 else ''}"
    if not shown:
        return head
    return f"{head} ({', '.join(runs[:shown])}{', ...' if len(runs) > shown else ''})"


def _notices(results: dict[str, Any]) -> list[str]:
    """What the terminal must say besides the finding: pending runs, no convergence, the runs' warnings."""
    out = []
    runs = results["runs"]
    if runs["pending"]:
        out.append(f"{len(runs['pending'])} of {runs['planned']} runs are pending (stopped by the budget); run the same"
                   " command again to continue.")
    facts = results["facts"]
    if results["convergence"] is not None and not facts.get("converged"):
        out.append(f"not converged: {facts['convergence_text']}.")
    out += [f"{_runs_text(w['runs'])}: {w['message']}" for w in results["warnings"]]
    return out


def _data_provenance(run: StudyRun) -> list[dict[str, Any]]:
    if not run.points:
        return []
    return [{"corpus": "dataset", **corpus_data.provenance(run.points[0].loaded.workload.dataset)}]


def _full_command(command: str | None, full: bool) -> str | None:
    if command is None:
        return None
    return command if full else f"{command} --full"


def scale_table(run: StudyRun) -> list[dict[str, Any]]:
    """Each field the default scale changes: its value in this run and at the paper's scale."""
    if not run.points:
        return [{"field": k, "default": run.study.quick.get(k), "full": run.study.full.get(k)}
                for k in dict.fromkeys([*run.study.quick, *run.study.full])]
    rows = []
    dumps = [p.loaded.workload.model_dump(mode="json") for p in run.points]
    for key in dict.fromkeys([*run.study.quick, *run.study.full]):
        # A point's dump leaves out what it does not use (an sgd device has no transfer section):
        # the value of the first point that has the field.
        values = (v for v in (_lookup(d, key) for d in dumps) if v is not _ABSENT)
        rows.append({"field": key, "this_run": next(values, None), "default": run.study.quick.get(key, "(workload)"),
                     "full": run.study.full.get(key, "(workload)")})
    return rows


_ABSENT = object()


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _shown_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it (a report written in a
    clone names the clone's file, not this machine's absolute path)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _index_root(out_dir: Path) -> Path | None:
    """``<root>`` when the report went to ``<root>/paper/<study>``."""
    out_dir = out_dir.resolve()
    return out_dir.parent.parent if out_dir.parent.name == "paper" else None


# ----------------------------------------------------------------------------- report.md
def render_report(results: dict[str, Any], sections: list[str], study: Study) -> str:
    out = [f"# {study.title}", ""]
    if results["command"]:
        verb = "Reproduce this report" if results["complete"] else "Continue this study"
        out += [f"{verb} (one command, from the repository root):", "", "```sh", results["command"], "```", ""]
    if results["scale"] == "default" and study.full and results["full_command"]:
        out += ["At the paper's scale (long: see the settings below):", "", "```sh", results["full_command"], "```", ""]
    if results["complete"]:
        out += [f"**Finding:** {results['finding']}", ""]
    else:
        out += [f"**In progress:** {results['runs']['finished']} of {results['runs']['planned']} runs have finished;"
                " the finding, the results and the reading are written when every run has finished (the pending runs"
                " are listed under Runs).", ""]
    out += ["## What the paper states", "", study.paper.strip(), ""]
    out += ["## Setup", ""]
    out += _setup_lines(results, study)
    if results["complete"]:
        out += ["## Results", ""]
    out += sections
    if results["complete"]:
        out += ["## Reading", "", results["reading"].strip(), ""]
    if results["points"]:
        out += _runs_section(results)
        out += _statistics_section(results)
    if results["warnings"]:
        out += ["## Warnings from the runs", "", "Each kind once, with the runs that gave it and the first one's message:", ""]
        out += [f"- {_runs_text(w['runs'], 4)}: {w['message']}" for w in results["warnings"]] + [""]
    out += ["Every number above is generated from `results.json` beside this report (and the run files under `runs/`);"
            f" the reading is the study file's template (`{results['study_file']['path']}`) filled from the same results.", ""]
    return "\n".join(out).rstrip() + "\n"


def _runs_section(results: dict[str, Any]) -> list[str]:
    """Per setting: the seeds finished and pending, and the final test losses of the finished."""
    by_setting: dict[str, list[dict[str, Any]]] = {}
    for p in results["points"]:
        by_setting.setdefault(p["condition"], []).append(p)
    rows = []
    for name, pts in by_setting.items():
        done = [p for p in pts if p["rpu"]["test_loss"] is not None]
        pending = [str(p["seed"]) for p in pts if p["rpu"]["test_loss"] is None]
        rpu = mean_std(summarize([p["rpu"]["test_loss"] for p in done]), 4) if done else "-"
        fp = mean_std(summarize([p["fp"]["test_loss"] for p in done]), 4) if done else "-"
        rows.append([name, ", ".join(str(p["seed"]) for p in done) or "-", ", ".join(pending) or "-", rpu, fp])
    runs = results["runs"]
    out = ["## Runs", "",
           f"{runs['finished']} of {runs['planned']} runs finished; each is a JSON file under `runs/` (losses, curves,"
           " activity, workload hash), named by setting, seed and run key.", ""]
    done_here = runs["this_invocation"]
    if done_here:
        out += ["This invocation: " + ", ".join(f"{n} {s}" for s, n in sorted(done_here.items()))
                + " (done: computed; cached: taken from the local run cache; copied: the same run, by its key, from another"
                " study's runs folder; pending: stopped by the budget).", ""]
    out += [markdown_table(["setting", "seeds finished", "seeds pending", "RPU test loss", "FP test loss"], rows)]
    if runs["pending"]:
        out += ["Pending runs: " + "; ".join(runs["pending"]) + ".", ""]
    if runs["other_files"]:
        out += [f"{len(runs['other_files'])} run file(s) in `runs/` belong to another scale, seed or version of this"
                " study and are not used here: " + ", ".join(f"`{f}`" for f in runs["other_files"][:6])
                + (", ..." if len(runs["other_files"]) > 6 else "") + ".", ""]
    return out


def _statistics_section(results: dict[str, Any]) -> list[str]:
    out = ["## Statistics", "", f"Differences: {results['statistics_rule']}", "", f"Seeds: {results['seed_rule']}", ""]
    if results["comparisons"]:
        intro = ("The comparisons this study is about (difference of the final test loss in nats/char, paired by seed):"
                 if results["complete"] else
                 "The comparisons as of the runs finished before the seed rule added the pending seeds (provisional):")
        words = {"up": "resolved, positive", "down": "resolved, negative", "within": "within the difference of interest",
                 "undecided": "undecided"}
        rows = [[c["label"], str(c["n"]), f"{c['diff']:+.4f}",
                 f"[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]" if c["ci_low"] is not None else "n/a",
                 f"{c['p']:.3f}" if c["p"] is not None else "n/a",
                 words[c["verdict"]] + (" (separation)" if c["separated"] and c["verdict"] in ("up", "down") and not (c["p"] or 1) < 0.05 else "")]
                for c in results["comparisons"]]
        out += [intro, "", markdown_table(["comparison", "seeds", "difference", "95 % interval", "p", "verdict"], rows)]
    return out


def _setup_lines(results: dict[str, Any], study: Study) -> list[str]:
    out = []
    rows = results["settings"]
    if rows:
        scale = "the paper's scale (--full)" if results["scale"] == "full" else "the study's default scale, smaller than the paper's"
        out += [f"This run is at {scale}.", ""]
        if study.scale_note and results["scale"] != "full":
            out += [study.scale_note.strip(), ""]
        out += ["| field | this run | default | --full |", "|---|---|---|---|"]
        for row in rows:
            out.append(f"| `{row['field']}` | {_show(row.get('this_run', '-'))} | {_show(row['default'])} | {_show(row['full'])} |")
        out.append("")
    facts = results["facts"]
    if facts.get("runs"):
        ran = sorted({p["seed"] for p in results["points"]})
        seeds = (f"seeds {', '.join(map(str, ran))}" if facts["seeds"] == facts["seeds_max"] else
                 f"{facts['seeds']} to {facts['seeds_max']} seeds per setting of {', '.join(map(str, ran))} (the seed rule under Statistics)")
        out.append(f"- runs: {facts['runs']} (each trains the RPU network and its floating-point twin), {seeds}")
    trained = set(results["runs"]["this_invocation"]) - {"cached", "copied"}  # statuses that cost training time
    invocation = (f"this invocation took {results['run']['wall_s'] / 60:.1f} min wall time" if trained
                  else "this invocation trained none: it regenerated the report from the run files")
    out.append(f"- compute: {facts['compute_min']:.1f} min summed over the finished runs (the machine was shared,"
               f" timings are as measured); {invocation}")
    for d in results["data"]:
        out.append(f"- data ({d['corpus']}): {corpus_data.describe(d)}" + (f", first {d['max_chars']:,} characters" if d.get("max_chars") else ""))
    v = results["versions"]
    out.append(f"- rpuarch {v.get('rpuarch')} ({v.get('rpuarch_git', 'no git')}), numpy {v.get('numpy')}, Python {v.get('python')}")
    out.append("")
    return out


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
