"""The LSTM's forward pass against a plain numpy reference, its backward pass against finite
differences, and the split of a logical array over tiles."""

from __future__ import annotations

import numpy as np
import pytest

from rpuarch.device.activity import TileActivity
from rpuarch.mapping import ArrayMapping, LogicalArray
from rpuarch.nn.analog_matrix import AnalogMatrix
from rpuarch.nn.model import CharLSTM


class ExactTile:
    """An exact float64 matrix with the tile interface (no clipping, no noise)."""

    def __init__(self, out_size: int, in_size: int, rng: np.random.Generator):
        self.weights = np.zeros((out_size, in_size))
        self.activity = TileActivity()

    def forward(self, x):
        return x @ self.weights.T

    def backward(self, d):
        return d @ self.weights

    def update(self, x, d, lr):
        self.weights -= lr * d.T @ x


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_loss(weights: dict, ids, targets, vocab, hidden, layers) -> float:
    """Textbook stacked LSTM, step by step, written independently of rpuarch.nn.lstm."""
    steps, streams = ids.shape
    h = [np.zeros((streams, hidden)) for _ in range(layers)]
    c = [np.zeros((streams, hidden)) for _ in range(layers)]
    total = 0.0
    for t in range(steps):
        x = np.eye(vocab)[ids[t]]
        for k in range(layers):
            z = np.concatenate([x, h[k], np.ones((streams, 1))], axis=1)
            a = z @ weights[f"lstm{k}"].T
            i, f, g, o = np.split(a, 4, axis=1)
            c[k] = sigmoid(f) * c[k] + sigmoid(i) * np.tanh(g)
            h[k] = sigmoid(o) * np.tanh(c[k])
            x = h[k]
        logits = np.concatenate([x, np.ones((streams, 1))], axis=1) @ weights["softmax"].T
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total -= logp[np.arange(streams), targets[t]].sum()
    return total


def small_model(layers=2, hidden=5, vocab=7, tile=(1000, 1000), seed=3):
    model = CharLSTM(vocab, hidden, layers, *tile, lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(seed))
    rng = np.random.default_rng(seed)
    model.set_weights({a.name: rng.uniform(-0.5, 0.5, a.shape) for a in model.arrays})
    return model


def window(vocab=7, steps=6, streams=3, seed=4):
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, (steps, streams)), rng.integers(0, vocab, (steps, streams))


def test_forward_matches_reference_implementation():
    model = small_model()
    ids, targets = window()
    loss, _ = model.loss(ids, targets, model.initial_state(3))
    assert loss == pytest.approx(reference_loss(model.get_weights(), ids, targets, 7, 5, 2), rel=1e-12)


def test_backward_matches_finite_differences():
    # Central differences in float64 with eps 1e-6 have truncation error ~eps^2 * f''' and
    # rounding error ~1e-16 * |loss| / eps ~ 1e-9: agreement to 1e-6 relative checks every entry.
    model = small_model()
    ids, targets = window()
    streams = ids.shape[1]
    _, grads, _ = model.gradients(ids, targets, model.initial_state(streams))
    weights = model.get_weights()
    eps = 1e-6
    for name, w in weights.items():
        analytic = grads.dense(name) * streams  # gradients are of the loss averaged over streams
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            for sign in (1, -1):
                probe = {k: v.copy() for k, v in weights.items()}
                probe[name][index] += sign * eps
                numeric[index] += sign * reference_loss(probe, ids, targets, 7, 5, 2) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_state_is_carried_between_windows():
    # Two windows of 3 steps with the carried state = one window of 6 steps.
    model = small_model()
    ids, targets = window()
    whole, _ = model.loss(ids, targets, model.initial_state(3))
    first, state = model.loss(ids[:3], targets[:3], model.initial_state(3))
    second, _ = model.loss(ids[3:], targets[3:], state)
    assert first + second == pytest.approx(whole, rel=1e-12)


def test_dropout_masks_outputs_and_gradient_matches_masked_network():
    model = CharLSTM(7, 5, 2, 1000, 1000, lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(3),
                     dropout=0.5, dropout_seed=np.random.SeedSequence(9))
    model.set_weights(small_model().get_weights())
    ids, targets = window()
    loss_a, grads_a, _ = model.gradients(ids, targets, model.initial_state(3))
    clean, _ = model.loss(ids, targets, model.initial_state(3))
    assert loss_a != pytest.approx(clean)  # some outputs were dropped
    # Same dropout seed, same masks: the pass is reproducible.
    model.dropout_rng = np.random.default_rng(np.random.SeedSequence(9))
    loss_b, grads_b, _ = model.gradients(ids, targets, model.initial_state(3))
    assert loss_a == loss_b
    np.testing.assert_array_equal(grads_a.dense("lstm0"), grads_b.dense("lstm0"))


def test_split_over_tiles_equals_one_tile():
    # On 8 x 4 tiles: lstm0 20 x 13 -> 3 x 4 blocks, lstm1 20 x 11 -> 3 x 3, softmax 7 x 6 -> 1 x 2.
    whole, split = small_model(), small_model(tile=(8, 4))
    assert [a.mapping.tiles for a in split.arrays] == [12, 9, 2]
    split.set_weights(whole.get_weights())
    ids, targets = window()
    la, ga, _ = whole.gradients(ids, targets, whole.initial_state(3))
    lb, gb, _ = split.gradients(ids, targets, split.initial_state(3))
    assert la == pytest.approx(lb, rel=1e-12)
    whole.apply(ga, 0.1)
    split.apply(gb, 0.1)
    for name, w in whole.get_weights().items():
        np.testing.assert_allclose(split.get_weights()[name], w, rtol=1e-12, atol=1e-14)


def test_each_block_sees_only_its_slice():
    array = LogicalArray("a", "dense", 5, 7)
    matrix = AnalogMatrix(ArrayMapping(array, 2, 3), lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(0))
    w = np.arange(35.0).reshape(5, 7)
    matrix.weights = w
    assert [t.weights.shape for t in matrix.tiles] == [b.shape for b in matrix.blocks]
    x = np.random.default_rng(0).standard_normal((4, 7))
    np.testing.assert_allclose(matrix.forward(x), x @ w.T)
    np.testing.assert_allclose(matrix.backward(x[:, :5]), x[:, :5] @ w)
