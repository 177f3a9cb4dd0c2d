"""Comparisons: one workload under named variants (tile, device or any other settings), side by side.

A variant is a name and ``--set``-style overrides: ``asym2:device.up_down=0.02`` on the command
line (several PATH=VALUE separated by commas; a bare ``NAME`` is the workload as it is), or a
YAML variant file:

    variants:
      baseline: {}
      asym-2pct: {device.up_down: 0.02}
      small-tiles: {tile: {rows: 512, cols: 512}}

Writes ``comparison.csv`` (one row per variant, every metric), ``comparison.png`` (the headline
metrics by variant), ``comparison.md`` and ``comparison.json`` (last); each variant's full report is
in the cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import LoadedWorkload, load_workload
from ..config.loader import read_yaml
from ..errors import ConfigError
from ..files import atomic_write_json, atomic_write_text
from ..report.markdown import render_comparison_markdown
from ..report.metrics import headline_metrics, metrics_of
from ..report.tables import Table, comparison_table
from .cache import ResultCache, check_output_dirs
from .executor import Executor
from .points import PointResult, points_csv, run_points

COMPARISON_SCHEMA = "rpuarch.comparison/1"


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: tuple[str, ...]
    given_in: str | None = None  # the variant file it came from, if any

    @property
    def origin(self) -> str:
        """Where it was given, as error messages name it."""
        return f"{self.given_in}: variants.{self.name}" if self.given_in else f"--variant {self.name}"


def parse_variant(text: str) -> Variant:
    """``"NAME:PATH=VALUE[,PATH=VALUE...]"`` (or a bare ``"NAME"``) -> Variant."""
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name or "=" in name:
        raise ConfigError("--variant", None, f"{text!r} does not start with a variant name.", "NAME:PATH=VALUE[,PATH=VALUE...]")
    overrides = tuple(part.strip() for part in rest.split(",") if part.strip())
    for part in overrides:
        if "=" not in part:
            raise ConfigError("--variant", name, f"{part!r} is not PATH=VALUE.", "NAME:PATH=VALUE[,PATH=VALUE...]")
    return Variant(name, overrides)


def read_variant_file(path: str | Path) -> list[Variant]:
    """Variants from a YAML file: ``variants: {name: {dotted.path or nested mapping: value}}``."""
    data = read_yaml(Path(path), "variant file")
    variants = data.get("variants")
    if set(data) != {"variants"} or not isinstance(variants, dict) or not variants:
        raise ConfigError(str(path), "variants", "a variant file holds one mapping, variants: {NAME: {PATH: VALUE, ...}, ...}.")
    out = []
    for name, settings in variants.items():
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            raise ConfigError(str(path), f"variants.{name}", "must be a mapping of field paths to values.")
        out.append(Variant(str(name), tuple(f"{p}={json.dumps(v)}" for p, v in _flatten(settings)), str(path)))
    return out


def _flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out.extend(_flatten(value, f"{path}.") if isinstance(value, dict) else [(path, value)])
    return out


def load_variants(workload: str | Path | None, overrides: list[str], variants: list[Variant]) -> list[tuple[str, LoadedWorkload]]:
    if not variants:
        raise ConfigError("--variant", None, "a comparison needs at least one --variant or --variant-file.")
    names = [v.name for v in variants]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("--variant", name, "two variants have this name.")
    return [(v.name, load_workload(workload, overrides, {v.origin: list(v.overrides)})) for v in variants]


def compare(
    workload: str | Path | None,
    overrides: list[str],
    variants: list[Variant],
    out_dir: str | Path,
    executor: Executor,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> tuple[dict[str, Any], Table]:
    """Run every variant; write comparison.md and comparison.json; return the JSON and the table."""
    points = load_variants(workload, overrides, variants)
    out_dir = Path(out_dir)
    check_output_dirs(out_dir, cache_dir)
    results = run_points(points, ResultCache(cache_dir or out_dir / "points"), executor, progress=progress, console=console)
    reports = [r.report for r in results]
    metrics = metrics_of([r for r in reports if r])
    base = points[0][1]
    document = {
        "schema": COMPARISON_SCHEMA,
        "name": base.workload.name,
        "workload": {"path": str(base.path), "sha256": base.sha256, "overrides": overrides},
        "executor": executor.name,
        "metrics": [asdict(m) for m in metrics],
        "variants": [{"name": v.name, "overrides": list(v.overrides), **r.to_dict(metrics)} for v, r in zip(variants, results)],
    }
    table = comparison_table([v.name for v in variants], reports, f"{base.workload.name}: {len(variants)} variants")
    if any(reports):
        from ..report.plots import metric_grid

        metric_grid("variant", [v.name for v in variants], {"": reports}, headline_metrics(metrics),
                    f"{base.workload.name}: {len(variants)} variants", out_dir / "comparison.png")
    csv_rows = [{"variant": v.name, "overrides": " ".join(v.overrides)} for v in variants]
    atomic_write_text(out_dir / "comparison.csv", points_csv(["variant", "overrides"], csv_rows, document))
    atomic_write_text(out_dir / "comparison.md", _markdown(document, table, results, out_dir))
    atomic_write_json(out_dir / "comparison.json", document)  # last: its presence means the comparison finished
    return document, table


def _markdown(document: dict[str, Any], table: Table, results: list[PointResult], out_dir: Path) -> str:
    workload = document["workload"]
    common = "".join(f" `--set {o}`" for o in workload["overrides"])
    lines = [f"The workload `{workload['path']}` (sha256 `{workload['sha256'][:16]}`){' with' + common if common else ''} under each variant:", ""]
    for variant, result in zip(document["variants"], results):
        settings = ", ".join(f"`{o}`" for o in variant["overrides"]) or "the workload as it is"
        where = os.path.relpath(result.directory / "report.md", out_dir)
        status = f"[report]({where})" if result.report else f"failed: {(result.error or '').splitlines()[0]}"
        lines.append(f"- **{variant['name']}**: {settings} ({status})")
    return render_comparison_markdown(f"rpuarch comparison: {document['name']}", "\n".join(lines), [table])
