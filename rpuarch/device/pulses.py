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
  vectorised over devices and slots; exp_step and pow_step take each update's steps one by one);
- ``aggregated_update`` counts the up and down coincidences of all updates first (a Python loop
  over updates) and applies them once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import UpdateConfig
from .devices import DeviceArrays, mean_step, step_once, step_slope
from .steps import AFFINE, CONSTANT, EXP, POW


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

    Affine steps (soft_bounds, linear_step; steps.py): an up step is w -> w + s_up - beta_up w, a
    down step w -> w + s_down - beta_down w (s_down < 0), each times (1 + dw_min_std xi). The mean
    after n steps one way is exact (``_affine_steps``). For a mix of directions (aggregated mode)
    the steps are taken as evenly interleaved from the weight at the start: the contraction
    (1 - beta_up)^n_up (1 - beta_down)^n_down is exact whatever the order, the point it contracts
    towards is the weighted fixed point (n_up s_up + n_down s_down) / (n_up beta_up + n_down beta_down).
    The pulse-to-pulse noise is propagated to first order in dw_min_std (exact for the mean).

    exp_step and pow_step (aggregated mode only; exact mode takes their steps one by one, see
    ``exact_update``) have no closed form: ``_mean_field_steps`` integrates the evenly
    interleaved steps as an ordinary differential equation.
    """
    n_up = np.asarray(n_up, dtype=np.float64)
    n_down = np.asarray(n_down, dtype=np.float64)
    std = dev.dw_min_std
    if dev.model == CONSTANT:
        w += n_up * dev.dw_up - n_down * dev.dw_down
        if std > 0:
            var = n_up * dev.dw_up**2 + n_down * dev.dw_down**2
            w += std * np.sqrt(var) * rng.standard_normal(w.shape)
    elif dev.model == AFFINE:
        w[...] = _affine_steps(w, n_up, n_down, (dev.dw_up, dev.shape_up, -dev.dw_down, dev.shape_down), std, rng)
    else:
        w[...] = _mean_field_steps(w, n_up, n_down, dev, rng)
    np.clip(w, dev.w_min, dev.w_max, out=w)


MEAN_FIELD_SUBSTEPS = 8  # Runge-Kutta substeps of an aggregated batch of exp_step / pow_step steps


def _mean_field_steps(w: np.ndarray, n_up: np.ndarray, n_down: np.ndarray, dev: DeviceArrays,
                      rng: np.random.Generator) -> np.ndarray:
    """n_up up and n_down down steps of a device without a closed form, as evenly interleaved
    steps taken as a flow: dw/dk = (n_up f_up(w) + n_down f_down(w)) / n over k in [0, n],
    integrated by MEAN_FIELD_SUBSTEPS classical Runge-Kutta substeps (the weight clipped to its
    bounds at every stage). The pulse-to-pulse noise follows the linear-noise approximation
    dV/dk = 2 J V + dw_min_std^2 (n_up f_up^2 + n_down f_down^2) / n, J = d(drift)/dw, integrated
    exactly over each substep with J and f at its midpoint. The flow is that of the modified step
    ``_flow_step``, so that n steps one way land where n discrete steps do (to second order)."""
    h_up, h_down = n_up / MEAN_FIELD_SUBSTEPS, n_down / MEAN_FIELD_SUBSTEPS  # steps per substep

    def clip(v: np.ndarray) -> np.ndarray:
        return np.clip(v, dev.w_min, dev.w_max)

    def drift(v: np.ndarray) -> np.ndarray:  # the change over one substep
        return h_up * _flow_step(v, True, dev) + h_down * _flow_step(v, False, dev)

    std = dev.dw_min_std
    var = np.zeros_like(w)
    for _ in range(MEAN_FIELD_SUBSTEPS):
        k1 = drift(w)
        mid = clip(w + k1 / 2)
        k2 = drift(mid)
        k3 = drift(clip(w + k2 / 2))
        k4 = drift(clip(w + k3))
        if std > 0:
            f_up, f_down = mean_step(mid, True, dev), mean_step(mid, False, dev)
            added = std**2 * (h_up * f_up**2 + h_down * f_down**2)
            with np.errstate(divide="ignore", invalid="ignore"):
                # a direction without steps adds nothing, even where its slope is infinite
                jac = np.where(h_up > 0, h_up * step_slope(mid, True, dev), 0.0) + \
                    np.where(h_down > 0, h_down * step_slope(mid, False, dev), 0.0)
                decay = np.where(jac == 0, 1.0, np.expm1(2 * jac) / (2 * jac))  # 1 at J = 0, 0 at J = -inf
            var = var * np.exp(2 * jac) + added * decay
        w = clip(w + (k1 + 2 * k2 + 2 * k3 + k4) / 6)
    if std <= 0:
        return w
    return w + np.sqrt(var) * rng.standard_normal(w.shape)


def _affine_steps(w: np.ndarray, n_up: np.ndarray, n_down: np.ndarray, steps: tuple[np.ndarray, ...], std: float,
                  rng: np.random.Generator) -> np.ndarray:
    """The weights after n_up steps w -> w + s_up - beta_up w and n_down steps w -> w + s_down -
    beta_down w, evenly interleaved, each step times (1 + std xi); ``steps`` = (s_up, beta_up,
    s_down, beta_down). Finite for beta = 0 (constant steps) and beta = 1 (a jump to the fixed point)."""
    s_up, beta_up, s_down, beta_down = steps
    n = n_up + n_down
    pull = n_up * beta_up + n_down * beta_down  # total pull strength; 0 where nothing contracts
    push = n_up * s_up + n_down * s_down
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.where(n_up > 0, n_up * np.log1p(-beta_up), 0.0) + np.where(n_down > 0, n_down * np.log1p(-beta_down), 0.0)
        # mean: w + (push - pull w) (1 - r^n) / pull, with r^n = e^log_r the contraction; -> push as pull -> 0
        gain = np.where(pull > 0, -np.expm1(log_r) / np.where(pull > 0, pull, 1.0), 1.0)
    drift = push - pull * w
    mean = w + drift * gain
    if std <= 0:
        return mean
    # First-order noise: step k of n (mean path w_k, per-step contraction r = e^(log_r / n)) has
    # the size f(w_k) = f(w) - (beta / pull) drift (1 - r^k) =: A - B r^k and adds std f(w_k) xi_k,
    # shrunk by r^(n-1-k) until the end. Sum the variances in closed form.
    safe_n = np.where(n > 0, n, 1.0)
    r = np.where(n > 0, np.exp(log_r / safe_n), 1.0)
    s0 = _geometric(r * r, n)  # sum_k r^(2(n-1-k))
    s1 = r ** np.maximum(n - 1, 0) * _geometric(r, n)  # sum_k r^(2(n-1)-k)
    s2 = n * r ** (2 * np.maximum(n - 1, 0))  # sum_k r^(2(n-1))
    var = np.zeros_like(mean)
    for count, s, beta in ((n_up, s_up, beta_up), (n_down, s_down, beta_down)):
        share = np.where(pull > 0, beta / np.where(pull > 0, pull, 1.0), 0.0) * drift
        a, b = s - beta * w - share, -share
        var += (count / safe_n) * (a**2 * s0 - 2 * a * b * s1 + b**2 * s2)
    return mean + std * np.sqrt(np.maximum(var, 0.0)) * rng.standard_normal(w.shape)


def _flow_step(w: np.ndarray, up: bool, dev: DeviceArrays) -> np.ndarray:
    """The step f - f f' / 2 whose flow over one unit matches one discrete step w -> w + f(w) to
    second order (backward error analysis of Euler's method); f' is limited to [-1, 1], where the
    expansion holds (pow_step's slope is infinite at the bound)."""
    f = mean_step(w, up, dev)
    return f * (1.0 - 0.5 * np.clip(step_slope(w, up, dev), -1.0, 1.0))


def _geometric(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """sum_{k<n} q^k, also where q == 1 (then n)."""
    near_one = np.abs(1.0 - q) < 1e-12
    return np.where(near_one, n, (1.0 - q**n) / np.where(near_one, 1.0, 1.0 - q))


def _stepwise(w: np.ndarray, n_up: np.ndarray, n_down: np.ndarray, dev: DeviceArrays, rng: np.random.Generator) -> None:
    """The pulses of one rank-1 update (each device moves one way: n_up or n_down is 0) one at a
    time, vectorised over the devices: the numpy path's exact mode for the step models without a
    closed form (exp_step, pow_step; at most BL iterations)."""
    for k in range(int(max(n_up.max(initial=0), n_down.max(initial=0)))):
        step_once(w, n_up > k, n_down > k, dev, rng)


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
            apply = _stepwise if dev.model in (EXP, POW) else apply_counts
            apply(w, counts[0], counts[1], dev, rng)
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
