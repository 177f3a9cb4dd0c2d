"""`rpuarch validate` accepts a corpus of good workloads (and checks their data and mapping)."""

from pathlib import Path

import pytest

from rpuarch.cli import main
from rpuarch.config.loader import REPO_ROOT

GOOD = sorted((Path(__file__).parent / "good").glob("*.yaml"))
SHIPPED = sorted((REPO_ROOT / "workloads").glob("*.yaml"))
LINUX_HEADERS = Path("/usr/include/linux").is_dir()


def test_good_corpus_is_valid(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(GOOD) >= 5
    assert main(["validate", *map(str, GOOD)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("valid:") == len(GOOD)
    assert list(tmp_path.iterdir()) == [], "validate writes nothing"


@pytest.mark.skipif(not LINUX_HEADERS, reason="the shipped workloads read /usr/include/linux (package linux-libc-dev)")
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_workloads_are_valid(path):
    assert main(["validate", str(path)]) == 0


def test_one_bad_file_among_good_ones_fails_the_whole_check(capsys):
    bad = Path(__file__).parents[1] / "broken" / "negative_lr.yaml"
    assert main(["validate", str(GOOD[0]), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "valid:" in captured.out and "training.lr" in captured.err
