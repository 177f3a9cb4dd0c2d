"""The AnalogTile API other modules code against: shapes, the floating-point twin, weights."""

import numpy as np
import pytest

from rpuarch.config import PERFECT_IO, DeviceConfig, IOSection, UpdateConfig
from rpuarch.device.tile import AnalogTile

IDEAL = DeviceConfig(type="ideal")


def ideal_tile(out_size=5, in_size=7, seed=0):
    return AnalogTile(out_size, in_size, IDEAL, PERFECT_IO, UpdateConfig(), np.random.default_rng(seed))


def test_float_twin_is_exact_matmul_and_sgd():
    rng = np.random.default_rng(1)
    tile = ideal_tile()
    w = rng.standard_normal((5, 7))
    tile.weights = w
    x, d = rng.standard_normal((3, 7)), rng.standard_normal((3, 5))
    np.testing.assert_array_equal(tile.forward(x), x @ w.T)
    np.testing.assert_array_equal(tile.backward(d), d @ w)
    tile.update(x, d, lr=0.1)
    np.testing.assert_allclose(tile.weights, w - 0.1 * d.T @ x, rtol=0, atol=1e-15)
    assert tile.weights.dtype == np.float64
    assert tile.activity.forward_vectors == 3 and tile.activity.backward_vectors == 3
    assert tile.activity.updates == 3


def test_ideal_weights_are_not_bounded_but_pulsed_ones_are():
    tile = ideal_tile()
    tile.weights = np.full((5, 7), 5.0)
    assert np.all(tile.weights == 5.0)
    analog = AnalogTile(5, 7, DeviceConfig(), IOSection(), UpdateConfig(), np.random.default_rng(0))
    analog.weights = np.full((5, 7), 5.0)
    np.testing.assert_array_equal(analog.weights, analog.devices.w_max)
    assert np.all(analog.weights <= 0.6 * (1 + 0.3 * 6))


@pytest.mark.parametrize("bad", [np.zeros((3, 6)), np.zeros(7), np.zeros((2, 3, 7))])
def test_wrong_shapes_are_rejected(bad):
    with pytest.raises(ValueError, match="shape"):
        ideal_tile().forward(bad)


def test_analog_forward_runs_and_counts():
    tile = AnalogTile(4, 6, DeviceConfig(), IOSection(), UpdateConfig(), np.random.default_rng(0))
    y = tile.forward(np.ones((2, 6)))
    assert y.shape == (2, 4)
    assert tile.activity.forward_vectors == 2 and tile.activity.forward_outputs >= 8


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("mode", ["exact", "aggregated"])
def test_empty_batches_pass_and_non_finite_updates_are_refused(backend, mode):
    tile = AnalogTile(4, 3, DeviceConfig(), IOSection(), UpdateConfig(), np.random.default_rng(0), mode)
    tile.backend = backend
    tile.update(np.zeros((0, 3)), np.zeros((0, 4)), 0.1)
    assert tile.forward(np.zeros((0, 3))).shape == (0, 4) and tile.backward(np.zeros((0, 4))).shape == (0, 3)
    before = tile.weights.copy()
    with pytest.raises(ValueError, match="finite"):
        tile.update(np.full((1, 3), np.nan), np.ones((1, 4)), 0.1)
    np.testing.assert_array_equal(tile.weights, before)


def test_same_seed_same_numbers():
    def run(seed):
        tile = AnalogTile(8, 6, DeviceConfig(), IOSection(), UpdateConfig(), np.random.default_rng(seed))
        rng = np.random.default_rng(1)
        tile.update(rng.uniform(-1, 1, (20, 6)), rng.normal(0, 0.1, (20, 8)), 0.05)
        return tile.forward(rng.uniform(-1, 1, (5, 6))), tile.weights.copy()

    (y1, w1), (y2, w2), (y3, _) = run(3), run(3), run(4)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(w1, w2)
    assert not np.array_equal(y1, y3)
