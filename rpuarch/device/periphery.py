"""The periphery of one analog matrix-vector product: DAC, analog array, ADC and their management.

As aihwkit 1.2 (``ForwardBackwardPassIOManaged``, ``rpu_forward_backward_pass.cpp``), for each input
vector x (a row of the batch) and the IOConfig of the direction, in passes f = 1, 2, 4, ...:

1. input scale: s = (inp_bound / max_j |x_j|) / f with noise management ``abs_max`` (an all-zero
   x gives exactly 0), s = 1 / f without it; computed in float32 as aihwkit does.
2. DAC (float32, as aihwkit): v = x s, quantised to the step ``inp_res * 2 * inp_bound`` by
   rint(v / step) (to nearest, ties to even; or with ``inp_sto_round`` stochastically: up with
   the probability of the remainder), clipped to [-inp_bound, inp_bound], plus N(0, inp_noise
   inp_bound). ``inp_res = 1/(2**b - 2)`` thus gives 2**b - 1 levels (aihwkit's convention).
3. analog product y = W x_q (float64), plus weight noise (output referred: w_noise * ||x_q||_2 *
   N(0,1), exactly the distribution of an independent N(0, w_noise) on every weight of the read)
   and output noise N(0, out_noise).
4. ADC: quantise to the step ``out_res * 2 * out_bound`` (rint, ties to even); an output whose
   quantised value lies beyond +-out_bound saturated; clip to [-out_bound, out_bound].
5. bound management (``iterative``, forward only): when an output of the vector saturated, the
   next pass doubles f, unless f already exceeds ``max_bm_factor`` or ``max_bm_res`` / DAC step
   (aihwkit's stop rule: ``IOConfig.max_bm_repeats`` extra passes at most, each counted).
6. the digital result is y_q / s, in units of W x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import IOConfig

F32 = np.float32


@dataclass
class PassStats:
    """What one batched analog pass cost: for the activity counters."""

    vectors: int = 0
    repeats: int = 0  # extra analog passes caused by bound management
    outputs: int = 0  # ADC samples read, repeats included
    saturated: int = 0  # outputs still at the bound after bound management


def noise_scale(x: np.ndarray, io: IOConfig) -> np.ndarray:
    """Per row of x, the float32 input scale of the first pass: inp_bound / max|x| with noise
    management (0 for an all-zero row), else 1."""
    if io.noise_management != "abs_max":
        return np.ones(x.shape[0], dtype=F32)
    alpha = np.max(np.abs(x.astype(F32)), axis=1)
    return np.divide(F32(io.inp_bound), alpha, out=np.zeros_like(alpha), where=alpha > 0)


def dac(x: np.ndarray, scale: np.ndarray, io: IOConfig, rng: np.random.Generator) -> np.ndarray:
    """Digital-to-analog conversion of the rows of x times their float32 ``scale`` (step 2 of
    the module doc); float64 out."""
    value = x.astype(F32) * scale[:, None]
    step = io.dac_step
    if step > 0:
        ratio = value / step
        if io.inp_sto_round:
            value = F32(np.floor(ratio + rng.random(value.shape))) * step
        else:
            value = np.rint(ratio) * step
    bound = F32(io.inp_bound)
    xq = np.clip(value, -bound, bound).astype(np.float64)
    if io.inp_noise > 0:
        xq += io.inp_noise * io.inp_bound * rng.standard_normal(xq.shape)
    return xq


def adc(y: np.ndarray, io: IOConfig) -> tuple[np.ndarray, np.ndarray]:
    """Analog-to-digital conversion: (quantised and clipped outputs, saturated mask)."""
    step = io.out_res * 2.0 * io.out_bound
    yq = np.rint(y / step) * step if step > 0 else y.copy()
    saturated = np.abs(yq) > io.out_bound
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

    first = noise_scale(x, io)
    scale = first.copy()
    yq, saturated = adc(analog_product(weights, dac(x, scale, io, rng), io, rng), io)
    stats = PassStats(batch, 0, batch * out_size, 0)

    managing = bound_management and io.bound_management == "iterative"
    repeats_left = io.max_bm_repeats if managing else 0
    reduction = F32(1.0)
    redo = np.flatnonzero(saturated.any(axis=1) & (scale > 0)) if managing else np.empty(0, int)
    while redo.size and repeats_left > 0:
        repeats_left -= 1
        reduction *= F32(2.0)  # every vector still saturated has had the same number of passes
        scale[redo] = first[redo] / reduction
        xq = dac(x[redo], scale[redo], io, rng)
        yq[redo], saturated[redo] = adc(analog_product(weights, xq, io, rng), io)
        stats.repeats += redo.size
        stats.outputs += redo.size * out_size
        redo = redo[saturated[redo].any(axis=1)]
    stats.saturated = int(np.count_nonzero(saturated))

    # Undo the input scaling; an all-zero input vector gives exactly zero (nothing was driven).
    scale64 = scale.astype(np.float64)
    inv = np.divide(1.0, scale64, out=np.zeros_like(scale64), where=scale64 > 0)
    return yq * inv[:, None], stats
