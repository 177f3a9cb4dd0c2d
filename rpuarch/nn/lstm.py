"""One LSTM layer over a window of time steps: forward and back-propagation through time.

The pre-activations of the four gates, stacked in the order input, forget, cell, output, are
``W @ z_t`` (+ a digital bias) with z_t = [x_t, h_{t-1}, 1] in the paper's layout (Gokmen, Rasch &
Haensch 2018; other layouts of ``rpuarch.mapping``: h_{t-1} at column ``h_at``, the constant 1 of
an analog bias at ``one_at`` or none). The array is anything with ``forward(z) -> z @ W.T`` and
``backward(d) -> d @ W`` (an analog matrix, split over tiles or not); the layer never sees the
weights, so the same code trains analog tiles and their floating-point twin.

    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g;         h_t = o * tanh(c_t)

The time loop calls the array once per step (the recurrence needs h_{t-1}); the element-wise
cell work of a step is two vectorised tanh calls around one small numba kernel, written into
preallocated buffers, so a step costs a few small calls besides the array's own. Buffers are float64 like the tile numerics (at these sizes the time is per-call
overhead, not arithmetic, so float32 would buy nothing and cost conversions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numba
import numpy as np

DTYPE = np.float64


class ArrayLike(Protocol):
    """A weight array seen through matrix-vector products: what a layer needs of a tile."""

    def forward(self, x: np.ndarray) -> np.ndarray: ...

    def backward(self, d: np.ndarray) -> np.ndarray: ...


def gate_scale(hidden: int) -> np.ndarray:
    """Pre-scale of the pre-activations so that one tanh serves all gates:
    sigmoid(a) = (1 + tanh(a / 2)) / 2 for i, f, o; tanh(a) for g."""
    return np.repeat(np.array([0.5, 0.5, 1.0, 0.5], DTYPE), hidden)


def cell_forward(a, c_prev, act, c_out, tanh_c, h_out, scale, z_next=None, h_at=0) -> None:
    """Gate activations, new cell and hidden state of one step for every stream.

    a: (B, 4H) pre-activations; writes act (B, 4H) = [i, f, g, o], c_out, tanh_c, h_out (B, H),
    and h_out into columns [h_at, h_at + H) of ``z_next`` (the next step's array input) if given.
    The nonlinearities are vectorised numpy tanh calls (SIMD: at B = 32 a third faster than
    scalar libm calls in a compiled loop, no slower at B = 1); the algebra around them is
    compiled (few calls a step: each costs a microsecond, and with two networks on two threads
    a hand-over of the interpreter lock).
    """
    np.multiply(a, scale, out=act)
    np.tanh(act, out=act)
    _gates_and_cell(act, c_prev, c_out)
    np.tanh(c_out, out=tanh_c)
    _hidden(act, tanh_c, h_out, z_next, h_at)


@numba.njit(cache=True, nogil=True)
def _gates_and_cell(act, c_prev, c_out):  # pragma: no cover - compiled
    """act holds tanh(a/2) for i, f, o (made sigmoids here) and tanh(a) for g; c = f c_prev + i g."""
    batch, hidden = c_prev.shape
    for b in range(batch):
        for j in range(hidden):
            i = 0.5 + 0.5 * act[b, j]
            f = 0.5 + 0.5 * act[b, hidden + j]
            act[b, j] = i
            act[b, hidden + j] = f
            act[b, 3 * hidden + j] = 0.5 + 0.5 * act[b, 3 * hidden + j]
            c_out[b, j] = f * c_prev[b, j] + i * act[b, 2 * hidden + j]


@numba.njit(cache=True, nogil=True)
def _hidden(act, tanh_c, h_out, z_next, h_at):  # pragma: no cover - compiled
    """h = o tanh(c) into h_out, and into z_next[:, h_at:h_at + H] unless z_next is None."""
    batch, hidden = h_out.shape
    for b in range(batch):
        for j in range(hidden):
            h = act[b, 3 * hidden + j] * tanh_c[b, j]
            h_out[b, j] = h
            if z_next is not None:
                z_next[b, h_at + j] = h


@numba.njit(cache=True, nogil=True)
def cell_backward(dh_out, dz_next, h_at, dc, act, c_prev, tanh_c, da):  # pragma: no cover - compiled
    """Back-propagate one step: the loss gradient dh_out (B, H) on h_t plus the gradient from
    step t + 1, columns [h_at, h_at + H) of its array input gradient dz_next; dc (B, H) into c_t
    from step t + 1.

    Writes da (B, 4H), the gradient of the pre-activations, and overwrites dc with the gradient
    into c_{t-1}.
    """
    batch, hidden = dh_out.shape
    for b in range(batch):
        for j in range(hidden):
            i = act[b, j]
            f = act[b, hidden + j]
            g = act[b, 2 * hidden + j]
            o = act[b, 3 * hidden + j]
            tc = tanh_c[b, j]
            dh = dh_out[b, j] + dz_next[b, h_at + j]
            dct = dc[b, j] + dh * o * (1.0 - tc * tc)
            da[b, j] = dct * g * i * (1.0 - i)
            da[b, hidden + j] = dct * c_prev[b, j] * f * (1.0 - f)
            da[b, 2 * hidden + j] = dct * i * (1.0 - g * g)
            da[b, 3 * hidden + j] = dh * tc * o * (1.0 - o)
            dc[b, j] = dct * f


@dataclass
class LayerTrace:
    """What the forward pass of a window keeps for the backward pass (time-major)."""

    z: np.ndarray  # (T, B, columns) array inputs, e.g. [x_t, h_{t-1}, 1]
    act: np.ndarray  # (T, B, 4H) gate activations
    c: np.ndarray  # (T + 1, B, H) cell states, c[0] the carried-in state
    tanh_c: np.ndarray  # (T, B, H)
    h: np.ndarray  # (T + 1, B, H) hidden states, h[0] the carried-in state


class LSTMLayer:
    """Forward/backward of one layer over windows; buffers are reused between windows."""

    def __init__(self, array: ArrayLike, inputs: int, hidden: int, h_at: int | None = None,
                 one_at: int | Literal["last"] | None = "last"):
        """Inputs x_t at columns [0, inputs) of z; h_{t-1} at [h_at, h_at + hidden) (default right
        after x); the constant 1 at column ``one_at`` (default: the last, after h; None: no bias
        column, e.g. a digital bias)."""
        self.array = array
        self.inputs = inputs
        self.hidden = hidden
        self.h_at = inputs if h_at is None else h_at
        self.one_at = inputs + hidden if one_at == "last" else one_at
        self.columns = inputs + hidden + (self.one_at is not None)
        self._scale = gate_scale(hidden)
        self._traces: dict[tuple[int, int], LayerTrace] = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_traces": {}}  # buffers are scratch space: not in checkpoints

    def _trace(self, steps: int, batch: int) -> LayerTrace:
        key = (steps, batch)
        trace = self._traces.get(key)
        if trace is None:
            h = self.hidden
            z = np.zeros((steps, batch, self.columns), DTYPE)
            if self.one_at is not None:
                z[:, :, self.one_at] = 1.0
            trace = LayerTrace(
                z=z,
                act=np.empty((steps, batch, 4 * h), DTYPE),
                c=np.empty((steps + 1, batch, h), DTYPE),
                tanh_c=np.empty((steps, batch, h), DTYPE),
                h=np.empty((steps + 1, batch, h), DTYPE),
            )
            self._traces[key] = trace
        return trace

    def forward(
        self, x: np.ndarray | None, h0: np.ndarray, c0: np.ndarray, one_hot: np.ndarray | None = None
    ) -> LayerTrace:
        """Run the window. Inputs are either dense ``x`` (T, B, n) or ids ``one_hot`` (T, B)."""
        steps, batch = (one_hot.shape if one_hot is not None else x.shape[:2])
        n, hidden = self.inputs, self.hidden
        trace = self._trace(steps, batch)
        z = trace.z
        if one_hot is not None:
            z[:, :, :n] = 0.0
            t_idx, b_idx = np.indices(one_hot.shape)
            z[t_idx, b_idx, one_hot] = 1.0
        else:
            z[:, :, :n] = x
        trace.h[0] = h0
        trace.c[0] = c0
        forward, scale, h_at = self.array.forward, self._scale, self.h_at
        z[0, :, h_at : h_at + hidden] = h0
        for t in range(steps):
            z_next = z[t + 1] if t + 1 < steps else None  # takes h_t
            cell_forward(forward(z[t]), trace.c[t], trace.act[t], trace.c[t + 1], trace.tanh_c[t], trace.h[t + 1], scale,
                         z_next, h_at)
        return trace

    def backward(self, trace: LayerTrace, dh_out: np.ndarray, want_dx: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """BPTT over the window from ``dh_out`` (T, B, H), the loss gradient on every h_t.

        Returns (da, dx): da (T, B, 4H) the gradients of the array outputs, whose pairs with
        ``trace.z`` form the weight update; dx (T, B, n) the gradient into the layer's inputs.
        The gradient into the carried-in state is dropped (truncated BPTT).
        """
        steps, batch, hidden = dh_out.shape
        n = self.inputs
        da = np.empty((steps, batch, 4 * hidden), DTYPE)
        dx = np.empty((steps, batch, n), DTYPE) if want_dx else None
        dc = np.zeros((batch, hidden), DTYPE)
        dz = np.zeros((batch, self.columns), DTYPE)  # the input gradient of step t + 1 (none after the last)
        backward, h_at = self.array.backward, self.h_at
        for t in range(steps - 1, -1, -1):
            cell_backward(dh_out[t], dz, h_at, dc, trace.act[t], trace.c[t], trace.tanh_c[t], da[t])
            if t == 0 and not want_dx:
                break  # nothing flows further back
            dz = backward(da[t])
            if dx is not None:
                dx[t] = dz[:, :n]
        return da, dx
