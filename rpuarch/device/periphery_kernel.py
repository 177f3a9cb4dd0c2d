"""numba kernel of the managed analog product (the fast path of periphery.matvec, same steps).

One call does noise management, the DAC, the product (one BLAS matrix product for the batch,
a vector product per bound-management repeat), weight and output noise, the ADC and the
bound-management loop; numpy needs ~25 small array operations for the same, which at batch 1
cost more than the product itself.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..config import IOConfig
from .fastrandom import load, normal, seed_state, store, uniform
from .periphery import PassStats


@njit(cache=True)
def _input_scale(x, inp_bound, abs_max):
    """Noise management: float32 inp_bound / max|x| (0 for an all-zero x), or 1 without it."""
    if not abs_max:
        return np.float32(1.0)
    alpha = np.float32(0.0)
    for j in range(x.size):
        alpha = max(alpha, abs(np.float32(x[j])))
    return np.float32(inp_bound) / alpha if alpha > 0.0 else np.float32(0.0)


@njit(cache=True)
def _dac(x, scale, bound, step, stochastic, noise, rs, out):
    """out = DAC(x * scale) in float32 as aihwkit: rint(x s / step) * step (or stochastic
    rounding), clipped, then input noise; returns the random state ``rs`` after the draws.

    The random draws, when there are any, come first (a scalar loop; the ziggurat branches); the
    arithmetic is then one branch-free loop that the compiler turns into SIMD instructions."""
    n = x.size
    bound = np.float32(bound)
    step = np.float32(step)
    if step > 0.0 and stochastic:
        for j in range(n):
            out[j], rs = uniform(rs)
        for j in range(n):
            ratio = np.float32(x[j]) * scale / step
            out[j] = min(max(np.float32(math.floor(ratio + out[j])) * step, -bound), bound)
    elif step > 0.0:
        for j in range(n):
            out[j] = min(max(np.rint(np.float32(x[j]) * scale / step) * step, -bound), bound)
    else:
        for j in range(n):
            out[j] = min(max(np.float32(x[j]) * scale, -bound), bound)
    if noise > 0.0:
        for j in range(n):
            e, rs = normal(rs)
            out[j] += noise * bound * e
    return rs


@njit(cache=True)
def _adc(y, xq, w_noise, out_noise, bound, step, rs, noise):
    """y = ADC(y + noise) in place; returns (the number of outputs whose quantised value lies
    beyond the bound, the random state ``rs`` after the draws).

    ``noise`` is scratch space of y's size: the draws are made there first (scalar loop), then
    noise addition, quantisation, saturation count and clipping are one SIMD loop."""
    n = y.size
    w_scale = 0.0
    if w_noise > 0.0:  # weight noise, output referred: std w_noise * ||xq||_2
        w_scale = w_noise * math.sqrt(np.sum(xq * xq))
    if w_scale > 0.0:  # rare: both noises, drawn in turn
        for i in range(n):
            z, rs = normal(rs)
            noise[i] = w_scale * z
            if out_noise > 0.0:
                z, rs = normal(rs)
                noise[i] += out_noise * z
    elif out_noise > 0.0:
        for i in range(n):
            z, rs = normal(rs)
            noise[i] = out_noise * z
    else:
        noise[:n] = 0.0
    saturated = 0
    if step > 0.0:
        for i in range(n):
            v = np.rint((y[i] + noise[i]) / step) * step
            saturated += abs(v) > bound
            y[i] = min(max(v, -bound), bound)
    else:
        for i in range(n):
            v = y[i] + noise[i]
            saturated += abs(v) > bound
            y[i] = min(max(v, -bound), bound)
    return saturated, rs


# Layout of the packed periphery parameters (one float64 array: one numba argument, not eleven).
INP_BOUND, INP_STEP, INP_STO, INP_NOISE, OUT_BOUND, OUT_STEP, OUT_NOISE, W_NOISE, ABS_MAX, MAX_REPEATS = range(10)


def pack(io: IOConfig, bound_management: bool) -> np.ndarray:
    """The scalars of an IOConfig the kernel needs, in the order above."""
    repeats = io.max_bm_repeats if bound_management and io.bound_management == "iterative" else 0
    return np.array([
        io.inp_bound, float(io.dac_step), float(io.inp_sto_round), io.inp_noise,
        io.out_bound, io.out_res * 2.0 * io.out_bound, io.out_noise, io.w_noise,
        float(io.noise_management == "abs_max"), float(repeats),
    ])


@njit(cache=True, nogil=True)
def managed_matvec(m, x, p, state, stats):
    """y = managed(x @ m) for a batch x (B, n_in), m (n_in, n_out) and packed parameters p.
    Adds the bound-management repeats to stats[0] and the saturated outputs to stats[1].

    The product is in m's dtype: float64, or float32 for the ``numba-f32`` backend (the DAC's
    levels are float32 numbers already; the ADC and everything after it stay float64)."""
    inp_bound, inp_step, inp_sto, inp_noise = p[INP_BOUND], p[INP_STEP], p[INP_STO] > 0.0, p[INP_NOISE]
    out_bound, out_step, out_noise, w_noise = p[OUT_BOUND], p[OUT_STEP], p[OUT_NOISE], p[W_NOISE]
    abs_max, max_repeats = p[ABS_MAX] > 0.0, int(p[MAX_REPEATS])
    batch, n_in = x.shape
    n_out = m.shape[1]
    rs = load(state)
    first = np.empty(batch, dtype=np.float32)
    xq = np.empty((batch, n_in), dtype=m.dtype)
    for b in range(batch):
        first[b] = _input_scale(x[b], inp_bound, abs_max)
        rs = _dac(x[b], first[b], inp_bound, inp_step, inp_sto, inp_noise, rs, xq[b])
    y = np.asarray(np.dot(xq, m), np.float64)  # no copy when m is float64
    row = np.empty(n_in, dtype=m.dtype)
    noise = np.empty(n_out)
    for b in range(batch):
        saturated, rs = _adc(y[b], xq[b], w_noise, out_noise, out_bound, out_step, rs, noise)
        scale = first[b]
        reduction = np.float32(1.0)
        repeats = 0
        while saturated > 0 and repeats < max_repeats and scale > 0.0:
            repeats += 1
            reduction *= np.float32(2.0)
            scale = first[b] / reduction
            rs = _dac(x[b], scale, inp_bound, inp_step, inp_sto, inp_noise, rs, row)
            y[b] = np.dot(row, m)
            saturated, rs = _adc(y[b], row, w_noise, out_noise, out_bound, out_step, rs, noise)
        stats[0] += repeats
        stats[1] += saturated
        inverse = 1.0 / np.float64(scale) if scale > 0.0 else 0.0  # all-zero input: exactly zero out
        for i in range(n_out):
            y[b, i] *= inverse
    store(state, rs)
    return y


def matvec(weights: np.ndarray, x: np.ndarray, io: IOConfig, rng: np.random.Generator,
           bound_management: bool) -> tuple[np.ndarray, PassStats]:
    """Same contract as periphery.matvec (analog path; ``io.is_perfect`` is handled there)."""
    stats = np.zeros(2, dtype=np.int64)
    y = managed_matvec(weights.T, np.ascontiguousarray(x), pack(io, bound_management), seed_state(rng), stats)
    batch, out_size = x.shape[0], weights.shape[0]
    return y, PassStats(batch, int(stats[0]), (batch + int(stats[0])) * out_size, int(stats[1]))
