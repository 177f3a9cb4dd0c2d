"""The character-level language model: stacked LSTM layers and a softmax layer on weight arrays.

Arrays from ``rpuarch.mapping.lstm_arrays`` (``network.bias`` and ``network.arrays``): with the
paper's mapping layer k is 4h x (n_k + h + 1) with n_0 = vocabulary (one-hot input) and n_k = h
above, and the softmax layer v x (h + 1). Each is an ``AnalogMatrix`` (one or more tiles, and the
digital bias when there is one). The loss of a window is the cross-entropy summed over its time
steps and averaged over the streams; the weight update of an array is the list of its (input,
output-gradient) pairs, one per step and stream in time order, which the tiles apply as pulsed
rank-1 updates (exact mode) or all at once (aggregated mode).

Weights go in and out (``get_weights``/``set_weights``) in the paper's layout whatever the
mapping: per layer one matrix with columns [x, h, 1] (the softmax [h, 1]), the last column the
bias. So every mapping starts from the same function of the same initial draw.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..device.activity import TileActivity
from ..mapping import ONE, ArraysMapping, BiasMapping, LogicalArray, NetworkMapping, lstm_arrays
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


def paper_columns(array: LogicalArray) -> tuple[np.ndarray, int | None]:
    """(for each column of the array its column in the paper's layout [x, h, 1], the paper column
    of a digital bias or None)."""
    sizes = dict(array.segments)
    if array.digital_bias:
        sizes[ONE] = 1
    start, paper = 0, {}
    for name in ("x", "h", ONE):
        if name in sizes:
            paper[name] = start
            start += sizes[name]
    index = np.concatenate([np.arange(paper[name], paper[name] + size) for name, size in array.segments])
    return index, paper[ONE] if array.digital_bias else None


def to_paper_layout(array: LogicalArray, analog: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """An array's (rows, cols) matrix and its digital bias (or None) as one matrix in the paper's layout."""
    index, bias_at = paper_columns(array)
    out = np.empty((array.rows, array.cols + (bias_at is not None)))
    out[:, index] = analog
    if bias_at is not None:
        out[:, bias_at] = bias
    return out


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
        bias: BiasMapping = "analog",
        arrays: ArraysMapping = "combined",
    ):
        self.vocab_size, self.hidden, self.dropout = vocab_size, hidden, dropout
        self.mapping = NetworkMapping.build(lstm_arrays(vocab_size, hidden, layers, bias, arrays), tile_rows, tile_cols)
        seeds = seed.spawn(len(self.mapping.arrays))
        self.arrays = [AnalogMatrix(m, make_tile, s) for m, s in zip(self.mapping.arrays, seeds)]
        self.layers = [
            LSTMLayer(array, vocab_size if k == 0 else hidden, hidden, m.array.offset("h"), m.array.offset(ONE))
            for k, (array, m) in enumerate(zip(self.arrays[:-1], self.mapping.arrays))
        ]
        self.softmax = self.arrays[-1]
        self._softmax_one = self.mapping.arrays[-1].array.offset(ONE) is not None
        self.dropout_rng = np.random.default_rng(dropout_seed if dropout_seed is not None else seed.spawn(1)[0])
        self.clipped_windows = 0  # training windows whose gradient clip() scaled down

    # ------------------------------------------------------------------ state and weights
    def initial_state(self, streams: int) -> State:
        zeros = [np.zeros((streams, self.hidden), DTYPE) for _ in self.layers]
        return State(h=[z.copy() for z in zeros], c=zeros)

    def paper_shapes(self) -> dict[str, tuple[int, int]]:
        """Shape of each layer's matrix in the paper's layout (the bias as the last column)."""
        return {m.array.name: (m.array.rows, m.array.cols + (m.array.digital_bias > 0)) for m in self.mapping.arrays}

    def get_weights(self) -> dict[str, np.ndarray]:
        """Every layer's weights and bias in the paper's layout, whatever the mapping."""
        return {a.name: to_paper_layout(a.mapping.array, a.weights, a.bias) for a in self.arrays}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Set every layer from the paper's layout (``get_weights``)."""
        for array in self.arrays:
            index, bias_at = paper_columns(array.mapping.array)
            w = weights[array.name]
            array.weights = w[:, index]
            if bias_at is not None:
                array.bias = np.array(w[:, bias_at])

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
        top = np.empty((steps * streams, self.hidden + self._softmax_one), DTYPE)
        top[:, : self.hidden] = x.reshape(steps * streams, self.hidden)
        if self._softmax_one:
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

    def gradients(self, ids: np.ndarray, targets: np.ndarray, state: State,
                  ready: Callable[[AnalogMatrix, np.ndarray, np.ndarray], None] | None = None,
                  ) -> tuple[float, Gradients, State]:
        """Training pass of a window: (summed cross-entropy in nats, update pairs, next state).

        ids, targets: (T, B). The pairs are the gradient of (summed loss) / B. ``ready(array, x,
        d)``, when given and the loss is finite, is called with each array's pairs as soon as the
        backward pass has read that array for the last time (the softmax layer first, then the
        LSTM layers from the top): from then on it may be updated.
        """
        steps, streams = ids.shape
        traces, masks, top, logits, new_state = self._forward(ids, state, train=True)
        flat_targets = targets.reshape(-1)
        loss, d_logits = self._softmax_loss(logits, flat_targets)
        d_logits[np.arange(d_logits.shape[0]), flat_targets] -= 1.0
        d_logits /= streams
        ready = ready if ready is not None and np.isfinite(loss) else lambda array, x, d: None
        pairs = {self.softmax.name: (top, d_logits)}
        dh = self.softmax.backward(d_logits)[:, : self.hidden].reshape(steps, streams, self.hidden)
        ready(self.softmax, top, d_logits)
        for k in range(len(self.layers) - 1, -1, -1):
            if masks[k] is not None:
                dh = dh * masks[k]
            da, dx = self.layers[k].backward(traces[k], dh, want_dx=k > 0)
            z = traces[k].z
            pairs[self.layers[k].array.name] = (z.reshape(steps * streams, -1), da.reshape(steps * streams, -1))
            ready(self.arrays[k], *pairs[self.arrays[k].name])
            dh = dx
        return loss, Gradients(pairs), new_state

    def dense_gradients(self, gradients: Gradients) -> dict[str, np.ndarray]:
        """The window's gradient of every layer in the paper's layout (bias last), whatever the mapping."""
        out = {}
        for array in self.arrays:
            x, d = gradients.pairs[array.name]
            out[array.name] = to_paper_layout(array.mapping.array, d.T @ x, None if array.bias is None else d.sum(axis=0))
        return out

    def apply(self, gradients: Gradients, lr: float) -> None:
        """SGD step on every array: the tiles' (pulsed) update with the window's pairs."""
        for array in self.arrays:
            x, d = gradients.pairs[array.name]
            array.update(x, d, lr)

    def clip(self, gradients: Gradients, clip_norm: float) -> bool:
        """Scale every output gradient d (in place) so that the L2 norm of the window's gradient over
        all weights and biases is at most ``clip_norm`` (torch's clip_grad_norm_); True if it did."""
        norm = float(np.sqrt(sum(np.sum(g * g) for g in self.dense_gradients(gradients).values())))
        if not norm > clip_norm:
            return False
        for _, d in gradients.pairs.values():
            d *= clip_norm / norm
        return True

    def train_window(self, ids: np.ndarray, targets: np.ndarray, state: State, lr: float,
                     clip_norm: float | None = None, pool: Executor | None = None) -> tuple[float, State]:
        """One SGD step on a window (its gradient clipped to ``clip_norm`` first, if given; counted
        in ``clipped_windows``): (summed loss, next state).

        With a thread ``pool`` (and no clipping, which needs the whole gradient first) each array
        is updated in the pool while the backward pass goes on below it: the same updates of the
        same arrays, so the same numbers."""
        if pool is None or clip_norm is not None:
            loss, gradients, new_state = self.gradients(ids, targets, state)
            if np.isfinite(loss):
                if clip_norm is not None and self.clip(gradients, clip_norm):
                    self.clipped_windows += 1
                self.apply(gradients, lr)
            return loss, new_state
        updates = []
        try:
            loss, _, new_state = self.gradients(
                ids, targets, state, ready=lambda array, x, d: updates.append(pool.submit(array.update, x, d, lr)))
        finally:
            for update in updates:  # every update done (or failed) before the buffers are reused
                update.result()
        return loss, new_state
