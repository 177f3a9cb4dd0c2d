"""The runs of a study: each setting of the study file (a condition, or a grid point of the
sweeps) at each of its seeds, as a validated workload.

A setting that two sweeps share (the same resolved workload, e.g. the baseline device as the
reference of several sweeps) is one setting, listed under every sweep it belongs to. Every setting
runs the study's seeds; the seed rule (rpuarch.study.stats) may give a setting more, the next
integers after the study's seeds, so that every comparison stays paired by seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import LoadedWorkload, load_workload
from .spec import Study, Sweep, to_overrides


@dataclass
class Setting:
    """One setting of the study: its runs differ only by seed."""

    name: str  # condition name, or the grid point's label
    fields: dict[str, Any]  # workload fields it sets, by dotted path
    coords: dict[str, dict[str, Any]] = field(default_factory=dict)  # sweep name -> {axis name: value}


@dataclass
class StudyPoint:
    condition: str
    seed: int
    loaded: LoadedWorkload
    coords: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: dict[str, Any] | None = None  # the run record (rpuarch.study.runs) once the run has finished
    status: str = "pending"  # pending, done (this invocation), cached (local run cache), stored (runs folder), failed
    key: str = ""  # the run key (rpuarch.study.runs.run_key)
    run_file: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.condition} seed {self.seed}"


def grid_label(sweep: Sweep, values: tuple[Any, ...]) -> str:
    return ", ".join(f"{a.name}={v}" for a, v in zip(sweep.axes, values))


def grid_settings(sweep: Sweep, values: tuple[Any, ...]) -> dict[str, Any]:
    return {path: value for axis, value in zip(sweep.axes, values) for path in axis.paths}


def study_settings(study: Study, workload: Path, base_overrides: list[str]) -> list[Setting]:
    """Every setting, validated (a bad value raises before anything runs), shared ones merged."""
    settings: list[Setting] = []
    by_key: dict[str, Setting] = {}

    def add(name: str, values: dict[str, Any], coords: dict[str, dict[str, Any]]) -> None:
        key = load_workload(workload, base_overrides + to_overrides(values)).resolved_sha256
        if key in by_key:
            by_key[key].coords.update(coords)
            return
        by_key[key] = Setting(name, values, dict(coords))
        settings.append(by_key[key])

    for condition in study.conditions:
        add(condition.name, condition.set, {})
    for sweep in study.sweeps:
        for values in itertools.product(*(a.values for a in sweep.axes)):
            add(grid_label(sweep, values), grid_settings(sweep, values), {sweep.name: {a.name: v for a, v in zip(sweep.axes, values)}})
    return settings


def seed_sequence(seeds: list[int], n: int) -> list[int]:
    """The first ``n`` seeds: the study's, then the next integers after its largest."""
    extra = range(max(seeds) + 1, max(seeds) + 1 + max(0, n - len(seeds)))
    return (list(seeds) + list(extra))[:max(n, len(seeds))]


def build_points(study: Study, workload: Path, base_overrides: list[str], seeds: list[int],
                 seeds_of: dict[str, int] | None = None) -> list[StudyPoint]:
    """The runs, seed by seed: every setting at ``seeds``, and a setting named in ``seeds_of`` at
    that many seeds of ``seed_sequence``."""
    settings = study_settings(study, workload, base_overrides)
    counts = {s.name: max(len(seeds), (seeds_of or {}).get(s.name, 0)) for s in settings}
    points = []
    for seed in seed_sequence(seeds, max(counts.values())):
        for setting in settings:
            if seed in seed_sequence(seeds, counts[setting.name]):
                loaded = load_workload(workload, base_overrides + to_overrides(setting.fields) + [f"seed={seed}"])
                points.append(StudyPoint(setting.name, seed, loaded, setting.coords))
    return points
