"""``rpuarch run`` resumes automatically from the checkpoint in its output directory: a planted
one executes nothing, is refused cleanly, and is left as it was; the old pickle format is never read."""

import pickle

from rpuarch.cli import main
from rpuarch.nn import checkpoint

from conftest import write_workload
from hostile import Plant, hostile_files


def test_run_refuses_a_planted_checkpoint_and_ignores_old_pickles(tmp_path, capsys):
    path = write_workload(tmp_path / "w", {"training": {"epochs": 1}})
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "code-ran"
    (out / "checkpoint.pkl").write_bytes(pickle.dumps(Plant(marker)))  # the old format: never read
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert not marker.exists()
    planted = hostile_files(marker)["object array beside good meta"]
    checkpoint.path_in(out).write_bytes(planted)
    (out / "report.json").unlink()
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "not a readable rpuarch checkpoint" in err and "--fresh" in err and "Traceback" not in err
    assert not marker.exists() and checkpoint.path_in(out).read_bytes() == planted  # nothing touched


def test_resume_says_so_and_report_md_records_it(tmp_path, capsys):
    path = write_workload(tmp_path / "w", {"training": {"epochs": 1}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "--quiet", "--set", "training.epochs=2"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert f"Resuming {out} from epoch 2" in printed
    assert "- resumed 1 time(s) from a checkpoint" in (out / "report.md").read_text()
