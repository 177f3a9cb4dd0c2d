"""The schedule of training (or inference) windows: operations and what each waits for.

Training, one window of ``steps`` time steps over ``streams`` streams:
- forward: array a at step t (for a group of streams) waits for its source array at t and, when
  recurrent, for itself at t-1; storing its activations for back-propagation follows it, and
  nothing but its backward waits for the store;
- backward (BPTT, in reverse): array a at t waits for its own forward at t, for the arrays it
  feeds at t (their errors) and, when recurrent, for itself at t+1;
- update: once all of an array's backward products of the window are done (the weights must not
  change under BPTT), its rank-1 updates one after another;
- the next window's forward of an array waits for that array's last update.
Inference is the forward part alone, the recurrent state carried from window to window.

Streams are grouped into ``chunks`` operations per (array, step): a group of vectors passes each
stage back to back. One vector per operation is exact; groups bound the number of events for
large batches (the schedule chooses the group size, the output records it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .program import Program, Work

# Operations per simulated window above which streams are grouped (keeps an estimate well under
# a second: SimPy handles ~100k stage events per second here).
OPS_PER_WINDOW = {"training": 4000, "inference": 1500}
# Operations per array and step: forward, store, backward, update (training); forward (inference).
OPS_PER_STEP = {"training": 4, "inference": 1}


@dataclass(frozen=True)
class Op:
    index: int
    work: Work | None  # None: a barrier (all of an array's backward products done)
    array: int
    phase: str
    window: int
    step: int
    chunk: int
    vectors: float  # rank-1 updates of a copy may exceed its own streams (replicas)
    passes: int
    deps: tuple[int, ...]
    stages: tuple[tuple[str, float], ...]
    energy: dict[str, float]  # joules by component

    @property
    def duration(self) -> float:
        return sum(d for _, d in self.stages)


@dataclass(frozen=True)
class Schedule:
    program: Program
    ops: tuple[Op, ...]
    windows: int
    chunk_sizes: tuple[int, ...]
    training: bool

    @property
    def streams_per_op(self) -> int:
        return max(self.chunk_sizes)

    def window_ops(self, window: int) -> list[Op]:
        return [op for op in self.ops if op.window == window]


def ops_per_step(training: bool) -> int:
    return OPS_PER_STEP["training" if training else "inference"]


def chunk_sizes(streams: int, steps: int, arrays: int, training: bool, chunks: int | None = None,
                budget: int | None = None) -> tuple[int, ...]:
    """Near-equal groups of streams; as many groups as the event budget allows (at most one per stream)."""
    if chunks is None:
        budget = budget or OPS_PER_WINDOW["training" if training else "inference"]
        chunks = max(1, budget // max(1, ops_per_step(training) * arrays * steps))
    chunks = max(1, min(streams, chunks))
    edges = [round(i * streams / chunks) for i in range(chunks + 1)]
    return tuple(b - a for a, b in zip(edges[:-1], edges[1:]))


def build_schedule(program: Program, windows: int, chunks: int | None = None, budget: int | None = None) -> Schedule:
    network = program.network
    training = program.training
    n_arrays = len(network.roles)
    steps = network.steps
    sizes = chunk_sizes(network.streams_per_replica, steps, n_arrays, training, chunks, budget)
    # Every copy applies the updates of all streams: per own vector, streams / own streams of them.
    updates_per_vector = network.streams / network.streams_per_replica
    ops: list[Op] = []

    def add(work: Work | None, array: int, phase: str, window: int, step: int, chunk: int, vectors: float,
            passes: int, deps: list[int]) -> int:
        if work is None:
            stages, energy = (), {}
        else:
            durations = ((s.resource, s.duration(vectors, passes)) for s in work.stages)
            stages = tuple((r, d) for r, d in durations if d > 0)
            energy = work.energy(vectors, passes)
        ops.append(Op(len(ops), work, array, phase, window, step, chunk, vectors, passes, tuple(deps), stages, energy))
        return len(ops) - 1

    last_update: list[int | None] = [None] * n_arrays
    previous_forward: dict[tuple[int, int], int] = {}  # (array, chunk) -> last forward op (inference carry)
    for w in range(windows):
        forward: dict[tuple[int, int, int], int] = {}
        stored: dict[tuple[int, int, int], int] = {}
        done_vectors = [0] * n_arrays
        done_extra = [0] * n_arrays
        for t in range(steps):
            for a, role in enumerate(network.roles):
                work = program.works[(a, "forward")]
                for j, size in enumerate(sizes):
                    deps = []
                    if role.source is not None:
                        deps.append(forward[(role.source, t, j)])
                    if role.recurrent and t > 0:
                        deps.append(forward[(a, t - 1, j)])
                    if t == 0 or not role.recurrent:
                        if training and last_update[a] is not None:
                            deps.append(last_update[a])
                        elif not training and role.recurrent and (a, j) in previous_forward:
                            deps.append(previous_forward[(a, j)])
                    # Bound-management repeats spread evenly over the window's vectors.
                    done_vectors[a] += size
                    extra = math.floor(done_vectors[a] * work.repeats + 0.5) - done_extra[a]
                    done_extra[a] += extra
                    forward[(a, t, j)] = add(work, a, "forward", w, t, j, size, size + extra, deps)
                    if training:
                        stored[(a, t, j)] = add(program.works[(a, "store")], a, "forward", w, t, j, size, 0,
                                                [forward[(a, t, j)]])
        if not training:
            for a in range(n_arrays):
                for j in range(len(sizes)):
                    previous_forward[(a, j)] = forward[(a, steps - 1, j)]
            continue

        backward: dict[tuple[int, int, int], int] = {}
        for t in reversed(range(steps)):
            for a in reversed(range(n_arrays)):
                role = network.roles[a]
                work = program.works[(a, "backward")]
                for j, size in enumerate(sizes):
                    deps = [stored[(a, t, j)]]
                    deps += [backward[(c, t, j)] for c in network.consumers(a)]
                    if role.recurrent and t < steps - 1:
                        deps.append(backward[(a, t + 1, j)])
                    backward[(a, t, j)] = add(work, a, "backward", w, t, j, size, size, deps)

        for a in range(n_arrays):
            barrier = add(None, a, "barrier", w, 0, 0, 0, 0,
                          [backward[(a, t, j)] for t in range(steps) for j in range(len(sizes))])
            work = program.works[(a, "update")]
            previous = barrier
            for t in range(steps):
                for j, size in enumerate(sizes):
                    previous = add(work, a, "update", w, t, j, size * updates_per_vector, 0, [previous])
            last_update[a] = previous
    return Schedule(program, tuple(ops), windows, sizes, training)
