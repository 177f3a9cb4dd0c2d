"""No stale numbers, no lost results: finished runs and cached points are keyed on the resolved
workload, the text it trained on, the rpuarch version and the numerics backend; a refused run
touches nothing; a broken cached point is recomputed, not fatal."""

import json

import pytest

import rpuarch.run as run_module
from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.nn import checkpoint
from rpuarch.run import cache_key

from conftest import write_workload
from synthetic import synthetic_text


def test_run_recomputes_when_the_corpus_changes_in_place(tmp_path, capsys):
    path = write_workload(tmp_path / "w", {"training": {"epochs": 1}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    first = json.loads((out / "report.json").read_text())
    (tmp_path / "w" / "corpus.txt").write_text(synthetic_text(seed=1))  # same file name, other text
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    second = json.loads((out / "report.json").read_text())
    assert "the dataset's text changed" in printed
    assert second["data"]["text"]["sha256"] != first["data"]["text"]["sha256"]
    assert second["cache_key"] != first["cache_key"]
    assert second["accuracy"]["rpu"]["test_loss"] != first["accuracy"]["rpu"]["test_loss"]


def test_sweep_recomputes_a_point_whose_corpus_changed(tmp_path):
    path = write_workload(tmp_path / "w", {"training": {"epochs": 1}})
    args = ["sweep", str(path), "--grid", "seed=1", "--out", str(tmp_path / "sweep"), "--quiet"]
    assert main(args) == 0
    assert main(args) == 0
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["points"][0]["status"] == "cached"
    (tmp_path / "w" / "corpus.txt").write_text(synthetic_text(seed=1))
    assert main(args) == 0
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["points"][0]["status"] == "done"


def test_the_key_covers_version_and_backend_and_the_report_records_the_backend(tmp_path, monkeypatch):
    loaded = load_workload(write_workload(tmp_path))
    key = cache_key(loaded, "text")
    assert cache_key(loaded, "other text") != key
    monkeypatch.setenv("RPUARCH_BACKEND", "numpy")
    assert cache_key(loaded, "text") != key and run_module.numerics_backend() == "numpy"
    monkeypatch.delenv("RPUARCH_BACKEND")
    monkeypatch.setattr(run_module, "__version__", "0.0.0-other")
    assert cache_key(loaded, "text") != key
    monkeypatch.undo()
    loaded = load_workload(write_workload(tmp_path, {"training": {"epochs": 1}}))
    report = run_module.run(loaded, tmp_path / "out", progress=False)
    assert report["backend"] == "numba" and report["cache_key"] == cache_key(loaded, report["data"]["text"]["sha256"])


def test_a_checkpoint_of_another_backend_or_version_is_not_resumed(tmp_path, monkeypatch):
    path = write_workload(tmp_path, {"training": {"epochs": 1}})
    loaded = load_workload(path)
    out = tmp_path / "out"
    run_module.run(loaded, out, progress=False)
    data = run_module.preflight(loaded)
    checkpoint.check(out, loaded.workload, data.digest)  # fits as it is
    monkeypatch.setenv("RPUARCH_BACKEND", "numpy")
    with pytest.raises(checkpoint.CheckpointError, match="numerics backend 'numba', this is 'numpy'"):
        checkpoint.check(out, loaded.workload, data.digest)
    monkeypatch.delenv("RPUARCH_BACKEND")
    monkeypatch.setattr(checkpoint, "__version__", "0.0.0-other")
    with pytest.raises(checkpoint.CheckpointError, match="rpuarch version"):
        checkpoint.check(out, loaded.workload, data.digest)


def test_a_refused_run_keeps_the_finished_report_and_names_only_run_options(tmp_path, capsys):
    path = write_workload(tmp_path, {"training": {"epochs": 1}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--quiet", "--seed", "2"]) == 2
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())
    assert "another workload" in message and "seed (7 -> 2)" in message and "--fresh" in message
    assert "--resume" not in message and captured.out == ""  # no "rpuarch run X -> DIR" line before the error
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # touched nothing
    assert main(["run", str(path), "--out", str(out), "--quiet", "--seed", "2", "--fresh"]) == 0
    assert json.loads((out / "report.json").read_text())["seed"] == 2


def test_broken_cached_points_are_recomputed_not_fatal(tmp_path, capsys):
    path = write_workload(tmp_path / "w", {"training": {"epochs": 1}})
    out = tmp_path / "sweep"
    args = ["sweep", str(path), "--grid", "seed=1,2,3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    dirs = {p["values"]["seed"]: out / "points" / p["report_dir"].rsplit("/", 1)[-1]
            for p in json.loads((out / "sweep.json").read_text())["points"]}
    report = json.loads((dirs[2] / "report.json").read_text())
    (dirs[1] / "report.json").write_text('{"schema": "rpuarch.rep')  # truncated
    stub = {"schema": report["schema"], "cache_key": report["cache_key"], "workload": report["workload"]}
    (dirs[2] / "report.json").write_text(json.dumps(stub))  # the right key, no numbers
    (dirs[3] / "report.json").unlink()
    checkpoint.path_in(dirs[3]).write_bytes(b"PK\x03\x04 not really a zip")  # a broken checkpoint
    capsys.readouterr()
    assert main(args) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "recomputing seed=1" in err and "not a readable rpuarch report" in err
    assert "recomputing seed=2" in err and "incomplete" in err
    assert "restarted seed=3" in err and "not a readable rpuarch checkpoint" in err
    document = json.loads((out / "sweep.json").read_text())
    assert [p["status"] for p in document["points"]] == ["done", "done", "done"]
    assert all(p["metrics"]["accuracy.rpu.test_loss"] is not None for p in document["points"])
    assert json.loads((dirs[2] / "report.json").read_text())["accuracy"] == report["accuracy"]  # same numbers again


def test_study_run_keys_name_a_backend_other_than_numba(tmp_path, monkeypatch):
    from rpuarch.study.runs import run_key

    loaded = load_workload(write_workload(tmp_path))
    numba_key = run_key(loaded, "text")
    monkeypatch.setenv("RPUARCH_BACKEND", "numpy")
    assert run_key(loaded, "text") != numba_key
    monkeypatch.setenv("RPUARCH_BACKEND", "numba")
    assert run_key(loaded, "text") == numba_key  # the committed runs of studies keep their keys


def test_a_worker_that_reads_other_text_refuses_the_point(tmp_path):
    from rpuarch.errors import UserError

    loaded = load_workload(write_workload(tmp_path))
    with pytest.raises(UserError, match="other text for the dataset .* or another numerics backend"):
        run_module.compute_report(loaded, tmp_path / "point", expect_key=cache_key(loaded, "the client's text"))
    assert not (tmp_path / "point").exists()
