"""The stochastic pulsed update in numpy: pulse probabilities, coincidences, device steps.

A rank-1 update W -= lr * d x^T is done with stochastic pulse trains (Gokmen & Vlasov 2016):
input line j carries BL time slots, each with a pulse with probability p_j = min(1, B |x_j|);
output line i likewise with q_i = min(1, A |d_i|). Device (i, j) steps once at every slot where
both lines pulse (a coincidence), towards w_max (up) when d_i x_j < 0 and towards w_min (down)
otherwise. E[coincidences] = BL A B |x_j d_i|, so with A B = lr / (BL dw_min) the mean change is
-lr d_i x_j. ``pulse_scales`` implements aihwkit's update management and BL management.

This module is the pure-numpy path (and the fallback of the numba kernels in kernels.py):
- ``apply_counts`` applies n_up up and n_down down steps to every device in closed form;
- ``exact_update`` applies the rank-1 updates one after another (a Python loop over updates,
  vectorised over devices and slots);
- ``aggregated_update`` counts the up and down coincidences of all updates first (a Python loop
  over updates) and applies them once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import UpdateConfig
from .devices import DeviceArrays


@dataclass
class UpdateStats:
    """What an update cost: for the activity counters."""

    updates: int = 0
    bl: int = 0  # sum of the train lengths used
    x_pulses: int = 0
    d_pulses: int = 0
    coincidences: int = 0


def pulse_scales(x_amax: float, d_amax: float, lr: float, dw_min: float, up: UpdateConfig) -> tuple[int, float, float]:
    """(BL, A, B): train length and the probability scales of the d side (A) and the x side (B).

    aihwkit's PulsedUpdateMetaParameter.calculateBlAB and performUpdateManagement:
    BL = desired_bl, A = B = sqrt(lr / (BL dw_min)); without fixed_bl and BL management, when
    desired_bl dw_min < lr: BL = ceil(lr / dw_min), A = B = 1. With update management (on whenever
    BL management is), k = lr max|x| max|d| / dw_min; BL management: BL = min(desired_bl, ceil(k))
    and A = B = sqrt(lr / (BL dw_min)); then A *= sqrt(max|x| / max|d|'), B *= sqrt(max|d|' /
    max|x|) where max|d|' is max|d| reduced so that the largest x still has probability <= 1 when
    k > desired_bl (the d side saturates instead). Zero x or d: BL = 0 (nothing is sent).
    """
    if lr <= 0 or x_amax <= 0 or d_amax <= 0:
        return 0, 0.0, 0.0
    bl = up.desired_bl
    if not (up.fixed_bl or up.update_bl_management) and dw_min * bl < lr:
        bl, a = max(math.ceil(lr / dw_min), 1), 1.0  # a train of desired_bl cannot carry lr
    else:
        a = math.sqrt(lr / (dw_min * bl))
    b = a
    if up.manages_updates:
        k = lr * x_amax * d_amax / dw_min
        if up.update_bl_management:
            bl = max(1, min(up.desired_bl, math.ceil(k)))
            a = b = math.sqrt(lr / (dw_min * bl))
        d_val = d_amax * (up.desired_bl / k if k > up.desired_bl else 1.0)
        a *= math.sqrt(x_amax / d_val)
        b *= math.sqrt(d_val / x_amax)
    return bl, a, b


def max_train_length(lr: float, dw_min: float, up: UpdateConfig) -> int:
    """The longest train ``pulse_scales`` can ask for at this lr."""
    if up.fixed_bl or up.update_bl_management:
        return up.desired_bl
    return max(up.desired_bl, math.ceil(lr / dw_min))


def apply_counts(
    w: np.ndarray, n_up: np.ndarray, n_down: np.ndarray, dev: DeviceArrays, rng: np.random.Generator
) -> None:
    """Apply n_up up steps and n_down down steps to each device of w in place, in closed form.

    Hard bounds (constant_step): w += n_up dw_up - n_down dw_down + N(0, var), then one clip,
    var = dw_min_std^2 (n_up dw_up^2 + n_down dw_down^2). When all steps go one way (always in
    one rank-1 update) and none is negative (a pulse-to-pulse draw below -1/dw_min_std, p ~ 4e-4
    at 0.3), clipping once equals clipping after every step, so this is exact in distribution.

    Soft bounds: an up step is w -> w + bu (w_max - w), a down step w -> w - bd (w - w_min)
    (bu = dw_up / w_max, bd = dw_down / |w_min|), each times (1 + dw_min_std xi). The mean after
    n steps one way is exact: w_max - (w_max - w)(1 - bu)^n. For a mix of directions (aggregated
    mode) the steps are taken as evenly interleaved: contraction r^n = (1-bu)^n_up (1-bd)^n_down
    towards the weighted fixed point w* = (n_up bu w_max + n_down bd w_min) / (n_up bu + n_down bd).
    The pulse-to-pulse noise is propagated to first order in dw_min_std (exact for the mean).
    """
    n_up = np.asarray(n_up, dtype=np.float64)
    n_down = np.asarray(n_down, dtype=np.float64)
    std = dev.dw_min_std
    if not dev.soft_bounds:
        w += n_up * dev.dw_up - n_down * dev.dw_down
        if std > 0:
            var = n_up * dev.dw_up**2 + n_down * dev.dw_down**2
            w += std * np.sqrt(var) * rng.standard_normal(w.shape)
    else:
        w[...] = _soft_bounds_steps(w, n_up, n_down, dev, rng)
    np.clip(w, dev.w_min, dev.w_max, out=w)


def _soft_bounds_steps(
    w: np.ndarray, n_up: np.ndarray, n_down: np.ndarray, dev: DeviceArrays, rng: np.random.Generator
) -> np.ndarray:
    bu = np.minimum(dev.dw_up / dev.w_max, 1.0)
    bd = np.minimum(dev.dw_down / -dev.w_min, 1.0)
    n = n_up + n_down
    pull = n_up * bu + n_down * bd  # total pull strength; 0 where nothing happens
    moving = pull > 0
    safe_pull = np.where(moving, pull, 1.0)
    target = np.where(moving, (n_up * bu * dev.w_max + n_down * bd * dev.w_min) / safe_pull, w)
    rn = (1.0 - bu) ** n_up * (1.0 - bd) ** n_down  # contraction after all n steps
    mean = target + (w - target) * rn
    if dev.dw_min_std <= 0:
        return mean
    # First-order noise: step k (mean path w_k = w* + (w - w*) r^k, r = rn^(1/n)) adds
    # std * size_k * xi_k, shrunk by r^(n-1-k) until the end. Sum the variances in closed form.
    safe_n = np.where(n > 0, n, 1.0)
    r = np.where(moving, rn ** (1.0 / safe_n), 1.0)
    s0 = _geometric(r * r, n)  # sum_k r^(2(n-1-k))
    s1 = r ** np.maximum(n - 1, 0) * _geometric(r, n)  # sum_k r^(2(n-1)-k)
    s2 = n * r ** (2 * np.maximum(n - 1, 0))  # sum_k r^(2(n-1))
    e = w - target
    up_a, down_a = dev.w_max - target, target - dev.w_min  # step size = a + b r^k times bu or bd
    var = (n_up / safe_n) * bu**2 * (up_a**2 * s0 - 2 * up_a * e * s1 + e**2 * s2)
    var += (n_down / safe_n) * bd**2 * (down_a**2 * s0 + 2 * down_a * e * s1 + e**2 * s2)
    return mean + dev.dw_min_std * np.sqrt(np.maximum(var, 0.0)) * rng.standard_normal(w.shape)


def _geometric(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """sum_{k<n} q^k, also where q == 1 (then n)."""
    near_one = np.abs(1.0 - q) < 1e-12
    return np.where(near_one, n, (1.0 - q**n) / np.where(near_one, 1.0, 1.0 - q))


def pulse_trains(v: np.ndarray, scale: float, bl: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean trains (bl, len(v)): slot t of line j pulses with probability min(1, scale |v_j|)."""
    p = np.minimum(scale * np.abs(v), 1.0)
    return rng.random((bl, v.size)) < p


def coincidence_counts(x: np.ndarray, d: np.ndarray, lr: float, dw_min: float, up: UpdateConfig,
                       rng: np.random.Generator, stats: UpdateStats) -> tuple[np.ndarray, np.ndarray] | None:
    """One rank-1 update's up and down coincidence counts (out, in), or None if nothing pulses."""
    bl, a, b = pulse_scales(float(np.max(np.abs(x))), float(np.max(np.abs(d))), lr, dw_min, up)
    stats.updates += 1
    stats.bl += bl
    if bl == 0:
        return None
    tx = pulse_trains(x, b, bl, rng)
    td = pulse_trains(d, a, bl, rng)
    stats.x_pulses += int(np.count_nonzero(tx))
    stats.d_pulses += int(np.count_nonzero(td))
    counts = td.T.astype(np.float64) @ tx.astype(np.float64)  # coincidences per device
    stats.coincidences += int(counts.sum())
    opposite = np.signbit(d)[:, None] != np.signbit(x)[None, :]  # d x < 0: the weight goes up
    return np.where(opposite, counts, 0.0), np.where(opposite, 0.0, counts)


def exact_update(w: np.ndarray, x: np.ndarray, d: np.ndarray, lr: float, dw_min: float, up: UpdateConfig,
                 dev: DeviceArrays, rng: np.random.Generator) -> UpdateStats:
    """The rank-1 updates of (x, d) applied one after another, in place."""
    stats = UpdateStats()
    for xk, dk in zip(x, d):
        counts = coincidence_counts(xk, dk, lr, dw_min, up, rng, stats)
        if counts is not None:
            apply_counts(w, counts[0], counts[1], dev, rng)
    return stats


def aggregated_update(w: np.ndarray, x: np.ndarray, d: np.ndarray, lr: float, dw_min: float, up: UpdateConfig,
                      dev: DeviceArrays, rng: np.random.Generator) -> UpdateStats:
    """The coincidences of all rank-1 updates of (x, d) counted first, then applied at once."""
    stats = UpdateStats()
    n_up = np.zeros_like(w)
    n_down = np.zeros_like(w)
    for xk, dk in zip(x, d):
        counts = coincidence_counts(xk, dk, lr, dw_min, up, rng, stats)
        if counts is not None:
            n_up += counts[0]
            n_down += counts[1]
    apply_counts(w, n_up, n_down, dev, rng)
    return stats
