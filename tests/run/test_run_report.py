"""The coupled run: one report with training and estimate, provenance, atomic files, resume."""

import hashlib
import json
import math

import pytest

import rpuarch.arch.estimate
from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.errors import UserError
from rpuarch.run import compute_report, default_out_dir, run

from conftest import write_workload

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def numbers(report: dict) -> dict:
    """The report without what is measured on the clock (timing, run and simulation wall times,
    the measured-host baseline built from the measured speed) and without the environment;
    everything else is computed and must repeat exactly."""
    measured = {b["name"] for b in report["workload"]["resolved"]["baselines"] if b.get("kind") == "measured-host"}
    out = {k: v for k, v in report.items() if k not in ("timing", "run", "versions")}
    out["baselines"] = [b for b in report["baselines"] if b["name"] not in measured]
    return without_wall_clock(json.loads(json.dumps(out)))


def without_wall_clock(tree):
    if isinstance(tree, dict):
        return {k: without_wall_clock(v) for k, v in tree.items() if k != "wall_s"}
    if isinstance(tree, list):
        return [without_wall_clock(v) for v in tree]
    return tree


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One run of the tiny workload, shared by the read-only tests of this module."""
    work = tmp_path_factory.mktemp("finished")
    path = write_workload(work, {"baselines": ["xeon-e5-2699v4", "v100", "measured-host"]})
    out = work / "out"
    return path, out, run(load_workload(path), out, progress=False)


def test_report_holds_training_estimate_and_provenance(finished):
    path, out, report = finished
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    assert report["schema"] == "rpuarch.report/1"
    trained = json.loads((out / "train.json").read_text())
    assert report["accuracy"] == trained["accuracy"]
    assert report["network"] == trained["network"] and report["activity"] == trained["activity"]
    for side in ("rpu", "fp"):
        assert math.isfinite(report["accuracy"][side]["test_loss"])
        assert len(report["accuracy"][side]["curve"]) == 2
    layer = report["network"]["layers"][0]
    assert {"name", "logical_shape", "physical_tiles"} <= set(layer)
    assert report["network"]["weights"] == sum(l["weights"] for l in report["network"]["layers"])
    for key in ("tiles", "area_mm2", "peak_ops_per_s", "array_cycle_s", "time_per_char_s", "epoch_time_s",
                "energy_per_char_J", "power_W", "ops_per_s_per_W", "utilization", "breakdown"):
        assert key in report["hardware"], key
    assert len(report["baselines"]) == 3
    for b in report["baselines"]:
        assert b["acceleration_factor"] > 0 and b["energy_ratio"] > 0
    text = path.read_text()
    assert report["workload"]["text"] == text
    assert report["workload"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert report["workload"]["resolved_sha256"] == load_workload(path).resolved_sha256
    assert report["workload"]["resolved"]["device"]["dw_min"] == 0.001
    assert report["seed"] == 7
    assert {"rpuarch", "numpy", "python", "simpy", "pydantic"} <= set(report["versions"])
    # Every constant a preset set carries its source (device, tile, chip and baseline presets).
    assert "device" in report["sources"] and any(k.startswith("baselines.v100") for k in report["sources"])


def test_markdown_and_plots(finished):
    _, out, report = finished
    md = (out / "report.md").read_text()
    assert f"{report['accuracy']['rpu']['test_loss']:.4f}" in md and f"{report['accuracy']['fp']['test_loss']:.4f}" in md
    for phrase in ("nats/char", "bits/char", "acceleration factor", "energy ratio", "lstm0", "softmax", "mm²"):
        assert phrase in md, phrase
    for name in ("loss_curves.png", "energy_breakdown.png", "latency_breakdown.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)
        assert f"]({name})" in md
    assert not list(out.glob(".*.tmp")), "no temporary files are left behind"


def test_same_workload_and_seed_give_identical_numbers(finished, tmp_path):
    path, _, first = finished
    again = run(load_workload(path), tmp_path / "again", progress=False)
    assert numbers(again) == numbers(first)
    other_seed = run(load_workload(path, ["seed=8"]), tmp_path / "seed8", progress=False)
    assert other_seed["accuracy"]["rpu"]["test_loss"] != first["accuracy"]["rpu"]["test_loss"]


def test_finished_run_is_returned_not_recomputed(finished):
    path, out, report = finished
    before = (out / "report.json").stat().st_mtime_ns
    assert run(load_workload(path), out, resume=True, progress=False) == json.loads(json.dumps(report))
    assert (out / "report.json").stat().st_mtime_ns == before


@pytest.mark.parametrize("crash", [RuntimeError("simulated crash"), KeyboardInterrupt()], ids=["crash", "ctrl-c"])
def test_interrupted_run_leaves_no_report_and_resumes(finished, tmp_path, monkeypatch, crash):
    path, _, reference = finished
    out = tmp_path / "out"
    real = rpuarch.arch.estimate.estimate
    calls = []

    def estimate_then_crash(*args, **kwargs):
        calls.append(kwargs)
        if kwargs.get("activity") is not None:  # the estimate after training (not the preflight)
            raise crash
        return real(*args, **kwargs)

    monkeypatch.setattr(rpuarch.arch.estimate, "estimate", estimate_then_crash)
    with pytest.raises(type(crash)):
        run(load_workload(path), out, resume=True, progress=False)
    assert (out / "checkpoint.npz").is_file()
    assert not (out / "report.json").exists() and not (out / "report.md").exists()
    monkeypatch.setattr(rpuarch.arch.estimate, "estimate", real)
    resumed = run(load_workload(path), out, resume=True, progress=False)
    assert resumed["resumed"] == 1  # training continued from the checkpoint, it did not start over
    assert {**numbers(resumed), "resumed": 0} == numbers(reference)


def test_engine_errors_name_the_workload_file(tmp_path):
    path = write_workload(tmp_path, {"training": {"streams": 500, "seq_length": 100}})
    with pytest.raises(UserError) as info:
        compute_report(load_workload(path), tmp_path / "out", progress=False)
    assert str(path) in str(info.value) and "training.streams" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_cli_run_prints_the_summary_and_honours_seed(tmp_path, capsys, monkeypatch):
    path = write_workload(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: table headers on one line
    assert main(["run", str(path), "--seed", "11", "--quiet"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    loaded = load_workload(path, ["seed=11"])
    out = tmp_path / default_out_dir(loaded)
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 11 and out.name == f"tiny-{loaded.resolved_sha256[:8]}"
    for phrase in ("Accuracy", "RPU network", "floating point", "test [bits/char]", "unigram", "tiles", "time per training character",
                   "energy per training character", "power", "chip area", "acceleration factor", "energy ratio"):
        assert phrase in printed, phrase
    assert f"{report['accuracy']['rpu']['test_loss']:.4f}" in printed
