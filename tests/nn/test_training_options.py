"""training.state (carry | reset) and training.clip_norm."""

from __future__ import annotations

import numpy as np
import pytest

from rpuarch.config import load_workload
from rpuarch.nn.data import eval_batches, eval_windows
from rpuarch.nn.model import CharLSTM
from rpuarch.nn.train import build_networks, evaluate, load_data, train

from test_lstm_gradients import ExactTile, small_model, window
from test_train_loop import write_workload


def test_reset_evaluates_every_window_from_zero_state(tmp_path):
    """With reset the held-out loss is the mean over windows of each window's loss from zero
    state; with carry the state of a stream goes on, which gives another (lower) number."""
    loaded = load_workload(write_workload(tmp_path), ["training.state=reset"])
    w = loaded.workload
    data = load_data(w)
    model = build_networks(w, data.vocab.size)["fp"]
    batches = eval_batches(data.splits["test"], w.training.eval_streams, w.training.seq_length, w.training.eval_chars)
    total = count = 0
    for x, y in eval_windows(batches):
        loss, _ = model.loss(x, y, model.initial_state(batches.streams))
        total, count = total + loss, count + x.size
    assert evaluate(model, data.splits["test"], w) == pytest.approx(total / count, rel=1e-12)
    carried = evaluate(model, data.splits["test"], w.model_copy(update={"training": w.training.model_copy(update={"state": "carry"})}))
    assert carried != pytest.approx(total / count, rel=1e-6)


def test_reset_trains_every_window_from_zero_state(tmp_path):
    """One epoch with reset = train_window on each window from zero state, by hand."""
    path = write_workload(tmp_path)
    result = train(load_workload(path, ["training.state=reset", "training.epochs=1"]), progress=False)
    w = load_workload(path, ["training.state=reset"]).workload
    data = load_data(w)
    model = build_networks(w, data.vocab.size)["fp"]
    from rpuarch.nn.data import check_trainable

    batches = check_trainable(data, w.training.streams, w.training.seq_length)
    total = 0.0
    for k in range(batches.windows):
        loss, _ = model.train_window(*batches.window(k), model.initial_state(batches.streams), w.training.lr)
        total += loss
    fp = result["accuracy"]["fp"]
    assert fp["train_loss"] == pytest.approx(total / (batches.windows * batches.chars_per_window), rel=1e-12)
    assert fp["test_loss"] == pytest.approx(evaluate(model, data.splits["test"], w), rel=1e-12)
    assert result["training"]["state"] == "reset"


def test_clip_scales_every_output_gradient_to_the_norm():
    """The norm is that of the window's gradient over every weight and bias (the paper's layout);
    clipping to half of it halves every d, so the gradient keeps its direction."""
    model = small_model()
    ids, targets = window()
    _, g, _ = model.gradients(ids, targets, model.initial_state(3))
    before = model.dense_gradients(g)
    norm = np.sqrt(sum(np.sum(v * v) for v in before.values()))
    assert not model.clip(g, 2 * norm)  # below the threshold: untouched
    np.testing.assert_array_equal(model.dense_gradients(g)["softmax"], before["softmax"])
    assert model.clip(g, norm / 2)
    for name, v in model.dense_gradients(g).items():
        np.testing.assert_allclose(v, before[name] / 2, rtol=1e-12, atol=1e-15)


def test_clip_counts_the_digital_bias_in_the_norm():
    """The same network with digital biases has the same gradient norm, biases included."""
    digital = CharLSTM(7, 5, 2, 1000, 1000, lambda o, i, rng: ExactTile(o, i, rng), np.random.SeedSequence(3), bias="digital")
    reference = small_model()
    digital.set_weights(reference.get_weights())
    ids, targets = window()
    _, g_ref, _ = reference.gradients(ids, targets, reference.initial_state(3))
    _, g_dig, _ = digital.gradients(ids, targets, digital.initial_state(3))
    norm = np.sqrt(sum(np.sum(v * v) for v in reference.dense_gradients(g_ref).values()))
    assert digital.clip(g_dig, norm * 0.999) and not digital.clip(g_dig, norm * 1.001)


def test_clip_norm_in_a_training_run(tmp_path):
    """A tiny clip_norm clips every window of both networks (counted in train.json)."""
    result = train(load_workload(write_workload(tmp_path), ["training.clip_norm=0.001", "training.epochs=1"]), progress=False)
    windows = result["training"]["windows_per_epoch"]
    assert result["training"]["clipped_windows"] == {"rpu": windows, "fp": windows}
    assert result["training"]["clip_norm"] == 0.001
