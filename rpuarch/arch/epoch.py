"""A whole epoch from a few simulated windows in steady state.

Consecutive windows overlap only where the next window's forward may start on an array whose
updates are done while other arrays still update, so after a window or two every window takes
the same time (the period). The simulation runs until two consecutive periods agree; an epoch of
N windows then takes first window + (N - 1) * period, and its energy is N times a steady window's
dynamic energy plus the static power over the epoch.

Windows too long to simulate within the event budget even with all streams in one operation
(many layers times many steps) are simulated at two shorter lengths T1 < T2 and the window times
extrapolated linearly to the full length T: past the pipeline's fill, every further step adds
the same time (the slowest layer's forward and backward step and its updates), so window time is
affine in T. Per-window counts (energy, busy time) scale exactly with T / T2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .des import SimResult, simulate
from .program import Program, build_program
from .schedule import OPS_PER_WINDOW, Schedule, build_schedule, ops_per_step

# Fewest stream groups per (array, step): grouping g streams per operation passes them through
# each stage back to back; with 16 groups a window is within ~1 % of one stream per operation.
MIN_GROUPS = 16
PERIOD_TOLERANCE = 1e-9  # relative; the simulation is deterministic, so steady periods repeat exactly
FIRST_WINDOWS = 3
MAX_WINDOWS = 8


@dataclass(frozen=True)
class SteadyState:
    schedule: Schedule  # what was simulated
    result: SimResult
    window_ends: tuple[float, ...]  # of the simulated windows
    period_s: float  # of a full-length window
    first_window_s: float  # of a full-length window
    converged: bool
    steps_simulated: int
    scale: float  # full window steps / simulated window steps: multiplies per-window counts

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


def with_steps(program: Program, steps: int) -> Program:
    """The same program on windows of ``steps`` steps (the memory footprint of the full window)."""
    network = replace(program.network, steps=steps)
    return build_program(network, program.hardware, program.rates, program.training,
                         footprint_steps=program.network.steps)


def steady_state(program: Program, chunks: int | None = None, record: bool = False,
                 ops_budget: int | None = None) -> SteadyState:
    """Steady windows of ``program`` within ``ops_budget`` operations per simulated window.

    Streams are grouped (at least MIN_GROUPS groups, or one per stream when there are fewer); when
    full windows of that many groups exceed the budget, shortened windows are simulated and
    extrapolated to the full length.
    """
    training = program.training
    budget = ops_budget or OPS_PER_WINDOW["training" if training else "inference"]
    per_step = ops_per_step(training) * len(program.network.roles)
    steps, streams = program.network.steps, program.network.streams_per_replica
    floor = min(streams, MIN_GROUPS)
    groups = chunks or min(streams, max(budget // (per_step * steps), floor))
    if chunks is not None or per_step * steps * groups <= budget:
        return _simulate(program, groups, record)
    long_steps = max(2, budget // (2 * per_step * floor))
    short_steps = max(1, long_steps // 2)
    if long_steps >= steps:
        return _simulate(program, floor, record)
    short = _simulate(with_steps(program, short_steps), floor, False)
    long = _simulate(with_steps(program, long_steps), floor, record)
    slope = lambda a, b: (b - a) / (long_steps - short_steps)  # noqa: E731
    return replace(
        long,
        period_s=long.period_s + (steps - long_steps) * slope(short.period_s, long.period_s),
        first_window_s=long.first_window_s + (steps - long_steps) * slope(short.first_window_s, long.first_window_s),
        converged=short.converged and long.converged,
        scale=steps / long_steps,
    )


def _simulate(program: Program, chunks: int, record: bool) -> SteadyState:
    """Simulate FIRST_WINDOWS windows, doubling (up to MAX_WINDOWS) until two consecutive periods agree."""
    windows = FIRST_WINDOWS
    while True:
        schedule = build_schedule(program, windows, chunks)
        result = simulate(schedule, record=record)
        ends = window_ends(schedule, result)
        periods = [b - a for a, b in zip(ends[:-1], ends[1:])]
        converged = len(periods) >= 2 and math.isclose(periods[-1], periods[-2], rel_tol=PERIOD_TOLERANCE)
        if converged or windows >= MAX_WINDOWS:
            period = periods[-1] if periods else ends[0]
            return SteadyState(schedule, result, ends, period, ends[0], converged, program.network.steps, 1.0)
        windows = min(2 * windows, MAX_WINDOWS)
