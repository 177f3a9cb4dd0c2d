"""Output directories are checked before any training: a file, a path under a file, a directory
that cannot be written or a name longer than the filesystem allows is a clean exit 2 that writes
nothing; the longest workload name still gives a valid default directory (a longer one is refused
by the validator: tests/broken/very_long_name.yaml)."""

import os

import pytest

from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.run import default_out_dir

from conftest import write_workload

COMMANDS = {
    "run": [],
    "train": [],
    "sweep": ["--grid", "seed=1,2"],
    "compare": ["--variant", "a"],
}


def bad_outs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return {
        "is a file": blocker,
        "under a file": blocker / "sub" / "dir",
        "not writable": locked / "out",
        "name too long": tmp_path / ("n" * 300),
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_output_directory_is_refused_before_training(tmp_path, capsys, command):
    path = write_workload(tmp_path / "w")
    for what, out in bad_outs(tmp_path).items():
        if what == "not writable" and os.geteuid() == 0:
            continue  # root writes anywhere
        assert main([command, str(path), "--out", str(out), "--quiet", *COMMANDS[command]]) == 2, what
        captured = capsys.readouterr()
        err = " ".join(captured.err.split())
        assert "--out" in err and "Traceback" not in err, (what, err)
        assert not list((tmp_path / "w").glob("**/checkpoint.npz")) and not (tmp_path / "w" / "runs").exists()


def test_a_sweep_cache_that_is_a_file_is_refused(tmp_path, capsys):
    path = write_workload(tmp_path / "w")
    (tmp_path / "cache").write_text("x")
    assert main(["sweep", str(path), "--grid", "seed=1", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "cache"), "--quiet"]) == 2
    assert "--cache" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_very_long_name_gives_a_valid_default_directory(tmp_path, monkeypatch):
    path = write_workload(tmp_path, {"name": "n" * 200, "training": {"epochs": 1}})  # the longest allowed
    out = default_out_dir(load_workload(path))
    assert len(out.name) < 100
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--quiet"]) == 0
    assert (tmp_path / out / "report.json").is_file()
