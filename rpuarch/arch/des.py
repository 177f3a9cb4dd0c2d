"""Discrete-event simulation (SimPy) of a schedule on the chip's resources.

Each operation becomes a SimPy process once everything it waits for is done; it then passes its
stages in order, holding one unit of the stage's resource (a tile group, an ADC bank, a vector
unit, a bus link, a memory port) for the stage's duration. Requests queue first come, first
served, so the simulation shows what the analytical model cannot: operations waiting for a busy
resource (contention). Every finished operation charges its energy to its components.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import simpy

from .program import component_of
from .schedule import Schedule


@dataclass
class Interval:
    resource: str
    op: int
    start: float
    end: float


@dataclass
class SimResult:
    start: list[float]
    end: list[float]
    busy: dict[int, dict[str, dict[str, float]]]  # window -> resource -> phase -> seconds held
    wait: dict[int, dict[str, float]]  # window -> resource -> seconds operations queued for it
    energy: dict[int, dict[str, dict[str, float]]]  # window -> component -> phase -> joules
    events: int
    intervals: list[Interval] = field(default_factory=list)

    @property
    def makespan(self) -> float:
        return max(self.end, default=0.0)

    def window_end(self, schedule: Schedule, window: int) -> float:
        return max(self.end[op.index] for op in schedule.ops if op.window == window)


def simulate(schedule: Schedule, record: bool = False) -> SimResult:
    """Run the schedule; ``record`` keeps every stage interval (for the trace)."""
    program = schedule.program
    ops = schedule.ops
    env = simpy.Environment()
    resources = {name: simpy.Resource(env, capacity) for name, capacity in program.capacities.items()}
    waiting = [len(op.deps) for op in ops]
    successors: list[list[int]] = [[] for _ in ops]
    for op in ops:
        for d in op.deps:
            successors[d].append(op.index)
    start = [0.0] * len(ops)
    end = [0.0] * len(ops)
    busy = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    wait = defaultdict(lambda: defaultdict(float))
    energy = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
    intervals: list[Interval] = []
    events = 0

    def run(index: int):
        nonlocal events
        op = ops[index]
        start[index] = env.now
        window_busy, window_wait = busy[op.window], wait[op.window]
        for name, duration in op.stages:
            resource = resources[name]
            asked = env.now
            request = resource.request()
            yield request
            began = env.now
            window_wait[name] += began - asked
            yield env.timeout(duration)
            resource.release(request)
            window_busy[name][op.phase] += duration
            events += 1
            if record:
                intervals.append(Interval(name, index, began, env.now))
        end[index] = env.now
        window_energy = energy[op.window]
        for component, joules in op.energy.items():
            window_energy[component][op.phase] += joules
        for s in successors[index]:
            waiting[s] -= 1
            if waiting[s] == 0:
                env.process(run(s))

    for op in ops:
        if not op.deps:
            env.process(run(op.index))
    env.run()
    unfinished = [op.index for op in ops if waiting[op.index] > 0]
    if unfinished:  # a schedule bug, not a user error
        raise RuntimeError(f"schedule deadlock: {len(unfinished)} operations never became ready")
    return SimResult(start, end, _plain(busy), _plain(wait), _plain(energy), events, intervals)


def _plain(tree):
    return {k: _plain(v) for k, v in tree.items()} if isinstance(tree, dict) else tree


def busy_by_component(busy: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Seconds held, summed over the resources of each component (resource -> component)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for resource, phases in busy.items():
        for phase, seconds in phases.items():
            out[component_of(resource)][phase] += seconds
    return _plain(out)
