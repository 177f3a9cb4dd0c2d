"""A study as a campaign over several sittings, on a tiny synthetic corpus: finished runs are
small JSON files under the report's runs/, the report regenerates from them alone, a run of a
changed workload or numerics version is never mixed in, a time budget stops cleanly and lists
what is pending, and a study stopped mid-run resumes to the same results as one never stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import write_study, write_study_workload

from rpuarch.cli import main
from rpuarch.errors import UserError
from rpuarch.study import run_study
from rpuarch.study import runs as study_runs
from rpuarch.study.points import seed_sequence
from rpuarch.study.stats import compare, seeds_needed

STUDY = {
    "study": "tiny", "title": "Tiny campaign", "kind": "sweep", "paper": "A claim.", "workload": "workload.yaml",
    "quick": {"training.epochs": 2}, "full": {"training.epochs": 3}, "seeds": [1, 2], "max_seeds": 2,
    "sweeps": [{"name": "asym", "title": "Asymmetry", "reference": 0,
                "axes": [{"name": "up_down", "label": "up/down", "paths": ["device.up_down"], "values": [0, 0.3]}]}],
    "reading": "Loss at 0.3: {asym_up_down_0_3_mean:.4f} ({asym_up_down_0_3_vs_ref_diff:+.4f}"
               " [{asym_up_down_0_3_vs_ref_ci_low:+.4f}, {asym_up_down_0_3_vs_ref_ci_high:+.4f}]). {convergence_text}.",
    "finding": "difference {asym_up_down_0_3_vs_ref_diff:+.4f}",
}


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    write_study_workload(tmp_path)
    return tmp_path


def out_of(workdir: Path, name: str = "tiny") -> Path:
    return workdir / "reports" / "paper" / name


def without_timing(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if not k.startswith("compute")}


def test_finished_runs_are_small_json_files_and_the_report_regenerates_from_them_alone(workdir):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    first = run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    files = sorted((out / "runs").glob("*.json"))
    assert first["complete"] and len(files) == first["runs"]["planned"] == 4
    for path in files:
        record = json.loads(path.read_text())
        assert record["schema"] == study_runs.SCHEMA and path.name.endswith(f"-{record['key'][:12]}.json")
        assert path.stat().st_size < 50_000
        assert len(record["accuracy"]["rpu"]["curve"]) == 2 and record["workload"]["resolved_sha256"]
    # Another machine: no local cache, only the committed runs folder. Nothing is recomputed.
    again = run_study(study, out_dir=out, cache_dir=workdir / "elsewhere", progress=False, budget=0)
    assert {p["status"] for p in again["points"]} == {"stored"} and again["complete"]
    assert without_timing(again["facts"]) == without_timing(first["facts"])
    assert again["finding"] == first["finding"] and not (workdir / "elsewhere").exists()


def test_a_run_another_study_committed_is_copied_not_computed(workdir):
    """Two studies share their reference setting: the second takes the first's committed run file
    of the same key (with no local cache: another machine), computes only its own settings, and
    records where the copy came from."""
    first = run_study(write_study(workdir, STUDY), out_dir=out_of(workdir), cache_dir=workdir / "cache", progress=False)
    other = {**STUDY, "study": "other", "sweeps": [{**STUDY["sweeps"][0], "axes": [
        {**STUDY["sweeps"][0]["axes"][0], "values": [0, 0.1]}]}],
        "reading": "Loss at 0.1: {asym_up_down_0_1_mean:.4f}.", "finding": "{asym_up_down_0_1_vs_ref_diff:+.4f}"}
    second = run_study(write_study(workdir, other, name="other.yaml"), out_dir=out_of(workdir, "other"),
                       cache_dir=workdir / "elsewhere", progress=False)
    statuses = {(p["condition"], p["seed"]): p["status"] for p in second["points"]}
    assert statuses == {("up_down=0", 1): "copied", ("up_down=0", 2): "copied",
                        ("up_down=0.1", 1): "done", ("up_down=0.1", 2): "done"}
    copied = [out_of(workdir, "other") / p["run_file"] for p in second["points"] if p["status"] == "copied"]
    originals = {p["seed"] for p in first["points"] if p["condition"] == "up_down=0"}
    for path in copied:
        record = json.loads(path.read_text())
        source = json.loads((workdir / "reports" / "paper" / record["copied_from"]).read_text())
        assert record["key"] == source["key"] and record["accuracy"] == source["accuracy"]
        assert record["copied_from"].startswith("tiny/runs/") and record["seed"] in originals
    assert "2 copied, 2 done" in (out_of(workdir, "other") / "report.md").read_text()
    # Every run found beside it: nothing is trained, and the report does not claim a training time.
    third = run_study(write_study(workdir, {**other, "study": "third"}, name="third.yaml"), out_dir=out_of(workdir, "third"),
                      cache_dir=workdir / "elsewhere2", progress=False)
    assert {p["status"] for p in third["points"]} == {"copied"}
    assert "this invocation trained none" in (out_of(workdir, "third") / "report.md").read_text()


def test_a_run_file_of_fifty_epochs_stays_small(workdir):
    out = out_of(workdir)
    run_study(write_study(workdir, {**STUDY, "seeds": [1], "max_seeds": 1}), out_dir=out, cache_dir=workdir / "cache",
              progress=False)
    path = sorted((out / "runs").glob("*.json"))[0]
    record = json.loads(path.read_text())
    for side in ("rpu", "fp"):  # the paper's 50 epochs (each curve entry is a real epoch's, repeated)
        curve = record["accuracy"][side]["curve"]
        record["accuracy"][side]["curve"] = [dict(curve[i % len(curve)], epoch=i + 1) for i in range(50)]
    study_runs.atomic_write_json(path, record)
    assert path.stat().st_size < 50_000


def test_a_changed_workload_or_numerics_version_is_not_mixed_with_old_runs(workdir, monkeypatch, capsys):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    old = sorted(p.name for p in (out / "runs").glob("*.json"))

    changed = run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False, budget=0,
                        overrides=["training.lr=0.06"])
    assert not changed["complete"] and len(changed["runs"]["pending"]) == 4 and changed["runs"]["other_files"] == old

    monkeypatch.setattr(study_runs, "NUMERICS_VERSION", study_runs.NUMERICS_VERSION + 1)
    assert main(["study", str(study), "--out", str(out), "--cache", str(workdir / "cache"), "--budget", "0", "--quiet"]) == 3
    printed = capsys.readouterr().out
    assert "4 of 4 runs are pending" in " ".join(printed.split())
    results = json.loads((out / "results.json").read_text())
    assert not results["complete"] and results["reading"] is None and results["runs"]["other_files"] == old
    report = (out / "report.md").read_text()
    assert "**In progress:** 0 of 4 runs" in report and "Pending runs: up_down=0 seed 1; up_down=0.3 seed 1;" in report
    assert "## Reading" not in report


def test_a_run_file_that_is_not_what_its_name_says_is_refused(workdir):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    path = sorted((out / "runs").glob("*.json"))[0]
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "key": "0" * 64}))
    with pytest.raises(UserError, match=path.name):
        run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False, budget=0)


def test_a_study_stopped_mid_run_resumes_to_the_results_of_one_never_stopped(workdir):
    # Points long enough (8 epochs of 60 windows, a few seconds) that the stop, at most half a
    # second after the first epoch's checkpoint appears, lands inside the first run.
    long = {**STUDY, "seeds": [1], "max_seeds": 1, "quick": {"training.epochs": 8, "training.max_windows_per_epoch": 60}}
    study = write_study(workdir, long)
    # Each report in a folder of its own: beside each other, the second would copy the first's runs.
    whole = run_study(study, out_dir=workdir / "whole" / "tiny", cache_dir=workdir / "cache-whole", progress=False)

    cache = workdir / "cache-stopped"
    stopped = run_study(study, out_dir=workdir / "stopped" / "tiny", cache_dir=cache, progress=False,
                        stop=lambda: any(cache.glob("*/checkpoint.npz")))  # after the first epoch's checkpoint
    assert not stopped["complete"] and stopped["runs"]["pending"]
    assert stopped["runs"]["finished"] + len(stopped["runs"]["pending"]) == stopped["runs"]["planned"] == 2
    assert len(list((workdir / "stopped" / "tiny" / "runs").glob("*.json"))) == stopped["runs"]["finished"]  # nothing half written
    assert "In progress" in (workdir / "stopped" / "tiny" / "report.md").read_text()

    resumed = run_study(study, out_dir=workdir / "stopped" / "tiny", cache_dir=cache, progress=False)
    assert resumed["complete"]
    records = [json.loads(p.read_text()) for p in (workdir / "stopped" / "tiny" / "runs").glob("*.json")]
    assert sum(r["resumed"] for r in records) == 1  # the stopped run continued from its checkpoint
    assert without_timing(resumed["facts"]) == without_timing(whole["facts"])
    assert resumed["finding"] == whole["finding"] and resumed["reading"] == whole["reading"]


def test_the_time_budget_stops_cleanly_and_the_same_command_continues(workdir):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    args = ["study", str(study), "--out", str(out), "--cache", str(workdir / "cache"), "--quiet"]
    # 0.6 s: less than a point's process takes to start, so every point is stopped or never started.
    assert main(args + ["--budget", "0.01"]) == 3
    results = json.loads((out / "results.json").read_text())
    assert not results["complete"] and len(results["runs"]["pending"]) + results["runs"]["finished"] == 4
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".analysis-*"))
    assert main(args) == 0
    assert json.loads((out / "results.json").read_text())["complete"]


def test_the_seed_rule_adds_seeds_to_undecided_comparisons_only(workdir):
    out = out_of(workdir)
    results = run_study(write_study(workdir, {**STUDY, "max_seeds": 4}), out_dir=out, cache_dir=workdir / "cache",
                        progress=False)
    [c] = results["comparisons"]
    assert c["verdict"] != "undecided" or c["n"] == 4  # decided, or at the limit
    seeds = {name: sorted(p["seed"] for p in results["points"] if p["condition"] == name) for name in ("up_down=0", "up_down=0.3")}
    assert seeds["up_down=0"] == seeds["up_down=0.3"] == seed_sequence([1, 2], c["n"])
    # Replay the rule on the first two seeds, from the run files.
    loss = {(p["condition"], p["seed"]): p["rpu"]["test_loss"] for p in results["points"]}
    at_two = compare([loss["up_down=0.3", s] for s in (1, 2)], [loss["up_down=0", s] for s in (1, 2)], [1, 2], [1, 2])
    assert (c["n"] > 2) == (at_two.verdict(0.02) == "undecided")
    if c["n"] > 2:
        assert c["n"] >= seeds_needed(at_two, 0.02, 4) or c["n"] == 4
    report = (out / "report.md").read_text()
    assert "| asym: up_down=0.3 - up_down=0 |" in report and "95 % interval" in report


def test_warnings_of_the_runs_reach_the_report_and_the_terminal(workdir, capsys):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    for path in (out / "runs").glob("up_down-0.3-*.json"):
        record = json.loads(path.read_text())
        record["warnings"] = [{"kind": "sizing_check", "subject": "chip", "message": f"sizing check fails (seed {record['seed']})."}]
        path.write_text(json.dumps(record))
    assert main(["study", str(study), "--out", str(out), "--cache", str(workdir / "cache"), "--budget", "0", "--quiet"]) == 0
    assert "2 runs: sizing check fails (seed 1)." in " ".join(capsys.readouterr().out.split())
    report = (out / "report.md").read_text()
    assert "## Warnings from the runs" in report
    assert "- 2 runs (up_down=0.3 seed 1, up_down=0.3 seed 2): sizing check fails (seed 1)." in report


def test_the_index_shows_scale_convergence_verdicts_and_runs(workdir):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    old = out.parent / "old-study"
    old.mkdir(parents=True)
    (old / "results.json").write_text(json.dumps({"title": "An older report", "finding": "x", "scale": "default"}))
    results = run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    index = (workdir / "reports" / "README.md").read_text()
    assert "| converged | paired verdicts | runs |" in index
    row = next(line for line in index.splitlines() if "paper/tiny/report.md" in line)
    n = results["facts"]["settings_count"]
    converged = "yes" if results["facts"]["converged"] else f"**no** (FP {results['facts']['fp_converged_count']} of {n})"
    assert f"| default | {converged}" in row and "(of 1) | 4/4 |" in row
    assert "not recorded | not recorded | not recorded" in next(line for line in index.splitlines() if "old-study" in line)


def test_convergence_criterion_on_given_curves(tmp_path):
    from rpuarch.config import load_workload
    from rpuarch.study.convergence import assess
    from rpuarch.study.points import StudyPoint
    from rpuarch.study.spec import Convergence

    def point(name, fp_valid, rpu_valid):
        curve = lambda values: [{"epoch": i + 1, "valid_loss": v} for i, v in enumerate(values)]  # noqa: E731
        p = StudyPoint(name, 1, load_workload(None))
        p.report = {"accuracy": {"fp": {"curve": curve(fp_valid)}, "rpu": {"curve": curve(rpu_valid)},
                                 "unigram": {"test_loss": 3.0}}}
        return p

    points = [point("converged", [2.5, 2.0, 1.99], [2.6, 2.4, 2.3]),  # FP -0.5 %, 34 % below 3.0; RPU -4.2 %
              point("still-learning", [2.5, 2.3, 2.2], [2.6, 2.5, 2.499])]  # FP -4.3 %; RPU -0.04 %
    facts, section, results = assess(points, Convergence(), tmp_path)
    assert facts["converged_fp_converged"] and not facts["converged_rpu_stopped"]
    assert not facts["still_learning_fp_converged"] and facts["still_learning_rpu_stopped"]
    assert facts["fp_last_change_max"] == pytest.approx(0.1 / 2.3)
    assert not facts["converged"] and facts["fp_converged_count"] == 1 and facts["unigram"] == 3.0
    assert "not converged in 1 of 2 settings (still-learning" in facts["convergence_text"]
    # Far enough below the unigram loss is part of the criterion: a flat curve near 3.0 has not learned.
    flat, _, _ = assess([point("flat", [2.9, 2.9, 2.9], [2.9, 2.9, 2.9])], Convergence(), tmp_path)
    assert not flat["converged"] and flat["rpu_stopped"]
    # A loss that rises over the last epoch has stopped improving, but it broke down: the text says so.
    rising, section, _ = assess([point("broke", [2.5, 2.0, 1.99], [2.6, 2.4, 3.6])], Convergence(), tmp_path)
    assert rising["rpu_stopped"] and "rose by more than 1% over the last epoch in broke: stopped by getting worse" in rising["convergence_text"]
    assert "| yes, rising |" in "\n".join(section)
    assert "converged in the setting" in rising["convergence_text"]
    assert (tmp_path / "convergence.png").is_file() and "## Convergence" in section
    assert results["criterion"] == Convergence().model_dump()


def test_seeds_the_rule_adds_are_pending_runs_with_the_comparisons_that_asked_for_them(workdir, monkeypatch):
    # A difference of interest far below the noise: the comparison is undecided at 2 seeds.
    study = write_study(workdir, {**STUDY, "difference_of_interest": 1e-6, "max_seeds": 3})
    out = out_of(workdir)
    run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False, max_seeds=2)  # the first 2 seeds
    monkeypatch.chdir(workdir)  # as from a clone's root: the report names the study file relative to it
    first_stage = run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False, budget=0)
    assert first_stage["study_file"]["path"] == str(study.relative_to(workdir))
    assert "this invocation trained none: it regenerated the report from the run files" in (out / "report.md").read_text()
    assert not first_stage["complete"] and first_stage["runs"]["planned"] == 6
    assert first_stage["runs"]["pending"] == ["up_down=0 seed 3", "up_down=0.3 seed 3"]
    [c] = first_stage["comparisons"]
    assert c["n"] == 2 and c["verdict"] == "undecided"
    assert "provisional: 1 undecided (of 1)" in (workdir / "reports" / "README.md").read_text()
    assert "(provisional)" in (out / "report.md").read_text()
    done = run_study(study, out_dir=out, cache_dir=workdir / "cache", progress=False)
    assert done["complete"] and done["comparisons"][0]["n"] == 3


def test_bad_budget_or_seed_limit_refuses_without_output(workdir, capsys):
    study, out = write_study(workdir, STUDY), out_of(workdir)
    assert main(["study", str(study), "--out", str(out), "--budget", "-5"]) == 2
    assert "--budget is in minutes" in capsys.readouterr().err
    assert main(["study", str(study), "--out", str(out), "--max-seeds", "0"]) == 2
    assert "--max-seeds must be at least 1" in capsys.readouterr().err
    assert not out.exists()
