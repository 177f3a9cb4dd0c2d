"""Slow, obviously-correct reference of the pulsed update: pulse slot by pulse slot.

Used only by tests, to check the fast paths (pulses.py, kernels.py) in distribution. It shares
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

import numpy as np

from ..config import UpdateConfig
from .devices import DeviceArrays, step_once
from .pulses import UpdateStats, pulse_scales


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
