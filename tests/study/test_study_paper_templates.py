"""Each study file of workloads/paper/ runs end to end on a tiny synthetic text with two seeds (so
the paired intervals exist), so its reading and finding templates are checked against the facts its
analysis really produces (a misspelt fact name fails here, not after a half-hour study)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rpuarch.config.loader import REPO_ROOT
from rpuarch.study import run_study

PAPER = REPO_ROOT / "workloads" / "paper"
# The scale study is pure computation; its own command (seconds) checks its template.
STUDIES = sorted(p for p in PAPER.glob("*.yaml") if "study:" in p.read_text() and "kind: scale" not in p.read_text())
TINY = [
    "network.hidden=4", "training.epochs=2", "training.max_windows_per_epoch=2", "training.streams=2",
    "training.seq_length=8", "training.eval_chars=200", "training.eval_streams=2", "dataset.max_chars=null",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    words = "war and peace the prince said to anna pavlovna in the drawing room".split()
    path = tmp_path_factory.mktemp("paper") / "text.txt"
    path.write_text(" ".join(rng.choice(words, size=1500)) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_renders_its_reading_from_real_facts(path: Path, corpus: Path, tmp_path: Path):
    results = run_study(path, out_dir=tmp_path / "out", data=[str(corpus)], overrides=TINY, seeds=[1, 2], max_seeds=2,
                        cache_dir=corpus.parent / "cache", progress=False)
    report = (tmp_path / "out" / "report.md").read_text()
    assert results["finding"].split()[0] in report and "{" not in results["reading"]
