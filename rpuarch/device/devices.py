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

Steps are stored as magnitudes; the update code applies the direction.

dtype: float64. The weights they act on are float64 too (see tile.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import DeviceConfig


@dataclass(frozen=True)
class DeviceArrays:
    """Per-device step sizes and bounds of an (out, in) array, all float64 of that shape."""

    dw_up: np.ndarray  # mean weight change of one up pulse (> 0 moves towards w_max)
    dw_down: np.ndarray  # mean |weight change| of one down pulse
    w_max: np.ndarray  # upper bound (>= 0)
    w_min: np.ndarray  # lower bound (<= 0)
    dw_min_std: float  # pulse-to-pulse spread, relative to the device's mean step
    soft_bounds: bool  # step shrinks linearly to zero at the bound it moves towards
    # (out, in, 4): dw_down, dw_up, w_min, w_max side by side, so that the update kernel reads
    # one cache line per device instead of four.
    packed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        packed = np.stack([self.dw_down, self.dw_up, self.w_min, self.w_max], axis=-1)
        object.__setattr__(self, "packed", np.ascontiguousarray(packed))


def draw_devices(cfg: DeviceConfig, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArrays:
    """Draw the device-to-device variation of an array once (5 normal draws per device)."""
    if cfg.type == "ideal":
        raise ValueError("an ideal device has no pulsed parameters")
    gain = 1.0 + cfg.dw_min_dtod * rng.standard_normal(shape)
    gamma_ij = cfg.up_down_dtod * rng.standard_normal(shape)
    w_max = np.abs(cfg.w_max * (1.0 + cfg.w_max_dtod * rng.standard_normal(shape)))
    w_min = -np.abs(cfg.w_min * (1.0 + cfg.w_min_dtod * rng.standard_normal(shape)))
    up_bias = down_bias = cfg.up_down
    if cfg.up_down_convention == "one_sided":
        up_bias, down_bias = min(cfg.up_down, 0.0), max(cfg.up_down, 0.0)
    return DeviceArrays(
        dw_up=cfg.dw_min * np.abs(gain + up_bias + gamma_ij),
        dw_down=cfg.dw_min * np.abs(gain - down_bias - gamma_ij),
        w_max=w_max,
        w_min=w_min,
        dw_min_std=float(cfg.dw_min_std),
        soft_bounds=cfg.type == "soft_bounds",
    )


def step_once(w: np.ndarray, up: np.ndarray, down: np.ndarray, dev: DeviceArrays, rng: np.random.Generator) -> None:
    """ONE pulse at every device flagged in ``up`` or ``down`` (boolean, like w), in place.

    The definition of a pulse, with a fresh pulse-to-pulse draw xi ~ N(0, 1) per device:
        up:   w += dw_up   * (1 + dw_min_std xi) * (1 - w / w_max  for soft bounds)
        down: w -= dw_down * (1 + dw_min_std xi) * (1 - w / w_min  for soft bounds)
    then the device is clipped to its own bounds.
    """
    noise = 1.0 + dev.dw_min_std * rng.standard_normal(w.shape)
    up_step = dev.dw_up * noise
    down_step = dev.dw_down * noise
    if dev.soft_bounds:
        up_step = up_step * (1.0 - w / dev.w_max)
        down_step = down_step * (1.0 - w / dev.w_min)
    w += np.where(up, up_step, 0.0) - np.where(down, down_step, 0.0)
    np.clip(w, dev.w_min, dev.w_max, out=w)
