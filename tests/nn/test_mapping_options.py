"""network.bias (analog | digital) and network.arrays (combined | split): the same network in
floating point whatever the mapping, and on analog tiles the periphery each mapping gives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rpuarch.config import DeviceConfig, IOConfig, IOSection, UpdateConfig
from rpuarch.device.tile import AnalogTile
from rpuarch.mapping import ArrayMapping, lstm_arrays
from rpuarch.nn.analog_matrix import AnalogMatrix
from rpuarch.nn.model import CharLSTM

from test_lstm_gradients import ExactTile, reference_loss, small_model, window

MAPPINGS = list(itertools.product(("analog", "digital"), ("combined", "split")))


def mapped_model(bias, arrays, tile=(1000, 1000)):
    model = CharLSTM(7, 5, 2, *tile, lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(3),
                     bias=bias, arrays=arrays)
    model.set_weights(small_model().get_weights())  # the paper's layout: [x, h, 1] per layer
    return model


@pytest.mark.parametrize("bias, arrays", MAPPINGS)
def test_every_mapping_computes_the_papers_network(bias, arrays):
    model = mapped_model(bias, arrays)
    ids, targets = window()
    loss, _ = model.loss(ids, targets, model.initial_state(3))
    weights = small_model().get_weights()
    assert loss == pytest.approx(reference_loss(weights, ids, targets, 7, 5, 2), rel=1e-12)
    for name, w in model.get_weights().items():
        np.testing.assert_array_equal(w, weights[name])  # the round trip through the mapping


@pytest.mark.parametrize("bias, arrays", MAPPINGS)
def test_every_mapping_has_the_papers_gradient_and_sgd_step_in_floating_point(bias, arrays):
    """The combined analog-bias gradient is checked against finite differences (test_lstm_gradients);
    every other mapping gives the same gradient and, on exact tiles, the same SGD step: the digital
    bias's b -= lr sum(d) is the bias column's update."""
    reference, model = small_model(), mapped_model(bias, arrays)
    ids, targets = window()
    _, g_ref, _ = reference.gradients(ids, targets, reference.initial_state(3))
    _, g, _ = model.gradients(ids, targets, model.initial_state(3))
    expected = reference.dense_gradients(g_ref)
    for name, dense in model.dense_gradients(g).items():
        np.testing.assert_allclose(dense, expected[name], rtol=1e-12, atol=1e-15)
    reference.apply(g_ref, 0.1)
    model.apply(g, 0.1)
    for name, w in model.get_weights().items():
        np.testing.assert_allclose(w, reference.get_weights()[name], rtol=1e-12, atol=1e-15)


def test_mapping_shapes_and_tiles():
    """LSTM2-64 on 87 characters: digital bias drops one column per array (4h + 4h + v = 599 biases
    in the vector unit); split puts W_ih and W_hh on separate tiles even when one would hold both."""
    model = CharLSTM(87, 64, 2, 4096, 4096, lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(0),
                     bias="digital", arrays="split")
    assert [a.shape for a in model.arrays] == [(256, 151), (256, 128), (87, 64)]
    assert model.mapping.digital_biases == 256 + 256 + 87
    assert [a.mapping.tiles for a in model.arrays] == [2, 2, 1]
    assert [(b.c0, b.c1) for b in model.arrays[0].blocks] == [(0, 87), (87, 151)]
    analog = lstm_arrays(87, 64, 2, "analog", "split")
    assert [a.parts for a in analog[:2]] == [(("ih", 88), ("hh", 64)), (("ih", 65), ("hh", 64))]
    assert analog[0].offset("1") == 87 and analog[0].offset("h") == 88  # the bias column on the W_ih tile
    # parts larger than a tile are cut separately: 88 -> 2 bands of 44, 64 -> 2 of 32 on 50-column tiles
    bands = [(b.c0, b.c1) for b in ArrayMapping(analog[0], 300, 50).blocks]
    assert bands == [(0, 44), (44, 88), (88, 120), (120, 152)]


def analog_matrix(arrays):
    """Layer 0 of a 1 x 4 LSTM on 6 characters on ideal devices behind a noiseless 7-bit DAC."""
    io = IOConfig(out_noise=0.0, out_res=0.0, inp_bits=7, bound_management="none")
    array = lstm_arrays(6, 4, 1, "digital", arrays)[0]

    def make(o, i, rng):
        return AnalogTile(o, i, DeviceConfig(type="ideal"), IOSection(forward=io, backward=io), UpdateConfig(), rng)

    return AnalogMatrix(ArrayMapping(array, 100, 100), make, np.random.SeedSequence(0))


def test_split_gives_w_hh_its_own_noise_management():
    """z = [one-hot x, h] with h = 0.006: combined, the DAC scale is set by the one-hot 1 and h is
    below half a step (1/126), so W_hh h is lost; split, the W_hh tile scales h to its full range."""
    w = np.random.default_rng(1).uniform(-0.5, 0.5, (16, 10))
    z = np.concatenate([np.eye(6)[[2]], np.full((1, 4), 0.006)], axis=1)
    exact = z @ w.T
    errors = {}
    for arrays in ("combined", "split"):
        matrix = analog_matrix(arrays)
        matrix.weights = w
        errors[arrays] = np.abs(matrix.forward(z) - exact).max()
    hh_part = np.abs(z[:, 6:] @ w[:, 6:].T).max()
    assert errors["combined"] == pytest.approx(hh_part, rel=1e-6)  # exactly the W_hh term is missing
    assert errors["split"] < 0.01 * hh_part  # one DAC step of 0.006 at most: 1/63 of it
