"""The device engineer's first plot: the weight of M devices under trains of up and down pulses.

Starting from w = 0, each of ``cycles`` cycles applies ``up`` up pulses then ``down`` down pulses
(one pulse = one ``devices.step_once``) to M devices drawn with the preset's device-to-device
variation. The curve is the mean and spread over the devices after every pulse. The loop runs
over pulses because each pulse depends on the last; each step is vectorised over the devices.

Summary, all measured, with aihwkit's definitions (the plateaus a device's trains end at, not the
extremes its noisy trace touches):
- ``step_up`` / ``step_down``: mean |weight change| of one up / one down pulse applied at w = 0,
  averaged over the devices and PROBE_PULSES repeats (a separate probe of the same devices, so
  soft bounds and the bounds do not bias it);
- ``asymmetry`` = (step_up - step_down) / (step_up + step_down) (the configured up_down gamma
  when its device spread averages out);
- ``plateau_up`` / ``plateau_down``: mean over devices and cycles of the weight after the last
  pulse of each up / down train (None without pulses that way), with their device-to-device
  spread;
- ``states`` = (plateau_up - plateau_down) / mean step: pulses from one plateau to the other
  (aihwkit's (w_max - w_min) / dw_min). Only meaningful when the trains were long enough to
  reach both bounds (``bounds_reached``);
- ``w_highest`` / ``w_lowest``: mean over devices of the highest / lowest weight touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..config import DeviceConfig
from .devices import DeviceArrays, draw_devices, step_once


PROBE_PULSES = 32  # single pulses from w = 0 per device and direction to measure the step sizes


@dataclass
class ResponseSummary:
    states: float | None  # (plateau_up - plateau_down) / mean step
    plateau_up: float | None  # mean weight after the last pulse of an up train
    plateau_down: float | None
    spread_plateau_up: float | None  # device-to-device std of the plateau
    spread_plateau_down: float | None
    w_highest: float  # mean over devices of the highest weight touched
    w_lowest: float
    asymmetry: float
    step_up: float
    step_down: float
    bounds_reached: bool  # both bounds reached (within a step) by at least 90 % of the devices
    nominal_states: float  # (w_max - w_min) / dw_min of the configuration


@dataclass
class PulseResponse:
    pulses: np.ndarray  # (P,) +1 for an up pulse, -1 for a down pulse
    mean: np.ndarray  # (P + 1,) mean weight over devices, after each pulse (index 0: the start)
    std: np.ndarray  # (P + 1,) std over devices
    summary: ResponseSummary
    traces: np.ndarray  # (P + 1, devices) every device's weight

    def to_dict(self) -> dict:
        return {
            "pulses": self.pulses.tolist(),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "summary": asdict(self.summary),
        }


def pulse_response(
    device: DeviceConfig, up: int, down: int, cycles: int, devices: int, rng: np.random.Generator
) -> PulseResponse:
    """Apply ``cycles`` x (``up`` up pulses, then ``down`` down pulses) to ``devices`` devices."""
    dev, pulses, trace = device_traces(device, up, down, cycles, devices, rng)
    everyone = np.ones((1, devices), dtype=bool)
    nobody = np.zeros((1, devices), dtype=bool)
    step_up = _probe_step(dev, everyone, nobody, rng)
    step_down = -_probe_step(dev, nobody, everyone, rng)

    highest, lowest = trace.max(axis=0), trace.min(axis=0)
    # Reached: within one of the device's own steps (soft bounds only approach the bound).
    at_top = highest >= dev.w_max[0] - dev.dw_up[0]
    at_bottom = lowest <= dev.w_min[0] + dev.dw_down[0]
    cycle = np.arange(cycles) * (up + down)
    top = trace[cycle + up].mean(axis=0) if up else None  # per device, over the cycles
    bottom = trace[cycle + up + down].mean(axis=0) if down else None
    mean_step = 0.5 * (step_up + step_down)
    states = None
    if top is not None and bottom is not None:
        states = float(top.mean() - bottom.mean()) / mean_step if mean_step > 0 else float("inf")
    summary = ResponseSummary(
        states=states,
        plateau_up=_mean(top),
        plateau_down=_mean(bottom),
        spread_plateau_up=_std(top),
        spread_plateau_down=_std(bottom),
        w_highest=float(highest.mean()),
        w_lowest=float(lowest.mean()),
        asymmetry=(step_up - step_down) / (step_up + step_down) if mean_step > 0 else 0.0,
        step_up=step_up,
        step_down=step_down,
        bounds_reached=bool(at_top.mean() >= 0.9 and at_bottom.mean() >= 0.9),
        nominal_states=device.states,
    )
    return PulseResponse(pulses=pulses, mean=trace.mean(axis=1), std=trace.std(axis=1), summary=summary, traces=trace)


def device_traces(
    device: DeviceConfig, up: int, down: int, cycles: int, devices: int, rng: np.random.Generator
) -> tuple[DeviceArrays, np.ndarray, np.ndarray]:
    """The devices drawn, the pulses (+1 up, -1 down) and the weight of every device before and
    after each pulse, (P + 1, devices), from w = 0: the simulated measurement."""
    if device.type == "ideal":
        raise ValueError("an ideal device has no pulses")
    if up < 0 or down < 0 or cycles < 1 or devices < 1 or up + down == 0:
        raise ValueError("need up, down >= 0 with up + down >= 1, cycles >= 1 and devices >= 1")
    dev = draw_devices(device, (1, devices), rng)
    everyone = np.ones((1, devices), dtype=bool)
    nobody = np.zeros((1, devices), dtype=bool)
    pulses = np.tile(np.r_[np.ones(up, dtype=np.int8), -np.ones(down, dtype=np.int8)], cycles)
    trace = np.empty((pulses.size + 1, devices))
    w = np.zeros((1, devices))
    trace[0] = w[0]
    for k, direction in enumerate(pulses, start=1):
        if direction > 0:
            step_once(w, everyone, nobody, dev, rng)
        else:
            step_once(w, nobody, everyone, dev, rng)
        trace[k] = w[0]
    return dev, pulses, trace


def _mean(values: np.ndarray | None) -> float | None:
    return None if values is None else float(values.mean())


def _std(values: np.ndarray | None) -> float | None:
    return None if values is None else float(values.std())


def _probe_step(dev: DeviceArrays, up: np.ndarray, down: np.ndarray, rng: np.random.Generator) -> float:
    """Mean weight change of one pulse applied at w = 0 (PROBE_PULSES repeats per device)."""
    total = 0.0
    for _ in range(PROBE_PULSES):
        probe = np.zeros(up.shape)
        step_once(probe, up, down, dev, rng)
        total += float(probe.mean())
    return total / PROBE_PULSES
