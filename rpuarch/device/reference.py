"""Slow, obviously-correct reference of the pulsed update: pulse slot by pulse slot.

Used only by tests, to check the fast paths (pulses.py, kernels.py; transfer.py with
``reference_transfer``) in distribution. It shares
nothing with them but the pulse probabilities of ``pulses.pulse_scales`` (aihwkit's update and
BL management, tested on its own), the drawn device parameters and the single device step
``devices.step_once`` (the definition of a pulse, also used by the pulse-response command).

For every rank-1 update (x, d) and every time slot t < BL: each input line j pulses with
probability min(1, B |x_j|), each output line i with min(1, A |d_i|); every device whose two
lines pulse takes ONE step, with its own pulse-to-pulse draw xi ~ N(0, 1), and is clipped to its
bounds right away:
    w += mean_step(w) * (1 + dw_min_std xi)    (the step model's mean step of the pulse's direction:
                                                up where d_i x_j < 0, down where d_i x_j > 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import UpdateConfig
from .devices import DeviceArrays, step_once
from .periphery import matvec
from .pulses import UpdateStats, pulse_scales
from .transfer import TransferSettings


def reference_update(
    w: np.ndarray,
    x: np.ndarray,
    d: np.ndarray,
    lr: float,
    dw_min: float,
    update: UpdateConfig,
    dev: DeviceArrays,
    rng: np.random.Generator,
) -> UpdateStats:
    """Apply the rank-1 updates of x (n, in) and d (n, out) to w (out, in) pulse by pulse.

    ``w`` may also be (R, out, in): R independent replicates of the same devices under the same
    updates, each with its own pulse trains and noise (for statistics; stats are summed)."""
    stats = UpdateStats()
    lead = w.shape[:-2]
    for xk, dk in zip(x, d):
        bl, a, b = pulse_scales(float(np.abs(xk).max()), float(np.abs(dk).max()), lr, dw_min, update)
        stats.updates += 1
        stats.bl += bl
        p_x = np.minimum(b * np.abs(xk), 1.0)
        p_d = np.minimum(a * np.abs(dk), 1.0)
        goes_up = (dk[:, None] * xk[None, :]) < 0
        for _ in range(bl):
            fire_x = rng.random(lead + (xk.size,)) < p_x
            fire_d = rng.random(lead + (dk.size,)) < p_d
            coincide = fire_d[..., :, None] & fire_x[..., None, :]
            stats.x_pulses += int(fire_x.sum())
            stats.d_pulses += int(fire_d.sum())
            stats.coincidences += int(coincide.sum())
            step_once(w, coincide & goes_up, coincide & ~goes_up, dev, rng)
    return stats


@dataclass
class TransferState:
    """What a transfer algorithm carries between updates, for ``reference_transfer``."""

    fast: np.ndarray  # A (out, in)
    slow: np.ndarray  # C (out, in)
    buffer: np.ndarray  # H (out, in), ttv2 and c-ttv2
    in_chopper: np.ndarray  # +-1 per column, c-ttv2
    out_chopper: np.ndarray  # +-1 per row, c-ttv2
    since_transfer: int = 0
    next_column: int = 0


def reference_transfer(
    state: TransferState,
    x: np.ndarray,
    d: np.ndarray,
    lr: float,
    dw_min: float,
    update: UpdateConfig,
    settings: TransferSettings,
    fast_dev: DeviceArrays,
    slow_dev: DeviceArrays,
    rng: np.random.Generator,
) -> None:
    """The rank-1 updates of x (n, in) and d (n, out) and their transfers, one at a time, as
    aihwkit's transfer devices do them (rpuarch/device/transfer.py states the algorithms): A and
    C pulsed slot by slot (``reference_update``), each column read alone through the numpy
    periphery, the buffer element by element."""
    s = settings
    n_out, n_in = state.fast.shape
    fast_lr = s.fast_lr * lr if s.scale_fast_lr else s.fast_lr
    lr_t = s.transfer_lr * lr if s.scale_transfer_lr else s.transfer_lr
    if s.buffered and s.gamma > 0:
        lr_t *= s.gamma
    threshold = s.thres_scale * dw_min
    if s.auto_granularity > 0:  # aihwkit's: the updates it takes to read every column once
        threshold *= s.auto_granularity / (n_in * s.transfer_every)
    for xk, dk in zip(x, d):
        if s.chopped:
            xk, dk = xk * state.in_chopper, dk * state.out_chopper
        reference_update(state.fast, xk[None], dk[None], fast_lr, dw_min, update, fast_dev, rng)
        state.since_transfer += 1
        if state.since_transfer < s.every:
            continue
        state.since_transfer = 0
        for _ in range(s.reads):
            j = state.next_column
            state.next_column = (j + 1) % n_in
            one_hot = np.zeros((1, n_in))
            one_hot[0, j] = 1.0
            read = matvec(state.fast, one_hot, s.read_io, rng, bound_management=False)[0][0]
            if not s.buffered:
                reference_update(state.slow, one_hot, -read[None], lr_t, dw_min, s.write, slow_dev, rng)
                continue
            steps = np.zeros(n_out)
            for i in range(n_out):
                value = read[i] * lr_t
                if s.chopped:
                    value *= state.in_chopper[j] * state.out_chopper[i]
                omega = state.buffer[i, j] + value
                n = max(min(math.trunc(omega / threshold), s.write.desired_bl), -s.write.desired_bl)
                if n != 0 and s.forget_buffer:
                    omega *= s.momentum
                elif n != 0:
                    omega -= (1.0 - s.momentum) * n * threshold
                state.buffer[i, j] = omega
                steps[i] = n
            if steps.any():
                reference_update(state.slow, one_hot, -steps[None], s.step * dw_min, dw_min, s.write, slow_dev, rng)
            if s.chopped:
                if rng.random() < s.in_chop_prob:
                    state.in_chopper[j] *= -1.0
                if j == n_in - 1:
                    for i in range(n_out):
                        if rng.random() < s.out_chop_prob:
                            state.out_chopper[i] *= -1.0
