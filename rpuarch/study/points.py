"""The runs of a study: each condition (or grid point) of the study file at each seed, as a
validated workload. They run through the sweep machinery: cached by resolved-workload hash, so an
interrupted study resumes and a point shared by two sweeps runs once."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import LoadedWorkload, load_workload
from .spec import Study, Sweep, to_overrides


@dataclass
class StudyPoint:
    condition: str  # condition name, or the grid point's label
    seed: int
    loaded: LoadedWorkload
    coords: dict[str, dict[str, Any]] = field(default_factory=dict)  # sweep name -> {axis name: value}
    report: dict[str, Any] | None = None
    status: str = "pending"
    directory: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.condition} seed {self.seed}"


def grid_label(sweep: Sweep, values: tuple[Any, ...]) -> str:
    return ", ".join(f"{a.name}={v}" for a, v in zip(sweep.axes, values))


def grid_settings(sweep: Sweep, values: tuple[Any, ...]) -> dict[str, Any]:
    return {path: value for axis, value in zip(sweep.axes, values) for path in axis.paths}


def build_points(study: Study, workload: Path, base_overrides: list[str], seeds: list[int]) -> list[StudyPoint]:
    """Every point, validated (a bad value raises before anything runs). Sweep points with the
    same resolved workload are one point, listed under every sweep it belongs to."""
    points: list[StudyPoint] = []
    by_key: dict[str, StudyPoint] = {}

    def add(condition: str, settings: dict[str, Any], seed: int, coords: dict[str, dict[str, Any]]) -> None:
        loaded = load_workload(workload, base_overrides + to_overrides(settings) + [f"seed={seed}"])
        key = loaded.resolved_sha256
        if key in by_key:
            by_key[key].coords.update(coords)
            return
        point = StudyPoint(condition, seed, loaded, dict(coords))
        by_key[key] = point
        points.append(point)

    for seed in seeds:
        for condition in study.conditions:
            add(condition.name, condition.set, seed, {})
        for sweep in study.sweeps:
            for values in itertools.product(*(a.values for a in sweep.axes)):
                add(grid_label(sweep, values), grid_settings(sweep, values), seed,
                    {sweep.name: {a.name: v for a, v in zip(sweep.axes, values)}})
    return points
