"""Why a 5-bit ADC breaks LSTM2-64WP's training (the ADC study): the softmax array's backward
outputs, the error signals of the LSTM layers, are far below the ADC's step and all round to zero."""

import numpy as np
import pytest

from rpuarch.config.loader import load_workload
from rpuarch.nn.train import build_networks


def _softmax_gradient(rng: np.random.Generator, streams: int, vocab: int) -> np.ndarray:
    logits = rng.normal(size=(streams, vocab))
    d = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    d[np.arange(streams), rng.integers(0, vocab, streams)] -= 1.0
    return d


@pytest.mark.parametrize("bits, nonzero_at_least, nonzero_at_most", [(5, 0.0, 0.0), (9, 0.5, 1.0)])
def test_backward_outputs_of_the_fresh_softmax_array_round_to_zero_at_5_bits_only(bits, nonzero_at_least,
                                                                                 nonzero_at_most):
    workload = load_workload("paper/lstm2-64wp", [f"io.forward.out_bits={bits}", f"io.backward.out_bits={bits}"]).workload
    softmax = build_networks(workload, 81)["rpu"].softmax
    d = _softmax_gradient(np.random.default_rng(0), 32, 81)
    out = softmax.backward(d)
    # The step is 2 * out_bound / (2**bits - 2): 0.8 at 5 bits; the exact outputs stay below half of it.
    assert np.abs(d @ softmax.weights).max() < 0.4
    assert nonzero_at_least <= np.mean(out != 0) <= nonzero_at_most
