"""Every study file under workloads/paper/ is valid: it loads, every one of its runs is a valid
workload at both scales, and the sweep studies share their reference runs with study 1."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from rpuarch.config.loader import REPO_ROOT
from rpuarch.study.points import build_points
from rpuarch.study.runner import scale_table
from rpuarch.study.spec import load_study, to_overrides, workload_path

STUDIES = sorted(p for p in (REPO_ROOT / "workloads" / "paper").glob("*.yaml") if "study:" in p.read_text())


def test_there_is_a_study_file_per_study_of_the_issue():
    names = {load_study(p).study for p in STUDIES}
    assert names >= {"scale", "fp-vs-rpu", "asymmetry", "dac", "adc", "states", "regularisation"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_run_of_a_study_is_a_valid_workload(path: Path, tmp_path: Path):
    study = load_study(path)
    assert "PLACEHOLDER" not in study.reading + study.finding, "the reading is written from results"
    if study.kind == "scale":
        return
    assert len(study.seeds) >= 3 and study.max_seeds >= len(study.seeds), "the seed rule starts from at least 3 seeds"
    assert "Against the paper" in study.reading, "every reading compares with the paper's claim"
    for scale in (study.quick, study.full):
        points = build_points(study, workload_path(path, study), to_overrides(scale), study.seeds)
        assert {p.seed for p in points} == set(study.seeds)
        assert all(p.loaded.workload.dataset.name == "warpeace" for p in points)


def test_sweep_studies_share_their_reference_runs_with_study_one():
    def keys(name: str) -> set[str]:
        path = REPO_ROOT / "workloads" / "paper" / f"{name}.yaml"
        study = load_study(path)
        return {p.loaded.resolved_sha256 for p in build_points(study, workload_path(path, study), to_overrides(study.quick), study.seeds)}

    baseline = keys("fp-vs-rpu")
    for name in ("asymmetry", "dac", "adc", "states"):
        assert baseline <= keys(name), f"{name} does not reuse the baseline runs of fp-vs-rpu"


def test_the_setup_table_shows_a_field_that_only_some_settings_use():
    # The Tiki-Taka study sweeps sgd first, whose device leaves out the transfer section.
    path = REPO_ROOT / "workloads" / "paper" / "tiki-taka.yaml"
    study = load_study(path)
    points = build_points(study, workload_path(path, study), to_overrides(study.quick), study.seeds)
    rows = {r["field"]: r for r in scale_table(SimpleNamespace(points=points, study=study))}
    assert points[0].loaded.workload.device.algorithm == "sgd"
    assert rows["device.transfer.auto_granularity"]["this_run"] == 1000
    assert rows["dataset.max_chars"]["this_run"] == study.quick["dataset.max_chars"]
