"""A whole epoch from a few simulated windows in steady state.

Consecutive windows overlap only where the next window's forward may start on an array whose
updates are done while other arrays still update, so after a window or two every window takes
the same time (the period). The simulation runs until two consecutive periods agree; an epoch of
N windows then takes first window + (N - 1) * period, and its energy is N times a steady window's
dynamic energy plus the static power over the epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .des import SimResult, simulate
from .program import Program
from .schedule import Schedule, build_schedule

PERIOD_TOLERANCE = 1e-9  # relative; the simulation is deterministic, so steady periods repeat exactly
FIRST_WINDOWS = 3
MAX_WINDOWS = 8


@dataclass(frozen=True)
class SteadyState:
    schedule: Schedule
    result: SimResult
    window_ends: tuple[float, ...]
    period_s: float
    converged: bool

    @property
    def first_window_s(self) -> float:
        return self.window_ends[0]

    @property
    def steady_window(self) -> int:
        """The last simulated window: the one the per-window statistics describe."""
        return len(self.window_ends) - 1

    def epoch_time_s(self, windows: int) -> float:
        return extrapolate(self.first_window_s, self.period_s, windows)


def extrapolate(first_window_s: float, period_s: float, windows: int) -> float:
    return first_window_s + max(0, windows - 1) * period_s


def window_ends(schedule: Schedule, result: SimResult) -> tuple[float, ...]:
    ends = [0.0] * schedule.windows
    for op in schedule.ops:
        ends[op.window] = max(ends[op.window], result.end[op.index])
    return tuple(ends)


def steady_state(program: Program, chunks: int | None = None, record: bool = False,
                 windows: int = FIRST_WINDOWS) -> SteadyState:
    """Simulate ``windows`` windows, doubling (up to MAX_WINDOWS) until two consecutive periods agree."""
    while True:
        schedule = build_schedule(program, windows, chunks)
        result = simulate(schedule, record=record)
        ends = window_ends(schedule, result)
        periods = [b - a for a, b in zip(ends[:-1], ends[1:])]
        converged = len(periods) >= 2 and math.isclose(periods[-1], periods[-2], rel_tol=PERIOD_TOLERANCE)
        if converged or windows >= MAX_WINDOWS:
            period = periods[-1] if periods else ends[0]
            return SteadyState(schedule, result, ends, period, converged)
        windows = min(2 * windows, MAX_WINDOWS)
