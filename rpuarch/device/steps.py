"""The step models: the mean weight change of one pulse as a function of the weight.

Every device type moves a weight by ``step(w) * (1 + dw_min_std xi)`` per pulse and clips it to
the device's bounds; the types differ only in ``step(w)`` (signed: > 0 up, < 0 down):

    constant_step  up  dw_up                      down  -dw_down
    affine         up  dw_up - beta_up w          down  -dw_down - beta_down w
                   (soft_bounds: beta = dw / |bound|; linear_step: beta = dw gamma / |w_ref|)
    exp_step       up  dw_up max(0, 1 - A_up e^(gamma_up z))
                   down -dw_down max(0, 1 - A_down e^(-gamma_down z)),  z = 2 a w / (w_max - w_min) + b
    pow_step       up  dw_up ((w_max - w) / (w_max - w_min))^gamma_up
                   down -dw_down ((w - w_min) / (w_max - w_min))^gamma_down

Per device, ``DeviceArrays`` holds dw_down, dw_up, w_min, w_max and two shape parameters
(``shape_down``, ``shape_up``: beta for the affine types, the exponents for pow_step); exp_step's
six parameters are tile-wise (``exp``: A_up, A_down, gamma_up, gamma_down, a, b).

``signed_step`` is the compiled scalar form used by the numba kernels (the update, and ``trace``
and ``mean_steps`` of the fit in fit.py); ``devices.mean_step`` is the numpy form used by the
numpy path and the per-pulse reference. Tests check that the two agree on a grid of weights for
every type, and that ``trace`` steps as the reference's ``step_once`` does with the same draws.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CONSTANT, AFFINE, EXP, POW = 0, 1, 2, 3
MODEL_OF_TYPE = {"constant_step": CONSTANT, "soft_bounds": AFFINE, "linear_step": AFFINE, "exp_step": EXP, "pow_step": POW}


@njit(cache=True)
def signed_step(model, up, w, dw_down, dw_up, w_min, w_max, shape_down, shape_up, exp):
    """Mean signed weight change of one pulse at weight ``w`` (before the pulse-to-pulse factor
    and the clip to [w_min, w_max]); ``up`` is True for an up pulse."""
    if model == CONSTANT:
        return dw_up if up else -dw_down
    if model == AFFINE:
        return dw_up - shape_up * w if up else -dw_down - shape_down * w
    span = w_max - w_min
    if span <= 0.0:
        return 0.0
    if model == EXP:
        z = 2.0 * exp[4] * w / span + exp[5]
        if up:
            return dw_up * max(0.0, 1.0 - exp[0] * math.exp(exp[2] * z))
        return -dw_down * max(0.0, 1.0 - exp[1] * math.exp(-exp[3] * z))
    if up:
        return dw_up * max(0.0, (w_max - w) / span) ** shape_up
    return -dw_down * max(0.0, (w - w_min) / span) ** shape_down


@njit(cache=True)
def pulse(model, up, w, dw_down, dw_up, w_min, w_max, shape_down, shape_up, exp, noise, std):
    """The weight after one pulse with the pulse-to-pulse draw ``noise`` ~ N(0, 1)."""
    w += signed_step(model, up, w, dw_down, dw_up, w_min, w_max, shape_down, shape_up, exp) * (1.0 + std * noise)
    return min(max(w, w_min), w_max)


@njit(cache=True)
def trace(model, p, exp, up, restart, start, noise, std):
    """The weight of one device (p = dw_down, dw_up, w_min, w_max, shape_down, shape_up) before
    and after each pulse of the sequence ``up`` (True: up pulse), pulse by pulse: out[0] =
    start[0], pulse k takes out[k] to out[k + 1]; where restart[k] the device is first set to
    start[k]. ``noise`` holds the pulse-to-pulse draws (zeros: the mean step)."""
    out = np.empty(up.size + 1)
    w = start[0]
    out[0] = w
    for k in range(up.size):
        if restart[k]:
            w = start[k]
        w = pulse(model, up[k], w, p[0], p[1], p[2], p[3], p[4], p[5], exp, noise[k], std)
        out[k + 1] = w
    return out


@njit(cache=True)
def mean_steps(model, p, exp, up, w):
    """signed_step at each weight w[k] in the direction up[k] (one device, p as in ``trace``)."""
    out = np.empty(up.size)
    for k in range(up.size):
        out[k] = signed_step(model, up[k], w[k], p[0], p[1], p[2], p[3], p[4], p[5], exp)
    return out
