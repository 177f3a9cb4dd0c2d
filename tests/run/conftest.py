"""Tiny workloads for the run, report and sweep tests: a synthetic corpus, a small LSTM, few
windows, so a whole coupled run takes about a second."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from synthetic import synthetic_text

TINY = {
    "name": "tiny",
    "seed": 7,
    "dataset": {"path": "corpus.txt"},
    "network": {"layers": 1, "hidden": 8},
    "training": {"epochs": 2, "lr": 0.05, "streams": 4, "seq_length": 16, "max_windows_per_epoch": 12,
                 "update_mode": "aggregated", "eval_chars": 400, "eval_streams": 4},
    "device": {"preset": "gokmen-vlasov-2016"},
    "tile": {"rows": 64, "cols": 64},
}


def merge(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def write_workload(directory: Path, changes: dict | None = None, name: str = "workload.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    corpus = directory / "corpus.txt"
    if not corpus.exists():
        corpus.write_text(synthetic_text())
    path = directory / name
    path.write_text(yaml.safe_dump(merge(TINY, changes or {}), sort_keys=False))
    return path


@pytest.fixture
def tiny_workload(tmp_path: Path) -> Path:
    return write_workload(tmp_path / "work")
