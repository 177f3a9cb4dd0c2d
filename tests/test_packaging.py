"""A regular (non-editable) install ships every preset and workload folder (pyproject data-files)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_yaml_folder_of_models_and_workloads_is_shipped():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {
        pattern
        for patterns in config["tool"]["setuptools"]["data-files"].values()
        for pattern in patterns
    }
    folders = {
        path.parent.relative_to(ROOT).as_posix()
        for top in ("models", "workloads")
        for path in (ROOT / top).rglob("*.yaml")
    }
    missing = sorted(f for f in folders if f"{f}/*.yaml" not in shipped)
    assert not missing, f"add these folders to [tool.setuptools.data-files] in pyproject.toml: {missing}"
