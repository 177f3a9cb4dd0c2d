"""The periphery of one analog matrix-vector product: DAC, analog array, ADC and their management.

For each input vector x (a row of the batch) and the IOConfig of the direction:

1. noise management (``abs_max``): alpha = max_j |x_j|; the array sees x * s with
   s = inp_bound / alpha, so the largest input uses the full DAC range (zero vectors give 0).
2. DAC: quantise to steps of ``inp_res * 2 * inp_bound`` (to nearest, or stochastically with
   ``inp_sto_round``), clip to [-inp_bound, inp_bound], add N(0, inp_noise * inp_bound).
   ``inp_res = 1/(2**b - 2)`` thus gives 2**b - 1 levels (aihwkit's convention).
3. analog product y = W x_q, plus weight noise (output referred: w_noise * ||x_q||_2 * N(0,1),
   which is exactly the distribution of an independent N(0, w_noise) on every weight of the read)
   and output noise N(0, out_noise).
4. ADC: an output beyond +-out_bound saturates the integrator; quantise to steps of
   ``out_res * 2 * out_bound`` and clip to [-out_bound, out_bound].
5. bound management (``iterative``, forward only): while any output of a vector saturated and
   fewer than ``max_bm_repeats`` repeats were made, halve s and repeat the analog pass for that
   vector (each repeat is one more analog cycle and counted).
6. the digital result is y_q / s, in units of W x.

dtype: float64 in and out (the products are small; precision is not where the time goes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import IOConfig


@dataclass
class PassStats:
    """What one batched analog pass cost: for the activity counters."""

    vectors: int = 0
    repeats: int = 0  # extra analog passes caused by bound management
    outputs: int = 0  # ADC samples read, repeats included
    saturated: int = 0  # outputs still at the bound after bound management


def quantise(values: np.ndarray, step: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Round to a multiple of ``step``: to nearest, or (given ``rng``) stochastically, up with
    the probability of the remainder so that the mean is preserved. ``step <= 0``: unchanged."""
    if step <= 0:
        return values.copy()
    scaled = values * (1.0 / step)  # as the numba kernel computes it, to the last bit
    if rng is not None:
        return np.floor(scaled + rng.random(values.shape)) * step
    return np.floor(scaled + 0.5) * step  # ties round up


def dac(x: np.ndarray, io: IOConfig, rng: np.random.Generator) -> np.ndarray:
    """Digital-to-analog conversion of already scaled inputs (steps 2 of the module doc)."""
    xq = quantise(x, io.inp_res * 2.0 * io.inp_bound, rng if io.inp_sto_round else None)
    np.clip(xq, -io.inp_bound, io.inp_bound, out=xq)
    if io.inp_noise > 0:
        xq += io.inp_noise * io.inp_bound * rng.standard_normal(xq.shape)
    return xq


def adc(y: np.ndarray, io: IOConfig) -> tuple[np.ndarray, np.ndarray]:
    """Analog-to-digital conversion: (quantised and clipped outputs, saturated mask)."""
    saturated = np.abs(y) > io.out_bound
    yq = quantise(y, io.out_res * 2.0 * io.out_bound)
    np.clip(yq, -io.out_bound, io.out_bound, out=yq)
    return yq, saturated


def analog_product(weights: np.ndarray, xq: np.ndarray, io: IOConfig, rng: np.random.Generator) -> np.ndarray:
    """y = xq @ weights.T with weight noise and output noise (step 3)."""
    y = xq @ weights.T
    if io.w_noise > 0:
        norms = np.sqrt(np.einsum("bi,bi->b", xq, xq))
        y += (io.w_noise * norms)[:, None] * rng.standard_normal(y.shape)
    if io.out_noise > 0:
        y += io.out_noise * rng.standard_normal(y.shape)
    return y


def matvec(
    weights: np.ndarray,
    x: np.ndarray,
    io: IOConfig,
    rng: np.random.Generator,
    bound_management: bool,
) -> tuple[np.ndarray, PassStats]:
    """The managed analog product x @ weights.T for a batch x of shape (batch, in)."""
    batch = x.shape[0]
    out_size = weights.shape[0]
    if io.is_perfect:
        return x @ weights.T, PassStats(batch, 0, batch * out_size, 0)

    if io.noise_management == "abs_max":
        alpha = np.max(np.abs(x), axis=1)
        scale = np.divide(io.inp_bound, alpha, out=np.zeros_like(alpha), where=alpha > 0)
    else:
        scale = np.ones(batch)
    xq = dac(x * scale[:, None], io, rng)
    yq, saturated = adc(analog_product(weights, xq, io, rng), io)
    stats = PassStats(batch, 0, batch * out_size, 0)

    managing = bound_management and io.bound_management == "iterative"
    repeats_left = io.max_bm_repeats if managing else 0
    redo = np.flatnonzero(saturated.any(axis=1) & (scale > 0)) if managing else np.empty(0, int)
    while redo.size and repeats_left > 0:
        repeats_left -= 1
        scale[redo] *= 0.5
        xq = dac(x[redo] * scale[redo, None], io, rng)
        yq[redo], saturated[redo] = adc(analog_product(weights, xq, io, rng), io)
        stats.repeats += redo.size
        stats.outputs += redo.size * out_size
        redo = redo[saturated[redo].any(axis=1)]
    stats.saturated = int(np.count_nonzero(saturated))

    # Undo the input scaling; an all-zero input vector gives exactly zero (nothing was driven).
    inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    return yq * inv[:, None], stats
