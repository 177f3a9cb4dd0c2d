"""Grid sweeps: the cross product of ``--grid PATH=v1,v2,...`` axes over one workload.

Every point is the workload with one ``--set PATH=VALUE`` per axis; all points are validated
before any runs (a bad value refuses the sweep, naming it). Results: ``sweep.json`` (every point,
its status and numbers), ``sweep.csv`` (one row per point) and ``sweep.png`` (each metric against
the first swept field, one line per combination of the others). Points live in the cache.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import LoadedWorkload, load_workload
from ..config.loader import InvalidYAML, parse_yaml
from ..errors import ConfigError
from ..files import atomic_write_json, atomic_write_text
from ..report.metrics import Metric, best_indices, headline_metrics, metrics_of
from ..report.tables import Table
from ..report.warnings import LEGEND as WARNING_LEGEND
from ..report.warnings import codes as warning_codes
from .cache import ResultCache, check_output_dirs
from .executor import Executor
from .points import PointResult, points_csv, run_points

SWEEP_SCHEMA = "rpuarch.sweep/1"
@dataclass(frozen=True)
class Axis:
    """One swept field: its dotted path and the values, as typed (``raw``) and as parsed."""

    path: str
    raw: tuple[str, ...]

    @property
    def values(self) -> list[Any]:
        return [_parse(v) for v in self.raw]


def _parse(text: str) -> Any:
    try:
        return parse_yaml(text, "--grid")
    except InvalidYAML:
        return text


def parse_axis(text: str) -> Axis:
    """``"device.up_down=0,0.01,0.02"`` -> Axis("device.up_down", ("0", "0.01", "0.02"))."""
    path, sep, values = text.partition("=")
    path = path.strip()
    raw = tuple(v.strip() for v in values.split(",")) if sep else ()
    if not path or not sep or not raw or any(v == "" for v in raw):
        raise ConfigError("--grid", path or None, f"{text!r} is not PATH=VALUE,VALUE,...", "e.g. --grid device.up_down=0,0.01,0.02")
    if len(set(raw)) != len(raw):
        raise ConfigError("--grid", path, f"a value is given twice in {text!r}.")
    return Axis(path, raw)


def check_axes(axes: list[Axis]) -> None:
    if not axes:
        raise ConfigError("--grid", None, "a sweep needs at least one --grid PATH=v1,v2,...")
    paths = [a.path for a in axes]
    for path in paths:
        if paths.count(path) > 1:
            raise ConfigError("--grid", path, "swept twice; give all its values in one --grid.")


def expand(axes: list[Axis]) -> list[dict[str, str]]:
    """The cross product, first axis slowest: [{path: raw value}, ...]."""
    return [dict(zip((a.path for a in axes), combo)) for combo in itertools.product(*(a.raw for a in axes))]


def load_points(workload: str | Path | None, overrides: list[str], axes: list[Axis]) -> list[tuple[str, LoadedWorkload]]:
    """Every point's workload, validated (the first bad one raises, naming the field)."""
    check_axes(axes)
    points = []
    for values in expand(axes):
        label = ", ".join(f"{p}={v}" for p, v in values.items())
        points.append((label, load_workload(workload, overrides, {"--grid": [f"{p}={v}" for p, v in values.items()]})))
    return points


def sweep(
    workload: str | Path | None,
    overrides: list[str],
    axes: list[Axis],
    out_dir: str | Path,
    executor: Executor,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the grid, write sweep.json, sweep.csv and sweep.png into ``out_dir``; return sweep.json."""
    points = load_points(workload, overrides, axes)
    out_dir = Path(out_dir)
    check_output_dirs(out_dir, cache_dir)
    cache = ResultCache(cache_dir or out_dir / "points")
    results = run_points(points, cache, executor, progress=progress, console=console)
    metrics = metrics_of([r.report for r in results if r.report])
    base = points[0][1]
    document = {
        "schema": SWEEP_SCHEMA,
        "name": base.workload.name,
        "workload": {"path": str(base.path), "sha256": base.sha256, "overrides": overrides},
        "axes": [{"path": a.path, "values": a.values} for a in axes],
        "executor": executor.name,
        "metrics": [asdict(m) for m in metrics],
        "points": [
            {"values": dict(zip((a.path for a in axes), combo)), **r.to_dict(metrics)}
            for combo, r in zip(itertools.product(*(a.values for a in axes)), results)
        ],
    }
    write_outputs(document, axes, results, metrics, out_dir)
    return document


def write_outputs(document: dict[str, Any], axes: list[Axis], results: list[PointResult], metrics: list[Metric], out_dir: Path) -> None:
    """sweep.png and sweep.csv first, sweep.json last (its presence means the sweep finished)."""
    from ..report.plots import metric_grid

    first, others = axes[0], axes[1:]
    if any(r.report for r in results):
        series: dict[str, list[dict[str, Any] | None]] = {}
        for point, result in zip(document["points"], results):
            label = ", ".join(f"{a.path}={point['values'][a.path]}" for a in others)
            series.setdefault(label, []).append(result.report)
        metric_grid(first.path, first.values, series, headline_metrics(metrics), f"{document['name']}: sweep over {first.path}", out_dir / "sweep.png")
    atomic_write_text(out_dir / "sweep.csv", to_csv(document))
    atomic_write_json(out_dir / "sweep.json", document)


def to_csv(document: dict[str, Any]) -> str:
    axes = [a["path"] for a in document["axes"]]
    return points_csv(axes, [p["values"] for p in document["points"]], document)


def results_table(document: dict[str, Any]) -> Table:
    """One row per point: swept values, status, headline numbers; best of each column in bold."""
    axes = [a["path"] for a in document["axes"]]
    metrics = headline_metrics([Metric(**m) for m in document["metrics"]])
    points = document["points"]
    table = Table(f"Sweep of {document['name']} ({len(points)} points)", [*axes, "status", "warnings", *(m.header for m in metrics)])
    for point in points:
        ok = point["status"] != "failed"
        table.rows.append([
            *(str(point["values"][a]) for a in axes), point["status"], warning_codes(point.get("warnings")),
            *(m.show(point["metrics"].get(m.key), unit=False) if ok else "-" for m in metrics),
        ])
    for c, metric in enumerate(metrics):
        values = [p["metrics"].get(metric.key) for p in points]
        table.bold |= {(row, len(axes) + 2 + c) for row in best_indices(metric, values)}
    failed = sum(p["status"] == "failed" for p in points)
    warned = sum(bool(p.get("warnings")) for p in points)
    notes = ["sweep.csv and sweep.json hold every metric"]
    notes += [f"{failed} point(s) failed"] if failed else []
    notes += [f"{warned} point(s) have {WARNING_LEGEND}"] if warned else []
    table.note = "; ".join(notes) + "."
    table.keys = len(axes) + 2
    return table
