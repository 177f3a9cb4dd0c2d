"""The character-level language model: stacked LSTM layers and a softmax layer on weight arrays.

Arrays as in the paper (``rpuarch.mapping.lstm_arrays``): layer k is 4h x (n_k + h + 1) with
n_0 = vocabulary (one-hot input) and n_k = h above; the softmax layer is v x (h + 1). Each is an
``AnalogMatrix`` (one or more tiles). The loss of a window is the cross-entropy summed over its
time steps and averaged over the streams; the weight update of an array is the list of its
(input, output-gradient) pairs, one per step and stream in time order, which the tiles apply as
pulsed rank-1 updates (exact mode) or all at once (aggregated mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device.activity import TileActivity
from ..mapping import NetworkMapping, lstm_arrays
from .analog_matrix import AnalogMatrix, TileFactory
from .lstm import DTYPE, LSTMLayer


@dataclass
class State:
    """Hidden and cell state of every layer, (B, H) each, carried from window to window."""

    h: list[np.ndarray]
    c: list[np.ndarray]


@dataclass
class Gradients:
    """Per array: the (inputs, output gradients) pairs, (T*B, cols) and (T*B, rows), time-major.
    Their product d.T @ x is the gradient of the window loss with respect to the array."""

    pairs: dict[str, tuple[np.ndarray, np.ndarray]]

    def dense(self, name: str) -> np.ndarray:
        x, d = self.pairs[name]
        return d.T @ x


def init_scale(hidden: int, w_min: float, w_max: float) -> float:
    """Uniform init half-width: 1/sqrt(hidden) (torch, aihwkit), but within half the weight range
    so that tiny layers do not start at the bounds."""
    return min(1.0 / np.sqrt(hidden), 0.5 * min(w_max, -w_min))


class CharLSTM:
    def __init__(
        self,
        vocab_size: int,
        hidden: int,
        layers: int,
        tile_rows: int,
        tile_cols: int,
        make_tile: TileFactory,
        seed: np.random.SeedSequence,
        dropout: float = 0.0,
        dropout_seed: np.random.SeedSequence | None = None,
    ):
        self.vocab_size, self.hidden, self.dropout = vocab_size, hidden, dropout
        self.mapping = NetworkMapping.build(lstm_arrays(vocab_size, hidden, layers), tile_rows, tile_cols)
        seeds = seed.spawn(len(self.mapping.arrays))
        self.arrays = [AnalogMatrix(m, make_tile, s) for m, s in zip(self.mapping.arrays, seeds)]
        self.layers = [
            LSTMLayer(array, vocab_size if k == 0 else hidden, hidden) for k, array in enumerate(self.arrays[:-1])
        ]
        self.softmax = self.arrays[-1]
        self.dropout_rng = np.random.default_rng(dropout_seed if dropout_seed is not None else seed.spawn(1)[0])

    # ------------------------------------------------------------------ state and weights
    def initial_state(self, streams: int) -> State:
        zeros = [np.zeros((streams, self.hidden), DTYPE) for _ in self.layers]
        return State(h=[z.copy() for z in zeros], c=zeros)

    def get_weights(self) -> dict[str, np.ndarray]:
        return {a.name: a.weights for a in self.arrays}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        for array in self.arrays:
            array.weights = weights[array.name]

    def activity(self) -> dict[str, TileActivity]:
        return {a.name: a.activity for a in self.arrays}

    # ------------------------------------------------------------------ passes
    def _forward(self, ids: np.ndarray, state: State, train: bool):
        steps, streams = ids.shape
        traces, masks = [], []
        x = None
        for k, layer in enumerate(self.layers):
            trace = layer.forward(x, state.h[k], state.c[k], one_hot=ids if k == 0 else None)
            traces.append(trace)
            x = trace.h[1:]
            if train and self.dropout > 0:
                keep = 1.0 - self.dropout
                mask = (self.dropout_rng.random(x.shape) < keep) / keep
                masks.append(mask)
                x = x * mask
            else:
                masks.append(None)
        top = np.empty((steps * streams, self.hidden + 1), DTYPE)
        top[:, :-1] = x.reshape(steps * streams, self.hidden)
        top[:, -1] = 1.0
        logits = self.softmax.forward(top)
        new_state = State(h=[t.h[-1].copy() for t in traces], c=[t.c[-1].copy() for t in traces])
        return traces, masks, top, logits, new_state

    @staticmethod
    def _softmax_loss(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        """(summed cross-entropy of the rows, their unnormalised exponentials / row sums).

        Returns the probabilities in the buffer of the exponentials: one exp over the logits."""
        rows = np.arange(logits.shape[0])
        shifted = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted)
        sums = probabilities.sum(axis=1)
        loss = float((np.log(sums) - shifted[rows, targets]).sum())
        probabilities /= sums[:, None]
        return loss, probabilities

    def loss(self, ids: np.ndarray, targets: np.ndarray, state: State) -> tuple[float, State]:
        """Evaluation: summed cross-entropy (nats) of the window's T*B predictions, no dropout."""
        _, _, _, logits, new_state = self._forward(ids, state, train=False)
        loss, _ = self._softmax_loss(logits, targets.reshape(-1))
        return loss, new_state

    def gradients(self, ids: np.ndarray, targets: np.ndarray, state: State) -> tuple[float, Gradients, State]:
        """Training pass of a window: (summed cross-entropy in nats, update pairs, next state).

        ids, targets: (T, B). The pairs are the gradient of (summed loss) / B.
        """
        steps, streams = ids.shape
        traces, masks, top, logits, new_state = self._forward(ids, state, train=True)
        flat_targets = targets.reshape(-1)
        loss, d_logits = self._softmax_loss(logits, flat_targets)
        d_logits[np.arange(d_logits.shape[0]), flat_targets] -= 1.0
        d_logits /= streams
        pairs = {self.softmax.name: (top, d_logits)}
        dh = self.softmax.backward(d_logits)[:, :-1].reshape(steps, streams, self.hidden)
        for k in range(len(self.layers) - 1, -1, -1):
            if masks[k] is not None:
                dh = dh * masks[k]
            da, dx = self.layers[k].backward(traces[k], dh, want_dx=k > 0)
            z = traces[k].z
            pairs[self.layers[k].array.name] = (z.reshape(steps * streams, -1), da.reshape(steps * streams, -1))
            dh = dx
        return loss, Gradients(pairs), new_state

    def apply(self, gradients: Gradients, lr: float) -> None:
        """SGD step on every array: the tiles' (pulsed) update with the window's pairs."""
        for array in self.arrays:
            x, d = gradients.pairs[array.name]
            array.update(x, d, lr)

    def train_window(self, ids: np.ndarray, targets: np.ndarray, state: State, lr: float) -> tuple[float, State]:
        loss, gradients, new_state = self.gradients(ids, targets, state)
        if np.isfinite(loss):
            self.apply(gradients, lr)
        return loss, new_state
