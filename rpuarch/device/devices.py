"""Per-device parameters of an array, drawn once per tile (device-to-device variation).

Follows aihwkit's PulsedRPUDevice.populate with ``enforce_consistency``: for device (i, j)

    gain_ij  = 1 + dw_min_dtod * xi        (xi ~ N(0, 1), a fresh draw per device and quantity)
    gamma_ij = up_down_dtod * xi
    w_max_ij = |w_max * (1 + w_max_dtod * xi)|,   w_min_ij = -|w_min * (1 + w_min_dtod * xi)|

With ``up_down_convention: symmetric`` the global asymmetry gamma = ``up_down`` is split evenly
between the two directions (``up = (1 + gamma) dw_min``, ``down = (1 - gamma) dw_min``); with
``one_sided`` (aihwkit's ``PulsedRPUDevice::populate``) it changes one direction only: up by
min(gamma, 0), down by -max(gamma, 0). The per-device part is split evenly in both:

    dw_up_ij   = dw_min * |gain_ij + up_bias + gamma_ij|      (symmetric: up_bias = gamma)
    dw_down_ij = dw_min * |gain_ij - down_bias - gamma_ij|    (symmetric: down_bias = gamma)

Steps are stored as magnitudes; the update code applies the direction. The step models
(steps.py) add their shape parameters, drawn after these so that a constant-step or soft-bounds
array is the same for a seed whatever other types exist:

    soft_bounds  beta_up = min(1, dw_up / w_max_ij), beta_down = min(1, dw_down / |w_min_ij|)
    linear_step  beta_up = min(1, dw_up |gamma_up + gamma_up_dtod xi| / w_ref_up), likewise down
                 (aihwkit's LinearStepRPUDevice::populate; w_ref the mean or the device's bound)
    pow_step     gamma_up = pow_gamma |gain + up_bias + r|, gamma_down = pow_gamma |gain - down_bias - r|,
                 gain = 1 + pow_gamma_dtod xi, r = pow_up_down_dtod xi (PowStepRPUDevice::populate)

beta <= 1 keeps a step from overshooting its fixed point (as the soft-bounds kernel always did).

dtype: float64. The weights they act on are float64 too (see tile.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import DeviceConfig
from .steps import AFFINE, CONSTANT, EXP, MODEL_OF_TYPE

EXP_FIELDS = ("A_up", "A_down", "gamma_up", "gamma_down", "a", "b")  # the order of DeviceArrays.exp


@dataclass(frozen=True)
class DeviceArrays:
    """Per-device step sizes, bounds and step-model shapes of an (out, in) array (float64)."""

    dw_up: np.ndarray  # mean weight change of one up pulse at w = 0 (> 0 moves towards w_max)
    dw_down: np.ndarray  # mean |weight change| of one down pulse at w = 0
    w_max: np.ndarray  # upper bound (>= 0)
    w_min: np.ndarray  # lower bound (<= 0)
    dw_min_std: float  # pulse-to-pulse spread, relative to the device's mean step
    model: int = CONSTANT  # steps.CONSTANT, AFFINE, EXP or POW
    shape_up: np.ndarray | None = None  # AFFINE: beta_up; POW: gamma_up; else None
    shape_down: np.ndarray | None = None
    exp: np.ndarray = field(default_factory=lambda: np.zeros(6))  # EXP: A_up, A_down, gamma_up, gamma_down, a, b
    # (out, in, 4 or 6): dw_down, dw_up, w_min, w_max [, shape_down, shape_up] side by side, so
    # that the update kernel reads one cache line per device instead of four.
    packed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        columns = [self.dw_down, self.dw_up, self.w_min, self.w_max]
        if self.model != CONSTANT:
            zero = np.zeros_like(self.dw_up)
            columns += [zero if self.shape_down is None else self.shape_down, zero if self.shape_up is None else self.shape_up]
        object.__setattr__(self, "packed", np.ascontiguousarray(np.stack(columns, axis=-1)))


def draw_devices(cfg: DeviceConfig, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArrays:
    """Draw the device-to-device variation of an array once (4 normal draws per device, 2 more
    for linear_step and pow_step)."""
    if cfg.type == "ideal":
        raise ValueError("an ideal device has no pulsed parameters")
    gain = 1.0 + cfg.dw_min_dtod * rng.standard_normal(shape)
    gamma_ij = cfg.up_down_dtod * rng.standard_normal(shape)
    w_max = np.abs(cfg.w_max * (1.0 + cfg.w_max_dtod * rng.standard_normal(shape)))
    w_min = -np.abs(cfg.w_min * (1.0 + cfg.w_min_dtod * rng.standard_normal(shape)))
    up_bias, down_bias = cfg.asymmetry_biases(cfg.up_down)
    dw_up = cfg.dw_min * np.abs(gain + up_bias + gamma_ij)
    dw_down = cfg.dw_min * np.abs(gain - down_bias - gamma_ij)
    shape_up = shape_down = None
    exp = np.zeros(6)
    if cfg.type == "soft_bounds":
        shape_up, shape_down = _pull(dw_up, w_max), _pull(dw_down, -w_min)
    elif cfg.type == "linear_step":
        ls = cfg.linear_step
        slope_up = np.abs(ls.gamma_up + ls.gamma_up_dtod * rng.standard_normal(shape))
        slope_down = np.abs(ls.gamma_down + ls.gamma_down_dtod * rng.standard_normal(shape))
        ref_up, ref_down = (cfg.w_max, -cfg.w_min) if ls.mean_bound_reference else (w_max, -w_min)
        shape_up, shape_down = _pull(dw_up * slope_up, ref_up), _pull(dw_down * slope_down, ref_down)
    elif cfg.type == "pow_step":
        ps = cfg.pow_step
        pow_gain = 1.0 + ps.pow_gamma_dtod * rng.standard_normal(shape)
        r = ps.pow_up_down_dtod * rng.standard_normal(shape)
        pow_up, pow_down = cfg.asymmetry_biases(ps.pow_up_down)
        shape_up = ps.pow_gamma * np.abs(pow_gain + pow_up + r)
        shape_down = ps.pow_gamma * np.abs(pow_gain - pow_down - r)
    elif cfg.type == "exp_step":
        exp = np.array([getattr(cfg.exp_step, name) for name in EXP_FIELDS], dtype=np.float64)
    return DeviceArrays(dw_up=dw_up, dw_down=dw_down, w_max=w_max, w_min=w_min, dw_min_std=float(cfg.dw_min_std),
                        model=MODEL_OF_TYPE[cfg.type], shape_up=shape_up, shape_down=shape_down, exp=exp)


def _pull(step_slope: np.ndarray, reference: np.ndarray | float) -> np.ndarray:
    """beta = step * gamma / |w_ref|, at most 1 (a zero reference gives no slope, as aihwkit)."""
    reference = np.abs(np.broadcast_to(reference, step_slope.shape))
    safe = np.where(reference > 0, reference, 1.0)
    return np.where(reference > 0, np.minimum(step_slope / safe, 1.0), 0.0)


def mean_step(w: np.ndarray, up: bool, dev: DeviceArrays) -> np.ndarray:
    """Mean signed change of one up (``up``) or down pulse at weight w, for every device (the
    numpy form of steps.signed_step)."""
    if dev.model == CONSTANT:
        return np.broadcast_to(dev.dw_up if up else -dev.dw_down, np.shape(w)).astype(np.float64)
    if dev.model == AFFINE:
        return dev.dw_up - dev.shape_up * w if up else -dev.dw_down - dev.shape_down * w
    span = dev.w_max - dev.w_min
    live = span > 0
    span = np.where(live, span, 1.0)
    if dev.model == EXP:
        a_up, a_down, g_up, g_down, a, b = dev.exp
        z = 2.0 * a * w / span + b
        step = dev.dw_up * np.maximum(0.0, 1.0 - a_up * np.exp(g_up * z)) if up else \
            -dev.dw_down * np.maximum(0.0, 1.0 - a_down * np.exp(-g_down * z))
    elif up:
        step = dev.dw_up * np.maximum(0.0, (dev.w_max - w) / span) ** dev.shape_up
    else:
        step = -dev.dw_down * np.maximum(0.0, (w - dev.w_min) / span) ** dev.shape_down
    return np.where(live, step, 0.0)


def step_slope(w: np.ndarray, up: bool, dev: DeviceArrays) -> np.ndarray:
    """d mean_step / dw at weight w (<= 0 for every type: a step shrinks towards its bound)."""
    if dev.model == CONSTANT:
        return np.zeros(np.shape(w))
    if dev.model == AFFINE:
        return -(dev.shape_up if up else dev.shape_down) * np.ones(np.shape(w))
    span = np.where(dev.w_max > dev.w_min, dev.w_max - dev.w_min, np.inf)
    if dev.model == EXP:
        a_up, a_down, g_up, g_down, a, b = dev.exp
        z = 2.0 * a * w / span + b
        if up:
            e = a_up * np.exp(g_up * z)
            return np.where(e < 1.0, -dev.dw_up * e * g_up * 2.0 * a / span, 0.0)
        e = a_down * np.exp(-g_down * z)
        return np.where(e < 1.0, -dev.dw_down * e * g_down * 2.0 * a / span, 0.0)
    u = np.maximum((dev.w_max - w) / span, 0.0) if up else np.maximum((w - dev.w_min) / span, 0.0)
    gamma = dev.shape_up if up else dev.shape_down
    scale = dev.dw_up if up else dev.dw_down
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = -scale * gamma * u ** (gamma - 1.0) / span
    return np.where(gamma == 0, 0.0, np.where(np.isfinite(slope), slope, -np.inf))


def step_once(w: np.ndarray, up: np.ndarray, down: np.ndarray, dev: DeviceArrays, rng: np.random.Generator) -> None:
    """ONE pulse at every device flagged in ``up`` or ``down`` (boolean, like w), in place.

    The definition of a pulse, with a fresh pulse-to-pulse draw xi ~ N(0, 1) per device:
        w += mean_step(w) * (1 + dw_min_std xi)      (mean_step of the pulse's direction)
    then the device is clipped to its own bounds.
    """
    noise = 1.0 + dev.dw_min_std * rng.standard_normal(w.shape)
    change = np.where(up, mean_step(w, True, dev), 0.0) + np.where(down, mean_step(w, False, dev), 0.0)
    w += change * noise
    np.clip(w, dev.w_min, dev.w_max, out=w)
