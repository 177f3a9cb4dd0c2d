"""numba kernels of the pulsed update (the fast path; pulses.py is the numpy path they must match).

Per rank-1 update the kernel draws the pulse trains as bit masks (one bit per time slot, 64
slots per word), then visits only the (output, input) pairs whose lines both carry pulses; the
coincidence count of a device is popcount(mask_d & mask_x). Within one rank-1 update every
coincidence at a device pushes the same way, so its n steps are applied at once in closed form
(see pulses.apply_counts): the work is proportional to the touched devices, not to the pulses.
exp_step and pow_step have no closed form: their n steps are taken one by one (steps.pulse).

Random numbers come from fastrandom.py (a xoshiro256** stream seeded from the tile's Generator);
a pulse slot costs half a 64-bit draw (two 32-bit uniforms per draw).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, types
from numba.core.extending import intrinsic

from ..config import UpdateConfig
from .devices import DeviceArrays
from .fastrandom import load, seed_state, store
from .fastrandom import next_u64 as _next
from .fastrandom import normal as _normal
from .pulses import UpdateStats, apply_counts, max_train_length
from .steps import AFFINE, CONSTANT, pulse

_U64 = numba.uint64
_ONE = np.uint64(1)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = 4294967296.0


@njit(cache=True)
def _pulse_scales(x_amax, d_amax, lr, dw_min, desired_bl, fixed, um, blm):
    """Same as pulses.pulse_scales (aihwkit's update and BL management), for the kernel; ``um`` is
    the update management in effect (UpdateConfig.manages_updates)."""
    if lr <= 0.0 or x_amax <= 0.0 or d_amax <= 0.0:
        return 0, 0.0, 0.0
    bl = desired_bl
    if not (fixed or blm) and dw_min * bl < lr:
        bl = max(int(math.ceil(lr / dw_min)), 1)
        a = 1.0
    else:
        a = math.sqrt(lr / (dw_min * bl))
    b = a
    if um:
        k = lr * x_amax * d_amax / dw_min
        if blm:
            bl = max(1, min(desired_bl, int(math.ceil(k))))
            a = math.sqrt(lr / (dw_min * bl))
            b = a
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
def _trains(v, scale, bl, words, rs, masks, lines, negative):
    """Draw the pulse train of every line of ``v``; keep only the lines that pulse, compacted:
    masks[n * words + w] is word w of the n-th pulsing line, lines[n] its index, negative[n] its
    sign. Returns (number of pulsing lines, number of pulses, random state after the draws)."""
    n = 0
    pulses = 0
    for j in range(v.size):
        p = min(scale * abs(v[j]), 1.0)
        if p <= 0.0:
            continue
        threshold = _U64(p * _TWO32)  # a slot pulses if a 32-bit uniform is below p * 2^32
        count = 0
        if words == 1:  # BL <= 64: build the train in a register, store it only if it pulses
            mask = _U64(0)
            for t in range(0, bl, 2):
                r, rs = _next(rs)
                mask |= _U64((r & _LOW32) < threshold) << _U64(t)
                if t + 1 < bl:
                    mask |= _U64((r >> _U64(32)) < threshold) << _U64(t + 1)
            masks[n] = mask
            count = np.int64(_ctpop(mask))
        else:
            base = n * words
            for w in range(words):
                masks[base + w] = _U64(0)
            for t in range(0, bl, 2):
                r, rs = _next(rs)
                if (r & _LOW32) < threshold:
                    masks[base + (t >> 6)] |= _ONE << _U64(t & 63)
                if t + 1 < bl and (r >> _U64(32)) < threshold:
                    masks[base + ((t + 1) >> 6)] |= _ONE << _U64((t + 1) & 63)
            for w in range(words):
                count += np.int64(_ctpop(masks[base + w]))
        # Keep the line if it pulses, without a branch (whether it does is random).
        pulses += count
        lines[n] = j
        negative[n] = v[j] < 0.0
        n += np.int64(count > 0)
    return n, pulses, rs


@njit(cache=True)
def _line_buffers(n, max_bl):
    """Scratch space of ``_trains`` for n lines: pulse masks of up to max_bl slots, the indices of
    the pulsing lines, and their signs."""
    max_words = (max_bl + 63) // 64
    return np.zeros(n * max_words, dtype=np.uint64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.bool_)


@njit(cache=True)
def _pair_trains(xk, dk, lr, dw_min, desired_bl, fixed, um, blm, rs, mx, ax, xneg, md, ad, dneg, stats):
    """The pulse trains of one rank-1 pair (x_k, d_k) after update and BL management, counted in
    ``stats``: returns (bl, pulsing x lines, pulsing d lines, random state)."""
    x_amax = 0.0
    for j in range(xk.shape[0]):
        x_amax = max(x_amax, abs(xk[j]))
    d_amax = 0.0
    for i in range(dk.shape[0]):
        d_amax = max(d_amax, abs(dk[i]))
    bl, a, b = _pulse_scales(x_amax, d_amax, lr, dw_min, desired_bl, fixed, um, blm)
    stats[0] += 1
    stats[1] += bl
    if bl == 0:
        return 0, 0, 0, rs
    words = (bl + 63) // 64
    n_x, pulses_x, rs = _trains(xk, b, bl, words, rs, mx, ax, xneg)
    n_d, pulses_d, rs = _trains(dk, a, bl, words, rs, md, ad, dneg)
    stats[2] += pulses_x
    stats[3] += pulses_d
    return bl, n_x, n_d, rs


@njit(cache=True, nogil=True)
def _exact_loop(weights, params, std, model, exp, x, d, lr, dw_min, desired_bl, fixed, um, blm, max_bl, state, stats):
    """Exact mode: the rank-1 updates of (x, d) applied to ``weights`` one after another."""
    n_in = x.shape[1]
    n_out = d.shape[1]
    mx, ax, xneg = _line_buffers(n_in, max_bl)
    md, ad, dneg = _line_buffers(n_out, max_bl)
    hit_c = np.empty(n_in, dtype=np.int64)
    hit_jj = np.empty(n_in, dtype=np.int64)
    noise = np.zeros(n_in)
    closed_form = model == CONSTANT or model == AFFINE  # else the c steps are taken one by one
    rs = load(state)
    for k in range(x.shape[0]):
        bl, nx, nd, rs = _pair_trains(x[k], d[k], lr, dw_min, desired_bl, fixed, um, blm, rs, mx, ax, xneg, md, ad, dneg, stats)
        if bl == 0:
            continue
        words = (bl + 63) // 64
        total = 0
        single_slot = bl == 1  # then every pair of pulsing lines coincides, exactly once
        if single_slot:
            for jj in range(nx):
                hit_c[jj] = 1
                hit_jj[jj] = jj
        for ii in range(nd):
            i = ad[ii]
            d_neg = dneg[ii]
            if single_slot:
                m = nx
            else:
                # Pass 1: coincidence counts of the row, compacted to the touched devices without
                # a branch (about a third of the pairs have none, at random: a branch mispredicts).
                m = 0
                for jj in range(nx):
                    if words == 1:
                        c = np.int64(_ctpop(md[ii] & mx[jj]))
                    else:
                        c = 0
                        for w in range(words):
                            c += np.int64(_ctpop(md[ii * words + w] & mx[jj * words + w]))
                    hit_c[m] = c
                    hit_jj[m] = jj
                    m += np.int64(c != 0)
            # Pass 2: the pulse-to-pulse noise of the row in one tight loop (one draw per device).
            if std > 0.0 and closed_form:
                for q in range(m):
                    noise[q], rs = _normal(rs)
            # Pass 3: c same-direction steps at once, in closed form (as pulses.apply_counts), or
            # one by one for the step models without one (a loop of its own: drawing inside this
            # one would keep the random state live through it, measured 10 % slower for all).
            if not closed_form:
                total, rs = _stepwise_row(weights, params, std, model, exp, i, d_neg, hit_c, hit_jj, m, ax, xneg, total, rs)
                continue
            for q in range(m):
                c = hit_c[q]
                jj = hit_jj[q]
                total += c
                up = np.int64(d_neg != xneg[jj])  # 1 where d x < 0: the weight goes up
                j = ax[jj]
                wij = weights[i, j]
                step = params[i, j, up]  # [0] dw_down, [1] dw_up
                lo = params[i, j, 2]
                hi = params[i, j, 3]
                if model == CONSTANT:
                    signed = step * np.float64(2 * up - 1)  # branch-free: the direction is random
                    wij += c * signed + std * step * math.sqrt(c) * noise[q]
                else:
                    # c steps of w -> w + f(w), f(w) = s - beta w: w + f(w) (1 - r^c) / beta, r = 1 - beta
                    # (integer powers: a few multiplications, where expm1/log1p took twice the time)
                    beta = params[i, j, 4 + up]  # [4] beta_down, [5] beta_up
                    f = step * np.float64(2 * up - 1) - beta * wij
                    decay = (1.0 - beta) ** (c - 1)
                    gain = (1.0 - decay * (1.0 - beta)) / beta if beta > 0.0 else np.float64(c)
                    wij += f * gain + std * abs(f) * decay * math.sqrt(c) * noise[q]
                weights[i, j] = min(max(wij, lo), hi)
        stats[4] += total
    store(state, rs)


@njit(cache=True)
def _stepwise_row(weights, params, std, model, exp, i, d_neg, hit_c, hit_jj, m, ax, xneg, total, rs):
    """Pass 3 of ``_exact_loop`` for exp_step and pow_step: the c steps of each touched device of
    row i one at a time, each with its own pulse-to-pulse draw. Returns (total, random state)."""
    for q in range(m):
        c = hit_c[q]
        jj = hit_jj[q]
        total += c
        up = d_neg != xneg[jj]
        j = ax[jj]
        p = params[i, j]
        wij = weights[i, j]
        for _ in range(c):
            xi = 0.0
            if std > 0.0:
                xi, rs = _normal(rs)
            wij = pulse(model, up, wij, p[0], p[1], p[2], p[3], p[4], p[5], exp, xi, std)
        weights[i, j] = wij
    return total, rs


@njit(cache=True)
def _append_trains(masks, lines, negative, n, words, slot, capacity, pulse, sign):
    """Lay the compacted trains of ``_trains`` (n lines of ``words`` words) into the per-line bit
    strings pulse[j, :] (a pulse in that slot) and sign[j, :] (that pulse carries a negative
    value), starting at bit ``slot``; the strings hold ``capacity`` words."""
    shift = _U64(slot & 63)
    for q in range(n):
        j = lines[q]
        for w in range(words):
            m = masks[q * words + w]
            lo = (slot >> 6) + w
            pulse[j, lo] |= m << shift
            if negative[q]:
                sign[j, lo] |= m << shift
            if shift > _U64(0) and lo + 1 < capacity:  # the bits that spill into the next word
                spill = m >> (_U64(64) - shift)
                pulse[j, lo + 1] |= spill
                if negative[q]:
                    sign[j, lo + 1] |= spill


@njit(cache=True)
def _count_strings(px, nx, pd, nd, words, total, up):
    """Coincidences of the laid-out bit strings (their first ``words`` words), added to total and
    up; returns their number. Device (i, j) has popcount(P_i & P_j) coincidences, of which
    popcount(P_i & P_j & (N_i ^ N_j)) move it up (signs differ)."""
    coincidences = 0
    for i in range(pd.shape[0]):
        for j in range(px.shape[0]):
            c = _U64(0)
            c_up = _U64(0)
            for w in range(words):
                both = pd[i, w] & px[j, w]
                c += _ctpop(both)
                c_up += _ctpop(both & (nd[i, w] ^ nx[j, w]))
            total[i, j] += np.int64(c)
            up[i, j] += np.int64(c_up)
            coincidences += np.int64(c)
    return coincidences


@njit(cache=True, nogil=True)
def _aggregated_counts(x, d, lr, dw_min, desired_bl, fixed, um, blm, max_bl, chunk_words, state, total, up, stats):
    """Aggregated mode: coincidences of all rank-1 updates of (x, d), counted at once.

    Each update's trains are drawn as in exact mode (``_trains``: built in a register, the pulsing
    lines compacted) and laid end to end in one bit string per line, a chunk of at most
    chunk_words * 64 slots at a time; ``_count_strings`` counts each chunk: work devices x slots
    / 64, whatever the pulse density. Adds to total[i, j] and up[i, j]."""
    n_in = x.shape[1]
    n_out = d.shape[1]
    mx, ax, xneg = _line_buffers(n_in, max_bl)
    md, ad, dneg = _line_buffers(n_out, max_bl)
    px = np.zeros((n_in, chunk_words), dtype=np.uint64)
    nx = np.zeros((n_in, chunk_words), dtype=np.uint64)
    pd = np.zeros((n_out, chunk_words), dtype=np.uint64)
    nd = np.zeros((n_out, chunk_words), dtype=np.uint64)
    slot = 0
    rs = load(state)
    for k in range(x.shape[0]):
        bl, n_x, n_d, rs = _pair_trains(x[k], d[k], lr, dw_min, desired_bl, fixed, um, blm, rs, mx, ax, xneg, md, ad, dneg, stats)
        if bl == 0:
            continue
        words = (bl + 63) // 64
        if slot + bl > chunk_words * 64:  # the chunk is full: count it, start the next
            stats[4] += _count_strings(px, nx, pd, nd, (slot + 63) // 64, total, up)
            px[:] = 0
            nx[:] = 0
            pd[:] = 0
            nd[:] = 0
            slot = 0
        _append_trains(mx, ax, xneg, n_x, words, slot, chunk_words, px, nx)
        _append_trains(md, ad, dneg, n_d, words, slot, chunk_words, pd, nd)
        slot += bl
    if slot > 0:
        stats[4] += _count_strings(px, nx, pd, nd, (slot + 63) // 64, total, up)
    store(state, rs)


AGGREGATE_CHUNK_SLOTS = 8192  # pulse slots counted per pass in aggregated mode (bit strings of 1 KiB)


def update(weights: np.ndarray, x: np.ndarray, d: np.ndarray, lr: float, dw_min: float, up: UpdateConfig,
           dev: DeviceArrays, rng: np.random.Generator, aggregate: bool, state: np.ndarray | None = None) -> UpdateStats:
    """The pulsed update of a batch, in place: exact (aggregate=False) or aggregated.

    ``state``: the xoshiro stream to draw from (advanced in place); a fresh one from ``rng`` if None."""
    state = seed_state(rng) if state is None else state
    stats = np.zeros(5, dtype=np.int64)
    max_bl = max_train_length(lr, dw_min, up)
    x = np.ascontiguousarray(x)
    d = np.ascontiguousarray(d)
    management = (float(lr), float(dw_min), up.desired_bl, up.fixed_bl, up.manages_updates, up.update_bl_management, max_bl)
    if aggregate:
        total = np.zeros(weights.shape, dtype=np.int64)
        n_up = np.zeros(weights.shape, dtype=np.int64)
        chunk_words = max(AGGREGATE_CHUNK_SLOTS, max_bl) // 64 + 1
        _aggregated_counts(x, d, *management, chunk_words, state, total, n_up, stats)
        apply_counts(weights, n_up, total - n_up, dev, rng)
    else:
        _exact_loop(weights, dev.packed, dev.dw_min_std, dev.model, dev.exp, x, d, *management, state, stats)
    return UpdateStats(*(int(v) for v in stats))
