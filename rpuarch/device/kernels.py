"""numba kernels of the pulsed update (the fast path; pulses.py is the numpy path they must match).

Per rank-1 update the kernel draws the pulse trains as bit masks (one bit per time slot, 64
slots per word), then visits only the (output, input) pairs whose lines both carry pulses; the
coincidence count of a device is popcount(mask_d & mask_x). Within one rank-1 update every
coincidence at a device pushes the same way, so its n steps are applied at once in closed form
(see pulses.apply_counts): the work is proportional to the touched devices, not to the pulses.

Random numbers: the pulse slots use a xoshiro256** stream seeded from the tile's Generator at
each call (one 64-bit draw gives two 32-bit uniforms; 1 ns instead of 5 ns through the
Generator); the Gaussian pulse-to-pulse noise comes from the tile's Generator itself (numba's
ziggurat). Both are therefore reproducible from the tile's seed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

from ..config import UpdateConfig
from .devices import DeviceArrays
from .pulses import UpdateStats, apply_counts

_U64 = numba.uint64
_ONE = np.uint64(1)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = 4294967296.0


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@njit(cache=True, inline="always")
def _next(s):
    """xoshiro256** (Blackman & Vigna): next 64 random bits; ``s`` is its uint64[4] state."""
    result = _rotl(s[1] * _U64(5), 7) * _U64(9)
    t = s[1] << _U64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def _pulse_scales(x_amax, d_amax, lr, dw_min, desired_bl, um, blm):
    """Same as pulses.pulse_scales (aihwkit's update and BL management), for the kernel."""
    if lr <= 0.0 or x_amax <= 0.0 or d_amax <= 0.0:
        return 0, 0.0, 0.0
    bl = desired_bl
    if not (blm or um) and dw_min * bl < lr:
        return max(int(math.ceil(lr / dw_min)), 1), 1.0, 1.0
    k = lr * x_amax * d_amax / dw_min
    if blm:
        bl = max(1, min(desired_bl, int(math.ceil(k))))
    a = math.sqrt(lr / (dw_min * bl))
    b = a
    if um:
        d_val = d_amax * (desired_bl / k if k > desired_bl else 1.0)
        a *= math.sqrt(x_amax / d_val)
        b *= math.sqrt(d_val / x_amax)
    return bl, a, b


@intrinsic
def _ctpop(typingctx, v):
    """Hardware popcount of a uint64 (LLVM's ctpop)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True)
def _trains(v, scale, bl, words, state, masks, lines, negative):
    """Draw the pulse train of every line of ``v``; keep only the lines that pulse, compacted:
    masks[n * words + w] is word w of the n-th pulsing line, lines[n] its index, negative[n] its
    sign. Returns (number of pulsing lines, number of pulses)."""
    n = 0
    pulses = 0
    for j in range(v.size):
        p = min(scale * abs(v[j]), 1.0)
        if p <= 0.0:
            continue
        threshold = _U64(p * _TWO32)  # a slot pulses if a 32-bit uniform is below p * 2^32
        base = n * words
        for w in range(words):
            masks[base + w] = _U64(0)
        for t in range(0, bl, 2):
            r = _next(state)
            if (r & _LOW32) < threshold:
                masks[base + (t >> 6)] |= _ONE << _U64(t & 63)
            if t + 1 < bl and (r >> _U64(32)) < threshold:
                masks[base + ((t + 1) >> 6)] |= _ONE << _U64((t + 1) & 63)
        count = 0
        for w in range(words):
            count += _ctpop(masks[base + w])
        if count > 0:
            pulses += count
            lines[n] = j
            negative[n] = v[j] < 0.0
            n += 1
    return n, pulses


@njit(cache=True)
def _update_loop(weights, params, std, soft, x, d, lr, dw_min, desired_bl, um, blm,
                 max_bl, state, rng, aggregate, counts, stats):
    """Rank-1 updates in sequence. aggregate=False: apply each at once to ``weights``;
    aggregate=True: only add the coincidences to counts[i, j, up] (applied by the caller)."""
    n_in = x.shape[1]
    n_out = d.shape[1]
    max_words = (max_bl + 63) // 64
    mx = np.zeros(n_in * max_words, dtype=np.uint64)
    md = np.zeros(n_out * max_words, dtype=np.uint64)
    ax = np.empty(n_in, dtype=np.int64)
    ad = np.empty(n_out, dtype=np.int64)
    xneg = np.empty(n_in, dtype=np.bool_)
    dneg = np.empty(n_out, dtype=np.bool_)
    for k in range(x.shape[0]):
        xk = x[k]
        dk = d[k]
        x_amax = 0.0
        for j in range(n_in):
            x_amax = max(x_amax, abs(xk[j]))
        d_amax = 0.0
        for i in range(n_out):
            d_amax = max(d_amax, abs(dk[i]))
        bl, a, b = _pulse_scales(x_amax, d_amax, lr, dw_min, desired_bl, um, blm)
        stats[0] += 1
        stats[1] += bl
        if bl == 0:
            continue
        words = (bl + 63) // 64
        nx, px = _trains(xk, b, bl, words, state, mx, ax, xneg)
        nd, pd = _trains(dk, a, bl, words, state, md, ad, dneg)
        stats[2] += px
        stats[3] += pd
        total = 0
        for ii in range(nd):
            i = ad[ii]
            d_neg = dneg[ii]
            for jj in range(nx):
                if words == 1:
                    c = np.int64(_ctpop(md[ii] & mx[jj]))
                else:
                    c = 0
                    for w in range(words):
                        c += np.int64(_ctpop(md[ii * words + w] & mx[jj * words + w]))
                total += c
                up = np.int64(d_neg != xneg[jj])  # 1 where d x < 0: the weight goes up
                j = ax[jj]
                if aggregate:
                    counts[i, j, up] += c  # branch-free: adding 0 is cheaper than testing c
                    continue
                if c == 0:
                    continue
                # c same-direction steps at once, in closed form (as pulses.apply_counts).
                wij = weights[i, j]
                step = params[i, j, up]  # [0] dw_down, [1] dw_up
                lo = params[i, j, 2]
                hi = params[i, j, 3]
                if soft:
                    bound = hi if up else lo
                    beta = min(step / abs(bound), 1.0)
                    r = 1.0 - beta
                    e = wij - bound
                    wij = bound + e * r**c
                    if std > 0.0:
                        wij += std * beta * abs(e) * r ** (c - 1) * math.sqrt(c) * rng.standard_normal()
                else:
                    wij += (c * step) if up else (-c * step)
                    if std > 0.0:
                        wij += std * step * math.sqrt(c) * rng.standard_normal()
                weights[i, j] = min(max(wij, lo), hi)
        stats[4] += total


def _seed_state(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(1, 2**63, size=4, dtype=np.uint64)  # never all zero


def update(weights: np.ndarray, x: np.ndarray, d: np.ndarray, lr: float, dw_min: float, up: UpdateConfig,
           dev: DeviceArrays, rng: np.random.Generator, aggregate: bool) -> UpdateStats:
    """The pulsed update of a batch, in place: exact (aggregate=False) or aggregated."""
    stats = np.zeros(5, dtype=np.int64)
    max_bl = up.desired_bl
    if not (up.update_management or up.update_bl_management):
        max_bl = max(max_bl, math.ceil(lr / dw_min))
    # Coincidence counts of the batch, [..., 0] down and [..., 1] up (aggregated mode only).
    counts = np.zeros(weights.shape + (2,) if aggregate else (1, 1, 2), dtype=np.int32)
    _update_loop(
        weights, dev.packed, dev.dw_min_std, dev.soft_bounds,
        np.ascontiguousarray(x), np.ascontiguousarray(d), float(lr), float(dw_min), up.desired_bl,
        up.update_management, up.update_bl_management, max_bl, _seed_state(rng), rng, aggregate, counts, stats,
    )
    if aggregate:
        apply_counts(weights, counts[..., 1], counts[..., 0], dev, rng)
    return UpdateStats(*(int(v) for v in stats))
