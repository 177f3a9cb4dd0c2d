"""The simulated schedule as a Chrome trace-event file (open it in https://ui.perfetto.dev).

One track (thread) per unit of a resource (a bus of 16 links gets up to 16 tracks, as many as
were busy at once), one complete event ("ph": "X") per stage an operation held it, timestamps in
microseconds as the format requires.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Any

from .des import Interval, SimResult
from .schedule import Schedule


def lanes(intervals: list[Interval]) -> list[int]:
    """A lane per interval such that intervals of one lane never overlap (greedy, by start)."""
    order = sorted(range(len(intervals)), key=lambda i: (intervals[i].start, i))
    free: list[tuple[float, int]] = []  # (end, lane)
    count = 0
    out = [0] * len(intervals)
    for i in order:
        if free and free[0][0] <= intervals[i].start:
            _, lane = heapq.heappop(free)
        else:
            lane, count = count, count + 1
        out[i] = lane
        heapq.heappush(free, (intervals[i].end, lane))
    return out


def chrome_trace(schedule: Schedule, result: SimResult, title: str) -> dict[str, Any]:
    by_resource: dict[str, list[Interval]] = defaultdict(list)
    for iv in result.intervals:
        by_resource[iv.resource].append(iv)
    events: list[dict[str, Any]] = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": title}}]
    roles = schedule.program.network.roles
    tid = 0
    for resource in sorted(by_resource, key=_track_order):
        intervals = by_resource[resource]
        assigned = lanes(intervals)
        multi = schedule.program.capacities[resource] > 1
        first = tid + 1
        for lane in range(max(assigned) + 1):
            name = f"{resource}[{lane}]" if multi else resource
            events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": first + lane, "args": {"name": name}})
            events.append({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": first + lane,
                           "args": {"sort_index": first + lane}})
        tid = first + max(assigned)
        for iv, lane in zip(intervals, assigned):
            op = schedule.ops[iv.op]
            events.append({
                "name": f"{op.phase} {roles[op.array].name} t={op.step}",
                "cat": op.phase,
                "ph": "X",
                "pid": 1,
                "tid": first + lane,
                "ts": iv.start * 1e6,
                "dur": (iv.end - iv.start) * 1e6,
                "args": {"window": op.window, "step": op.step, "streams": op.vectors, "passes": op.passes},
            })
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": {"title": title}}


def _track_order(resource: str) -> tuple[int, str, int]:
    """Each array's tile, ADC banks and vector unit together, the shared bus and memory last."""
    array, _, kind = resource.rpartition(".")
    order = ["tile", "adc_out", "adc_in", "vector_unit"]
    if not array:
        return (1, resource, 0)
    return (0, array, order.index(kind) if kind in order else len(order))
