"""Atomic output files."""

import json
import math
import os
import stat

import numpy as np
import pytest

from rpuarch.files import atomic_write_json, atomic_write_text


def test_written_file_is_complete_and_has_the_usual_mode(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.txt", "hello")
    assert path.read_text() == "hello"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "a.json", "old")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(path, {"x": 1})
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_json_converts_numpy_and_non_finite(tmp_path):
    path = atomic_write_json(tmp_path / "a.json", {"a": np.float32(1.5), "b": np.arange(2), "c": math.nan})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1], "c": None}
