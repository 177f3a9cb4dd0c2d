"""Studies end to end on a tiny synthetic corpus: every kind runs, writes a report whose numbers
come from its results.json, resumes from the cache, and refuses bad input without output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import write_study, write_study_workload

from rpuarch.cli import main
from rpuarch.errors import UserError
from rpuarch.study import run_study

SWEEP = {
    "study": "tiny-sweep", "title": "Tiny sweep", "kind": "sweep", "paper": "A claim.", "workload": "workload.yaml",
    "quick": {"training.epochs": 1}, "full": {"training.epochs": 2}, "seeds": [1, 2], "max_seeds": 2,
    "sweeps": [{"name": "asym", "title": "Asymmetry", "reference": 0,
                "axes": [{"name": "up_down", "label": "up/down", "paths": ["device.up_down"], "values": [0, 0.3]}]}],
    "reading": "Loss at 0.3: {asym_up_down_0_3_mean:.4f}; {?asym_any_worse|worse from {asym_first_worse}|not resolved}.",
    "finding": "tolerated up to {asym_tolerated}",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One directory and one run cache for the module: the studies share points (the same
    resolved workload is one cached run), which keeps these tests to a few seconds."""
    path = tmp_path_factory.mktemp("study")
    write_study_workload(path)
    return path


def test_sweep_study_writes_a_report_filled_from_its_results(workdir):
    out = workdir / "reports" / "paper" / "tiny-sweep"
    results = run_study(write_study(workdir, SWEEP), out_dir=out, cache_dir=workdir / "cache", progress=False,
                        command="rpuarch study study.yaml")
    facts = results["facts"]
    losses = [p["rpu"]["test_loss"] for p in results["points"] if p["coords"]["asym"]["up_down"] == 0.3]
    assert facts["asym_up_down_0_3_mean"] == pytest.approx(np.mean(losses))
    report = (out / "report.md").read_text()
    assert f"Loss at 0.3: {facts['asym_up_down_0_3_mean']:.4f}" in report
    assert "rpuarch study study.yaml --full" in report  # the full-scale command
    assert (out / "asym.png").stat().st_size > 0
    assert len(results["points"]) == 4 and results["seeds"] == [1, 2]
    saved = json.loads((out / "results.json").read_text())
    assert saved["finding"] == results["finding"] and saved["facts"]["asym_tolerated"] in (0, 0.3)
    assert facts["asym_tolerated_is_reference"] == (facts["asym_tolerated"] == 0)  # 0 is the reference
    # The index beside paper/ lists the study with its finding.
    index = (workdir / "reports" / "README.md").read_text()
    assert "paper/tiny-sweep/report.md" in index and results["finding"] in index


def test_a_rerun_takes_every_point_from_the_cache(workdir):
    study = write_study(workdir, SWEEP)
    first = run_study(study, out_dir=workdir / "a" / "tiny", cache_dir=workdir / "cache2", seeds=[3], progress=False)
    assert {p["status"] for p in first["points"]} == {"done"}
    second = run_study(study, out_dir=workdir / "b" / "tiny", cache_dir=workdir / "cache2", seeds=[3], progress=False)
    assert {p["status"] for p in second["points"]} == {"cached"}
    assert second["facts"]["asym_up_down_0_3_mean"] == first["facts"]["asym_up_down_0_3_mean"]


def test_curves_and_regularisation_studies(workdir):
    curves = {**{k: v for k, v in SWEEP.items() if k != "sweeps"}, "study": "tiny-curves", "kind": "curves",
              "conditions": [{"name": "baseline", "label": "baseline device"}],
              "reading": "gap {baseline_gap_diff:+.4f} {?baseline_gap_resolved|resolved|not resolved}",
              "finding": "RPU {baseline_rpu_test_mean:.3f}"}
    results = run_study(write_study(workdir, curves, "c.yaml"), out_dir=workdir / "c", cache_dir=workdir / "cache", progress=False)
    pts = results["points"]
    assert results["facts"]["baseline_gap_diff"] == pytest.approx(np.mean([p["rpu"]["test_loss"] - p["fp"]["test_loss"] for p in pts]))
    assert (workdir / "c" / "curves_baseline.png").is_file()

    reg = {**curves, "study": "tiny-reg", "kind": "regularisation",
           "conditions": [{"name": "plain"}, {"name": "dropout", "set": {"network.dropout": 0.3}}],
           "reading": "{?rpu_overfits_less|less|not less} {plain_fp_rise_mean:.4f}", "finding": "{?dropout_helps_fp|helps|no}"}
    results = run_study(write_study(workdir, reg, "r.yaml"), out_dir=workdir / "r", cache_dir=workdir / "cache", progress=False)
    plain = [p for p in results["points"] if p["condition"] == "plain"]
    assert len(plain) == 2 and (workdir / "r" / "overfitting.png").is_file()
    assert results["facts"]["plain_fp_rise_mean"] >= 0


def test_two_axis_sweep_compares_the_lines(workdir):
    study = {**SWEEP, "study": "tiny-dac", "seeds": [1],
             "sweeps": [{"name": "dac", "title": "DAC", "reference": 7, "axes": [
                 {"name": "bits", "label": "DAC bits", "paths": ["io.forward.inp_bits", "io.backward.inp_bits"], "values": [3, 7]},
                 {"name": "sto", "label": "stochastic rounding", "paths": ["io.forward.inp_sto_round"], "values": [False, True]}]}],
             "reading": "{dac_sto_true_bits_3_mean:.3f} {dac_line_better_at}", "finding": "{dac_sto_false_tolerated}"}
    results = run_study(write_study(workdir, study), out_dir=workdir / "d", cache_dir=workdir / "cache", progress=False)
    assert len(results["points"]) == 4
    assert "dac_bits_3_line_diff_diff" in results["facts"]


def test_bad_study_and_bad_data_refuse_without_output(workdir, capsys):
    bad = write_study(workdir, {**SWEEP, "kind": "sweep", "sweeps": []}, "bad.yaml")
    assert main(["study", str(bad), "--out", str(workdir / "x")]) == 2
    assert "needs sweeps" in capsys.readouterr().err
    assert main(["study", str(write_study(workdir, SWEEP)), "--data", str(workdir / "missing.txt"), "--out", str(workdir / "y")]) == 2
    bad_value = {**SWEEP, "sweeps": [{**SWEEP["sweeps"][0], "axes": [{**SWEEP["sweeps"][0]["axes"][0], "values": [0, 1.5]}]}]}
    assert main(["study", str(write_study(workdir, bad_value, "v.yaml")), "--out", str(workdir / "z")]) == 2
    assert not any((workdir / d).exists() for d in ("x", "y", "z"))


def test_bad_template_names_the_missing_fact(workdir):
    with pytest.raises(UserError, match="no fact 'nonsense'"):
        run_study(write_study(workdir, {**SWEEP, "reading": "{nonsense}"}), out_dir=workdir / "t",
                  cache_dir=workdir / "cache", progress=False)
