"""The network's arrays on real tiles: the paper's weight count, the split over tiles, the
shared initial weights of the RPU network and its twin."""

from __future__ import annotations

import numpy as np
import pytest

from rpuarch.config import resolve
from rpuarch.nn.model import init_scale
from rpuarch.nn.train import build_networks


def workload(**sections):
    w, _ = resolve({"device": {"preset": "gokmen-vlasov-2016"}, **sections}, "test")
    return w


def test_lstm2_64_on_87_characters_holds_77591_weights_on_its_tiles():
    # REFERENCE.md s1: 4*64*(87+64+1) + 4*64*(64+64+1) + 87*(64+1) = 77,591.
    nets = build_networks(workload(network={"layers": 2, "hidden": 64, "bias": "analog"}), vocab_size=87)
    for model in nets.values():
        assert [a.shape for a in model.arrays] == [(256, 152), (256, 129), (87, 65)]
        assert model.mapping.weights == 77_591
        assert sum(t.weights.size for a in model.arrays for t in a.tiles) == 77_591


def test_split_tiles_cover_the_array_each_with_its_own_devices():
    nets = build_networks(workload(network={"layers": 2, "hidden": 64, "bias": "analog"}, tile={"rows": 100, "cols": 100}),
                          vocab_size=87)
    lstm0 = nets["rpu"].arrays[0]
    assert lstm0.mapping.grid == (3, 2) and len(lstm0.tiles) == 6
    assert sum(t.weights.size for t in lstm0.tiles) == 256 * 152
    # Device-to-device variation is drawn per tile from its own random stream.
    bounds = [t.devices.w_max[:50, :50] for t in lstm0.tiles]
    assert not any(np.array_equal(bounds[0], b) for b in bounds[1:])


@pytest.mark.parametrize("bias, arrays", [("digital", "combined"), ("analog", "split")])
def test_twin_starts_from_the_rpu_networks_weights(bias, arrays):
    w = workload(network={"bias": bias, "arrays": arrays})
    nets = build_networks(w, vocab_size=50)
    scale = init_scale(64, w.device.w_min, w.device.w_max)
    assert scale == 0.125  # 1/sqrt(64), inside the +-0.6 range
    for rpu, fp in zip(nets["rpu"].arrays, nets["fp"].arrays):
        assert np.abs(fp.weights).max() <= scale and np.abs(fp.weights).max() > 0.9 * scale
        # The RPU copy is the same draw, clipped to each device's own bounds (30 % spread).
        for r_tile, f_tile in zip(rpu.tiles, fp.tiles):
            np.testing.assert_array_equal(r_tile.weights, np.clip(f_tile.weights, r_tile.devices.w_min, r_tile.devices.w_max))
        assert np.mean(rpu.weights == fp.weights) > 0.99
        if rpu.bias is not None:  # a digital bias is a float: the same draw, unclipped
            np.testing.assert_array_equal(rpu.bias, fp.bias)
            assert np.abs(fp.bias).max() <= scale
