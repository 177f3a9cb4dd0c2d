"""Activity rates per array: what a forward pass and an update do on average.

From the counters a training run measured (train.json's ``activity``: TileActivity totals and,
per logical array, ``arrays.<name>``) when there are any, else from the workload's expected
``activity`` section. Training sums the counters of an array's tiles, and every tile of the
array counts every vector and update it takes part in: a logical update of an array split over
n tiles counts n updates, and its pulses are those of the lines of all n tiles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..config.workload import ActivityConfig
from ..device.activity import TileActivity
from .network import NetworkSpec


@dataclass(frozen=True)
class ArrayRates:
    bm_repeats: float  # extra analog forward passes per vector (bound management)
    bl: float  # mean pulse-train length of an update
    x_pulse_fraction: float  # pulses per input line per BL slot
    d_pulse_fraction: float  # pulses per output line per BL slot
    coincidences_per_device: float  # device steps per device per rank-1 update
    saturation: float | None  # fraction of forward outputs still clipped (measured only)
    input_fraction: float  # mean |x| of a read as a fraction of full scale (the workload's assumption)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expected_activity(expected: ActivityConfig, desired_bl: int) -> ArrayRates:
    """The workload's expected activity as the rates of an array."""
    coincidences = expected.coincidence_rate
    if coincidences is None:
        coincidences = desired_bl * expected.x_pulse_fraction * expected.d_pulse_fraction
    return ArrayRates(expected.bm_repeats, float(desired_bl), expected.x_pulse_fraction,
                      expected.d_pulse_fraction, coincidences, None, expected.input_fraction)


def expected_rates(network: NetworkSpec, expected: ActivityConfig, desired_bl: int) -> dict[str, ArrayRates]:
    rates = expected_activity(expected, desired_bl)
    return {role.name: rates for role in network.roles}


def measured_rates(network: NetworkSpec, activity: dict[str, Any], expected: ActivityConfig,
                   desired_bl: int) -> tuple[dict[str, ArrayRates], list[str]]:
    """Rates from measured counters; arrays without counters share the pooled totals."""
    notes: list[str] = []
    fallback = expected_rates(network, expected, desired_bl)
    per_array = activity.get("arrays") or {}
    totals = TileActivity.from_dict(activity)
    roles = network.roles
    out: dict[str, ArrayRates] = {}
    for role in roles:
        if role.name in per_array:
            counts, group = TileActivity.from_dict(per_array[role.name]), (role,)
        else:
            # Pooled: every array sees one update per (step, stream), so the totals divide over the
            # arrays' tiles; lines and devices are those of all arrays.
            counts, group = totals, roles
        tiles = sum(r.mapping.tiles for r in group)
        x_lines = sum(r.mapping.grid[0] * r.cols for r in group)
        d_lines = sum(r.mapping.grid[1] * r.rows for r in group)
        devices = sum(r.rows * r.cols for r in group)
        out[role.name] = _rates_of(counts, tiles, x_lines, d_lines, devices, fallback[role.name], role.name, notes)
    if not per_array:
        notes.append("activity: no per-array counters; every array uses the network's pooled rates.")
    return out, notes


def _rates_of(c: TileActivity, tiles: int, x_lines: int, d_lines: int, devices: int, fallback: ArrayRates,
              name: str, notes: list[str]) -> ArrayRates:
    """Rates per logical update from counters summed over ``tiles`` tiles, which drive ``x_lines``
    input and ``d_lines`` output lines and hold ``devices`` weights per logical update."""
    repeats = c.forward_repeats / c.forward_vectors if c.forward_vectors else fallback.bm_repeats
    saturation = c.forward_saturated / c.forward_outputs if c.forward_outputs else None
    if c.updates <= 0 or c.update_bl <= 0:
        notes.append(f"activity: {name} has no measured pulsed updates; its update uses the expected activity.")
        return replace(fallback, bm_repeats=repeats, saturation=saturation)
    bl = c.update_bl / c.updates
    logical_updates = c.updates / tiles
    x_fraction = _clipped(c.x_pulses / (logical_updates * bl * x_lines), f"{name} x pulse fraction", notes)
    d_fraction = _clipped(c.d_pulses / (logical_updates * bl * d_lines), f"{name} d pulse fraction", notes)
    coincidences = min(c.coincidences / (logical_updates * devices), bl)
    return ArrayRates(repeats, bl, x_fraction, d_fraction, coincidences, saturation, fallback.input_fraction)


def _clipped(value: float, what: str, notes: list[str]) -> float:
    if value > 1.0:
        notes.append(f"activity: measured {what} {value:.3g} exceeds 1 (one pulse per slot); clipped to 1.")
        return 1.0
    return value
