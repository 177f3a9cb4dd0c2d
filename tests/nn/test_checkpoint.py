"""Checkpoints are data only: arrays (no pickle) and JSON, restored into a run rebuilt from the
workload by a generic walk. A planted file executes nothing and fails cleanly; resume stays exact
(tests/nn/test_train_loop.py checks the numbers of a resumed run bit for bit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from hostile import hostile_files
from rpuarch.config import load_workload
from rpuarch.nn import checkpoint
from rpuarch.nn.checkpoint import CheckpointError


@dataclass
class Carried:
    h: list[np.ndarray]


@dataclass(frozen=True)
class Fixed:
    values: np.ndarray
    scale: float


@dataclass
class Inner:
    weights: np.ndarray
    fixed: Fixed
    rng: np.random.Generator
    carried: Carried | None = None
    counts: dict[str, int] = field(default_factory=dict)
    curve: list[dict] = field(default_factory=list)


class Root:
    def __init__(self, seed: int):
        rng = np.random.default_rng(seed)
        self.inner = Inner(rng.random((3, 4)), Fixed(rng.random(5), 0.5), np.random.default_rng(seed + 1))
        self.alias = self.inner  # the same object twice
        self.label, self.steps, self.ratio, self.flag, self.nothing = "run", 3, 0.25, True, None
        self.method = self.describe  # a bound method: not state

    def describe(self) -> str:
        return self.label


def workload(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("dataset: {path: corpus.txt}\n")
    return load_workload(path).workload


def test_a_generic_object_graph_round_trips(tmp_path):
    w = workload(tmp_path)
    saved = Root(1)
    saved.inner.rng.random(7)  # advance the generator
    saved.inner.carried = Carried([np.arange(3.0), np.ones((2, 2), np.float32)])
    saved.inner.counts, saved.inner.curve = {"a": 2}, [{"epoch": 1, "loss": 0.1 + 0.2}]
    saved.steps, saved.nothing = 9, "now set"
    checkpoint.save(tmp_path, w, "digest", saved, {"epochs_done": {"rpu": 1}})

    rebuilt = Root(2)
    fixed_values = rebuilt.inner.fixed.values
    checkpoint.load(tmp_path, w, "digest", rebuilt)
    assert rebuilt.alias is rebuilt.inner and rebuilt.method() == "run"
    assert rebuilt.inner.fixed.values is fixed_values  # restored in place (a frozen dataclass's array)
    np.testing.assert_array_equal(rebuilt.inner.fixed.values, saved.inner.fixed.values)
    np.testing.assert_array_equal(rebuilt.inner.weights, saved.inner.weights)
    assert isinstance(rebuilt.inner.carried, Carried)  # None in the rebuilt run: made from the type hint
    assert [a.dtype for a in rebuilt.inner.carried.h] == [np.float64, np.float32]
    assert rebuilt.inner.counts == {"a": 2} and rebuilt.inner.curve == [{"epoch": 1, "loss": 0.1 + 0.2}]
    assert (rebuilt.steps, rebuilt.nothing) == (9, "now set")
    assert rebuilt.inner.rng.random() == saved.inner.rng.random()  # the generator continues exactly
    assert checkpoint.read(tmp_path)[0]["summary"] == {"epochs_done": {"rpu": 1}}


def test_what_a_checkpoint_cannot_hold_is_named_when_saving(tmp_path):
    root = Root(1)
    root.inner.counts = {1: 2}
    with pytest.raises(TypeError, match=r"state.inner.counts is a dict with keys that are not strings"):
        checkpoint.save(tmp_path, workload(tmp_path), "d", root)
    root = Root(1)
    root.steps = {3, 4}
    with pytest.raises(TypeError, match=r"state.steps is a set"):
        checkpoint.save(tmp_path, workload(tmp_path), "d", root)


def test_a_checkpoint_of_another_shape_does_not_fit(tmp_path):
    w = workload(tmp_path)
    checkpoint.save(tmp_path, w, "d", Root(1))
    other = Root(1)
    other.extra = 1
    with pytest.raises(CheckpointError, match="does not fit.*attributes of Root differ"):
        checkpoint.load(tmp_path, w, "d", other)


def test_the_planted_files_would_run_code_if_unpickled(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "planted.npz"
    path.write_bytes(hostile_files(marker)["object array"])
    with np.load(path, allow_pickle=True) as npz:
        npz["__meta__"]
    assert marker.exists()  # so the refusals below are of a real threat


@pytest.mark.parametrize("kind", list(hostile_files(Path("m"))))
def test_a_planted_checkpoint_executes_nothing_and_fails_cleanly(tmp_path, kind):
    marker = tmp_path / "code-ran"
    checkpoint.path_in(tmp_path).write_bytes(hostile_files(marker)[kind])
    with pytest.raises(CheckpointError, match="not a readable rpuarch checkpoint|does not fit|the workload differs"):
        w = workload(tmp_path)
        checkpoint.load(tmp_path, w, "d", Root(1))
    assert not marker.exists()
