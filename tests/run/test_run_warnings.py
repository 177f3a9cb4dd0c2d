"""Runs that say when they learned nothing: the unigram loss beside RPU and FP, and warnings in
report.json, the terminal summary, report.md, and on sweep and comparison points."""

import json
import math

import pytest

from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.report.warnings import warnings_of
from rpuarch.run import run

from conftest import write_workload


def report_with(rpu_valid=(3.0, 2.0), fp_valid=(3.0, 2.0), rpu_test=2.0, fp_test=2.0, unigram=3.0, vocab=30, checks=None):
    def side(valid, test):
        curve = [{"epoch": i + 1, "valid_loss": v, "test_loss": test, "train_loss": test} for i, v in enumerate(valid)]
        return {"test_loss": test, "valid_loss": valid[-1], "train_loss": test, "curve": curve}

    return {
        "accuracy": {"rpu": side(rpu_valid, rpu_test), "fp": side(fp_valid, fp_test), "unigram": {"test_loss": unigram}},
        "network": {"vocab_size": vocab},
        "hardware": {"checks": checks or {}},
    }


def kinds(report):
    return sorted((w["kind"], w["subject"]) for w in warnings_of(report))


def test_a_converged_network_well_below_unigram_has_no_warning():
    assert kinds(report_with(rpu_valid=(2.5, 2.0, 1.99), fp_valid=(2.5, 2.0, 1.99))) == []


def test_not_below_unigram_within_five_percent():
    # unigram 3.0: 2.84 is 5.3 % below (fine), 2.86 only 4.7 % (warned).
    assert kinds(report_with(rpu_test=2.84, rpu_valid=(2.9, 2.89), fp_valid=(2.9, 2.89))) == []
    assert kinds(report_with(rpu_test=2.86, rpu_valid=(2.9, 2.89), fp_valid=(2.9, 2.89))) == [("not_below_unigram", "rpu")]


def test_not_converged_when_validation_loss_still_falls_by_more_than_one_percent():
    steady = (2.5, 2.0, 1.99)  # 0.5 % over the last epoch
    assert kinds(report_with(rpu_valid=(2.5, 2.0, 1.97), fp_valid=steady)) == [("not_converged", "rpu")]  # 1.5 %
    assert kinds(report_with(rpu_valid=steady, fp_valid=(2.0, 2.1))) == []  # rising (overfitting) is not undertrained
    one_epoch = warnings_of(report_with(rpu_valid=(2.0,), fp_valid=steady))
    assert [w["kind"] for w in one_epoch] == ["not_converged"] and "one epoch" in one_epoch[0]["message"]


def test_finite_but_absurd_loss_is_divergence():
    # lr 10 once gave 456 nats/char with exit status 0; uniform guessing over 96 symbols is 4.56.
    report = report_with(fp_test=456.0, fp_valid=(300.0, 456.0), vocab=96, rpu_valid=(2.5, 2.0, 1.99))
    assert ("diverged", "fp") in kinds(report)
    assert ("diverged", "fp") not in kinds(report_with(fp_test=4.9, fp_valid=(4.9, 4.9), vocab=96, unigram=5.0))  # 4.9 < 1.1 x 4.56


def test_failed_sizing_check_is_a_warning():
    checks = {"snr": {"rule": "SNR > 1", "value": 0.3, "ok": False}, "ir_drop": {"rule": "r < 0.1", "value": 0.01, "ok": True}}
    warned = warnings_of(report_with(rpu_valid=(2.5, 2.0, 1.99), fp_valid=(2.5, 2.0, 1.99), checks=checks))
    assert [(w["kind"], w["subject"]) for w in warned] == [("sizing_check", "chip")]
    assert "snr" in warned[0]["message"] and "0.3" in warned[0]["message"]


@pytest.fixture(scope="module")
def warned_run(tmp_path_factory):
    """The tiny workload (undertrained by design) on a tile whose integration time fails the SNR rule."""
    work = tmp_path_factory.mktemp("warned")
    path = write_workload(work, {"tile": {"t_int_ns": 0.1}})
    return path, work / "out"


def test_run_reports_unigram_and_warnings_everywhere(warned_run, capsys):
    path, out = warned_run
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    terminal = " ".join(capsys.readouterr().out.split())
    report = json.loads((out / "report.json").read_text())
    unigram = report["accuracy"]["unigram"]["test_loss"]
    assert 0 < unigram < math.log(report["network"]["vocab_size"])
    assert report["accuracy"]["unigram"]["test_bpc"] == pytest.approx(unigram / math.log(2))
    found = {(w["kind"], w["subject"]) for w in report["warnings"]}
    assert ("sizing_check", "chip") in found and ("not_converged", "rpu") in found
    md = (out / "report.md").read_text()
    assert "## Warnings" in md and f"| unigram | - | " in md and f"{unigram:.4f}" in md
    for w in report["warnings"]:
        assert "warning: " + " ".join(w["message"].split()) in terminal
        assert w["message"] in md
    assert f"character frequencies alone score {unigram:.4f}" in terminal


def test_sweep_and_compare_mark_points_with_warnings(warned_run, tmp_path, capsys):
    path, _ = warned_run
    sweep_dir, compare_dir = tmp_path / "sweep", tmp_path / "compare"
    assert main(["sweep", str(path), "--grid", "tile.t_int_ns=0.1,80", "--out", str(sweep_dir), "--quiet",
                 "--set", "training.epochs=1"]) == 0
    document = json.loads((sweep_dir / "sweep.json").read_text())
    by_t = {p["values"]["tile.t_int_ns"]: {w["kind"] for w in p["warnings"]} for p in document["points"]}
    assert "sizing_check" in by_t[0.1] and "sizing_check" not in by_t[80]
    assert all("not_converged" in k for k in by_t.values())  # one epoch
    assert document["points"][0]["metrics"]["accuracy.unigram.test_loss"] > 0
    assert "not_converged:rpu" in (sweep_dir / "sweep.csv").read_text()
    table = capsys.readouterr().out
    assert "unigram" in table and "C S" in table and "warnings: U" in " ".join(table.split())

    assert main(["compare", str(path), "--variant", "slow:tile.t_int_ns=80", "--out", str(compare_dir), "--quiet",
                 "--set", "training.epochs=1"]) == 0
    md = (compare_dir / "comparison.md").read_text()
    assert "| warnings |" in md and "| unigram test loss |" in md
    variant = json.loads((compare_dir / "comparison.json").read_text())["variants"][0]
    assert {w["kind"] for w in variant["warnings"]} >= {"not_converged"}
