"""Analytical model of a schedule: two lower bounds on its makespan, no simulation.

- Critical path: the longest chain of dependent operations, each taking the sum of its stages,
  as if every resource were free whenever asked (no contention).
- Resource bound: the busiest resource's total work divided by its capacity.

The estimate is the larger of the two. It is exact when one bound is tight, e.g. a single stream
(every operation on a resource is ordered by dependencies, so nothing ever queues) or a long
batch that keeps one resource busy from start to end; in between, operations queue for shared
resources and the simulation is slower by the contention it reports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .schedule import Schedule


@dataclass(frozen=True)
class Bounds:
    critical_path_s: float
    resource_bound_s: float
    bottleneck: str  # the busiest resource
    load_s: dict[str, float]  # resource -> work / capacity

    @property
    def makespan_s(self) -> float:
        return max(self.critical_path_s, self.resource_bound_s)

    @property
    def limited_by(self) -> str:
        return "dependencies" if self.critical_path_s >= self.resource_bound_s else f"resource {self.bottleneck}"


def finish_times(schedule: Schedule) -> list[float]:
    """Earliest finish of every operation with unlimited resources (operations are built in
    dependency order)."""
    finish = [0.0] * len(schedule.ops)
    for op in schedule.ops:
        ready = max((finish[d] for d in op.deps), default=0.0)
        finish[op.index] = ready + op.duration
    return finish


def bounds(schedule: Schedule, window: int | None = None) -> Bounds:
    """Bounds on the whole schedule, or on one window's operations taken alone."""
    ops = schedule.ops if window is None else schedule.window_ops(window)
    if window is None:
        critical = max(finish_times(schedule), default=0.0)
    else:
        chosen = {op.index for op in ops}
        finish: dict[int, float] = {}
        for op in ops:
            ready = max((finish[d] for d in op.deps if d in chosen), default=0.0)
            finish[op.index] = ready + op.duration
        critical = max(finish.values(), default=0.0)
    work: dict[str, float] = defaultdict(float)
    for op in ops:
        for resource, duration in op.stages:
            work[resource] += duration
    capacities = schedule.program.capacities
    load = {r: w / capacities[r] for r, w in work.items()}
    bottleneck = max(load, key=load.get) if load else ""
    return Bounds(critical, load.get(bottleneck, 0.0), bottleneck, load)
