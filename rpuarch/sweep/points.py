"""Run a list of points (comparison variants or sweep grid points) through the cache and an executor.

The client side of a study: finished points come from the cache; the others go to the executor
as plain data; each outcome is written to the cache here, as it arrives, so an interrupted study
keeps every point that finished. Points with the same resolved workload are computed once. An
executor may stop before it has run every point (a study's time budget): those come back pending.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..config import LoadedWorkload
from ..kernel_cache import say_if_compiling
from ..report.metrics import Metric
from ..run import UnreadableReport, attributed, cache_key
from .cache import ResultCache
from .executor import Executor, PointOutcome, PointTask


@dataclass
class PointResult:
    label: str
    loaded: LoadedWorkload
    status: Literal["done", "cached", "failed", "pending"]
    directory: Path
    report: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self, metrics: list[Metric]) -> dict[str, Any]:
        """The point's line in comparison.json / sweep.json: status, where its report is, its numbers."""
        return {
            "label": self.label,
            "status": self.status,
            "error": self.error,
            "resolved_sha256": self.loaded.resolved_sha256,
            "report_dir": str(self.directory),
            "metrics": {m.key: (m.value(self.report) if self.report else None) for m in metrics},
            "warnings": list((self.report or {}).get("warnings") or []),
        }


def run_points(
    points: list[tuple[str, LoadedWorkload]],
    cache: ResultCache,
    executor: Executor,
    progress: bool = True,
    console: Console | None = None,
) -> list[PointResult]:
    """Results in the order of ``points``."""
    console = console or Console(stderr=True)
    keys = cache_keys(points)
    results: dict[str, PointResult] = {}
    tasks: dict[str, PointTask] = {}
    for (label, loaded), key in zip(points, keys):
        if key in results or key in tasks:
            continue
        try:
            report = cache.get(key)
        except UnreadableReport as exc:
            console.print(f"[yellow]recomputing[/] {escape(label)}: {escape(str(exc))}")
            report = None
        if report is not None:
            results[key] = PointResult(label, loaded, "cached", cache.dir_for(key), report)
        else:
            if executor.shares_filesystem:
                tasks[key] = PointTask.of(loaded, key, label, cache.dir_for(key), cache.twin_dir)
            else:
                tasks[key] = PointTask.of(loaded, key, label)
    by_key = {key: loaded for (_, loaded), key in zip(points, keys)}
    if tasks and progress:
        say_if_compiling(console)

    cached = len(results)
    counts = {"done": 0, "failed": 0}

    def status() -> str:
        running = executor.running()
        waiting = len(tasks) - sum(counts.values()) - running
        return (f"{counts['done']} done, {running} running, {counts['failed']} failed, {cached} cached, "
                f"{waiting} waiting ({executor.name})")

    with Progress(
        TextColumn("[bold]points[/]"), BarColumn(), MofNCompleteColumn(), _StatusColumn(status),
        TimeElapsedColumn(), console=console, disable=not progress, transient=False, refresh_per_second=2,
    ) as bar:
        task_id = bar.add_task("points", total=len(results) + len(tasks), completed=cached)
        for outcome in executor.run(tasks.values()):
            results[outcome.key] = _record(outcome, by_key[outcome.key], cache)
            counts["failed" if results[outcome.key].status == "failed" else "done"] += 1
            bar.update(task_id, advance=1)
            if outcome.error or outcome.crash:
                bar.console.print(f"[red]failed[/] {escape(outcome.label)}: {escape(_first_line(outcome))}")
            elif (outcome.report or {}).get("run", {}).get("restarted"):
                bar.console.print(f"[yellow]restarted[/] {escape(outcome.label)}: {escape(outcome.report['run']['restarted'])}")

    ordered = []
    for (label, loaded), key in zip(points, keys):
        result = results.get(key) or PointResult(label, loaded, "pending", cache.dir_for(key))
        ordered.append(result if result.label == label else PointResult(label, loaded, result.status, result.directory, result.report, result.error))
    return ordered


def cache_keys(points: list[tuple[str, LoadedWorkload]]) -> list[str]:
    """The cache key of every point (rpuarch.run.cache_key); the text of each distinct dataset
    is read once, here on the client (a missing file refuses the study before anything runs)."""
    from ..nn.corpus import read_corpus

    texts: dict[str, str] = {}
    keys = []
    for _, loaded in points:
        dataset = loaded.workload.dataset
        spec = dataset.model_dump_json()
        if spec not in texts:
            with attributed(loaded):
                texts[spec] = read_corpus(dataset).report.sha256
        keys.append(cache_key(loaded, texts[spec]))
    return keys


class _StatusColumn(ProgressColumn):
    """Points done / running / failed / cached / waiting, asked of the executor at every refresh."""

    def __init__(self, status: Callable[[], str]):
        super().__init__()
        self.status = status

    def render(self, task: Any) -> Text:
        return Text(self.status())


def _record(outcome: PointOutcome, loaded: LoadedWorkload, cache: ResultCache) -> PointResult:
    directory = cache.dir_for(outcome.key)
    if outcome.report is not None:
        cache.put(outcome.key, outcome.report)
        return PointResult(outcome.label, loaded, "done", directory, outcome.report)
    message = outcome.error or f"unexpected error (a bug; please report it):\n{outcome.crash}"
    return PointResult(outcome.label, loaded, "failed", directory, None, message)


def _first_line(outcome: PointOutcome) -> str:
    if outcome.error:
        return outcome.error
    lines = (outcome.crash or "").strip().splitlines()
    return f"unexpected error: {lines[-1] if lines else '?'}"


def points_csv(keys: list[str], key_values: list[dict[str, Any]], document: dict[str, Any]) -> str:
    """sweep.csv / comparison.csv: one row per point (``document["points"]`` or ``["variants"]``):
    the columns ``keys`` that name it (values from ``key_values``), status, every metric,
    warnings, report directory and the first line of its error."""
    points = document.get("points", document.get("variants"))
    metrics = [m["key"] for m in document["metrics"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*keys, "status", *metrics, "warnings", "report_dir", "error"])
    for named, point in zip(key_values, points):
        writer.writerow([
            *(named[k] for k in keys), point["status"],
            *("" if point["metrics"].get(m) is None else repr(point["metrics"][m]) for m in metrics),
            " ".join(f"{w['kind']}:{w['subject']}" for w in point.get("warnings", [])),
            point["report_dir"], (point["error"] or "").splitlines()[0] if point["error"] else "",
        ])
    return buffer.getvalue()
