"""``rpuarch study STUDY.yaml``: run one of the paper's studies and write its report.

Writes ``OUT/results.json`` (every number of the report), PNG plots and ``OUT/report.md``
(written last: its presence means the study finished), then regenerates the index
``reports/README.md`` when OUT is ``<reports>/paper/<study>``. Runs are cached (``--cache``,
default ``runs/study/points``, shared by all studies): re-running computes only what is missing.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import load_workload
from ..config.loader import find_workload_file, missing_workload
from ..errors import UserError
from ..files import atomic_write_json, atomic_write_text
from ..run import preflight, versions
from ..sweep import ResultCache, make_executor, run_points
from ..sweep.cache import check_output_dirs
from . import data as corpus_data
from .points import StudyPoint, build_points
from .spec import Study, load_study, to_overrides
from .stats import RULE
from .template import render

RESULTS_SCHEMA = "rpuarch.study/1"
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class Analysis:
    """What an analysis of a study's runs gives the report."""

    facts: dict[str, Any]  # the names the reading template may use
    sections: list[str]  # Markdown: tables and plot links
    plots: list[str] = field(default_factory=list)  # PNG files written beside the report
    results: dict[str, Any] = field(default_factory=dict)  # aggregates for results.json


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
) -> dict[str, Any]:
    """Run the study (or take its points from the cache), analyse, write the report; return results.json."""
    from .analyses import ANALYSES

    started = time.time()
    path = find_workload_file(path)
    if not path.is_file():
        raise missing_workload(path, "study file")
    study = load_study(path)
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

    points: list[StudyPoint] = []
    if study.kind != "scale":
        points = build_points(study, _workload_of(study, path), base, seeds)
        preflight(points[0].loaded)  # the dataset exists and is large enough, the network fits
        check_output_dirs(out_dir, cache_dir if cache_dir is not None else default_cache_dir(study))
        _run(points, study, cache_dir, jobs, progress, console)
    run = StudyRun(study, path, out_dir, full, seeds, points, base, data_paths)
    analysis = ANALYSES[study.kind](run)

    facts = dict(analysis.facts)
    facts.update(_common_facts(run, started))
    facts.update(claim_facts(study.claims, facts))
    reading = render(study.reading, facts)
    finding = render(study.finding, facts)
    results = {
        "schema": RESULTS_SCHEMA,
        "study": study.study,
        "title": study.title,
        "kind": study.kind,
        "command": command,
        "full_command": _full_command(command, full),
        "scale": "full" if full else "default",
        "seeds": seeds,
        "statistics_rule": RULE,
        "finding": finding,
        "reading": reading,
        "facts": facts,
        "results": analysis.results,
        "points": [_point_summary(p) for p in points],
        "data": analysis.results.pop("data", None) or _data_provenance(run),
        "settings": scale_table(run),
        "study_file": {"path": str(path), "text": path.read_text(encoding="utf-8")},
        "versions": versions(),
        "run": {"finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "wall_s": time.time() - started,
                "compute_s": facts["compute_s"]},
    }
    atomic_write_json(out_dir / "results.json", results)
    atomic_write_text(out_dir / "report.md", render_report(results, analysis, study))
    index = _index_root(out_dir)
    if index is not None:
        from .index import write_index

        write_index(index)
    return results


def _workload_corpus(study: Study, path: Path) -> str:
    loaded = load_workload(_workload_of(study, path))
    return loaded.workload.dataset.name or "dataset"


def _workload_of(study: Study, path: Path) -> Path | None:
    return (path.parent / study.workload).resolve() if study.workload else None


def _run(points: list[StudyPoint], study: Study, cache_dir, jobs: int, progress: bool, console: Console) -> None:
    if jobs > 1:
        # Parallelism is --jobs processes; a multi-threaded BLAS in each would oversubscribe the
        # cores (the workers inherit this; a user's own setting wins).
        for name in BLAS_THREAD_VARIABLES:
            os.environ.setdefault(name, "1")
    cache = ResultCache(cache_dir if cache_dir is not None else default_cache_dir(study))
    results = run_points([(p.label, p.loaded) for p in points], cache, make_executor("local", jobs),
                         progress=progress, console=console)
    failed = []
    for point, result in zip(points, results):
        point.report, point.status, point.directory = result.report, result.status, result.directory
        if result.status == "failed":
            failed.append(f"{point.label}: {(result.error or '').splitlines()[0] if result.error else '?'}")
    if failed:
        raise UserError(
            f"{len(failed)} of {len(points)} runs of study {study.study} failed, so no report was written "
            f"(finished runs are cached; run again to retry): " + "; ".join(failed[:5])
        )


def _common_facts(run: StudyRun, started: float) -> dict[str, Any]:
    compute = sum(float((p.report or {}).get("run", {}).get("wall_s") or 0.0) for p in run.points)
    facts: dict[str, Any] = {
        "seeds": len(run.seeds),
        "full_scale": run.full,
        "compute_s": compute,
        "compute_min": compute / 60.0,
        "full_epochs": run.study.full.get("training.epochs"),
        "full_max_chars": run.study.full.get("dataset.max_chars"),
    }
    if run.points:
        w = run.points[0].loaded.workload
        report = run.points[0].report or {}
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


def _point_summary(point: StudyPoint) -> dict[str, Any]:
    report = point.report or {}
    acc = report.get("accuracy", {})
    return {
        "condition": point.condition,
        "seed": point.seed,
        "coords": point.coords,
        "status": point.status,
        "report_dir": str(point.directory) if point.directory else None,
        "resolved_sha256": point.loaded.resolved_sha256,
        "rpu": {k: acc.get("rpu", {}).get(k) for k in ("train_loss", "valid_loss", "test_loss")},
        "fp": {k: acc.get("fp", {}).get(k) for k in ("train_loss", "valid_loss", "test_loss")},
        "wall_s": report.get("run", {}).get("wall_s"),
    }


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
    this = run.points[0].loaded.workload.model_dump(mode="json")
    for key in dict.fromkeys([*run.study.quick, *run.study.full]):
        rows.append({"field": key, "this_run": _lookup(this, key), "default": run.study.quick.get(key, "(workload)"),
                     "full": run.study.full.get(key, "(workload)")})
    return rows


def _lookup(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _index_root(out_dir: Path) -> Path | None:
    """``<root>`` when the report went to ``<root>/paper/<study>``."""
    out_dir = out_dir.resolve()
    return out_dir.parent.parent if out_dir.parent.name == "paper" else None


# ----------------------------------------------------------------------------- report.md
def render_report(results: dict[str, Any], analysis: Analysis, study: Study) -> str:
    out = [f"# {study.title}", ""]
    if results["command"]:
        out += ["Reproduce this report (one command, from the repository root):", "", "```sh", results["command"], "```", ""]
    if results["scale"] == "default" and study.full and results["full_command"]:
        out += ["At the paper's scale (long: see the settings below):", "", "```sh", results["full_command"], "```", ""]
    out += [f"**Finding:** {results['finding']}", "", "## What the paper states", "", study.paper.strip(), ""]
    out += ["## Setup", ""]
    out += _setup_lines(results, study)
    out += ["## Results", ""]
    out += analysis.sections
    out += ["## Reading", "", results["reading"].strip(), ""]
    if results["points"]:
        out += ["## Statistics", "", f"Rule: {results['statistics_rule']}", ""]
    out += ["Every number above is generated from `results.json` beside this report; the reading is the study file's",
            f"template (`{results['study_file']['path']}`) filled from the same results.", ""]
    return "\n".join(out).rstrip() + "\n"


def _setup_lines(results: dict[str, Any], study: Study) -> list[str]:
    out = []
    rows = results["settings"]
    if rows:
        scale = "the paper's scale (--full)" if results["scale"] == "full" else "a reduced scale that fits in 30 minutes on 2 cores"
        out += [f"This run is at {scale}.", ""]
        if study.scale_note and results["scale"] != "full":
            out += [study.scale_note.strip(), ""]
        out += ["| field | this run | default | --full |", "|---|---|---|---|"]
        for row in rows:
            out.append(f"| `{row['field']}` | {_show(row.get('this_run', '-'))} | {_show(row['default'])} | {_show(row['full'])} |")
        out.append("")
    facts = results["facts"]
    if facts.get("runs"):
        out.append(f"- runs: {facts['runs']} (each trains the RPU network and its floating-point twin), seeds {', '.join(map(str, results['seeds']))}")
    out.append(f"- compute: {facts['compute_min']:.1f} min summed over runs; this invocation took {results['run']['wall_s'] / 60:.1f} min wall time"
               " (cached runs are not recomputed; the machine was shared, timings are as measured)")
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
