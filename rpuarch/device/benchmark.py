"""The tile benchmark: rank-1 updates and forward vectors per second on the LSTM tile.

Setup (fixed, so that numbers compare with the reference simulator's): a 256 x 161 tile (the
first LSTM layer of a 1 x 64 network on a 97-character vocabulary), the gokmen-vlasov-2016
device and periphery, BL = 10, lr = 0.05, update and BL management on. Rank-1 pairs as the LSTM
produces them: x = a one-hot over the first 97 inputs, 63 values uniform in [-0.8, 0.8] and a
constant 1; d normal with std 0.002, 0.02 and 0.1 (few to many coincidences). Tiki-Taka, TTv2 and c-TTv2
(rpuarch.device.transfer) at d std 0.02 at their defaults for 32 streams (Tiki-Taka: a transfer
every 32 rank-1 updates, one mini-batch; TTv2 and c-TTv2: one after every update, as aihwkit's presets), timed
in turn with the plain exact update on the same pairs.

Each case is timed over repeated calls for about ``seconds`` of wall time; each call is timed by
the wall clock and by the process's CPU clock. The machine is shared: a call longer than the
scheduler's time slice waits for a core while other processes run, which the wall clock counts
and the CPU clock does not. The median CPU rate (what this process achieves while it runs) is
what is compared with the targets; the median and best wall rates and the 1-minute load average
are recorded with it.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..blas import blas_threads as limit_blas_threads
from ..config import resolve
from .tile import AnalogTile
from .transfer import TransferTile, transfer_settings

OUT_SIZE, IN_SIZE, VOCAB, HIDDEN = 256, 161, 97, 63
LR = 0.05
D_STDS = (0.002, 0.02, 0.1)
# Rates of aihwkit 1.2 (C++ CPU build, one thread) on exactly this setup; targets 2x.
REFERENCE_UPDATES = {0.002: 67_000, 0.02: 10_000, 0.1: 2_200}
TARGET_UPDATES = {0.002: 134_000, 0.02: 20_000, 0.1: 4_400}
TARGET_AGGREGATED = 100_000  # at d std 0.02, batches of 1,600
REFERENCE_FORWARD = {32: 80_000, 1: 18_000}
# Transfer algorithms at their LSTM defaults with 32 streams, each timed in turn with the plain exact update: the target is half the plain rate (within 2x).
TRANSFER_ALGORITHMS = ("tiki-taka", "ttv2", "c-ttv2")
TRANSFER_STREAMS = 32
TARGET_FORWARD = {32: 160_000, 1: 36_000}


@dataclass
class Case:
    name: str
    unit: str
    cpu: float  # median rate by the process CPU clock
    wall: float  # median rate by the wall clock
    best_wall: float
    target: float | None
    reference: float | None  # aihwkit's rate on the same setup
    calls: int
    detail: dict = field(default_factory=dict)

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.cpu >= self.target


@dataclass
class BenchResult:
    cases: list[Case]
    load_before: float
    load_after: float
    blas_threads: int | None
    backend: str
    cpu_count: int

    def to_dict(self) -> dict:
        return {
            "cases": [{**asdict(c), "meets_target": c.meets_target} for c in self.cases],
            "load_before": self.load_before,
            "load_after": self.load_after,
            "blas_threads": self.blas_threads,
            "backend": self.backend,
            "cpu_count": self.cpu_count,
        }


def lstm_pairs(n: int, d_std: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n rank-1 pairs (x, d) shaped like those of the first LSTM layer."""
    x = np.zeros((n, IN_SIZE))
    x[np.arange(n), rng.integers(0, VOCAB, n)] = 1.0
    x[:, VOCAB:VOCAB + HIDDEN] = rng.uniform(-0.8, 0.8, (n, HIDDEN))
    x[:, -1] = 1.0
    return x, rng.normal(0.0, d_std, (n, OUT_SIZE))


def benchmark_tile(seconds: float = 1.0, seed: int = 0, backend: str = "numba", blas_threads: int | None = 1,
                   progress=None) -> BenchResult:
    """Run every case for about ``seconds``; ``progress(name)`` is called before each.

    ``blas_threads``: OpenBLAS threads while it runs (rpuarch.blas; restored afterwards), or None
    to leave the library's setting. The products are small (256 x 161): on a busy 2-core machine
    a second BLAS thread only waits for a core."""
    with limit_blas_threads(blas_threads) if blas_threads else nullcontext(0) as limited:
        cases, load_before, load_after = _run_cases(seconds, seed, backend, progress)
    return BenchResult(cases, load_before, load_after, blas_threads if limited else None, backend, os.cpu_count() or 0)


def _run_cases(seconds: float, seed: int, backend: str, progress) -> tuple[list[Case], float, float]:
    """(cases, 1-minute load average before, after)."""
    workload, _ = resolve({"device": {"preset": "gokmen-vlasov-2016"}, "update": {"desired_bl": 10}}, "bench tile")
    rng = np.random.default_rng(seed)

    def tile(mode: str) -> AnalogTile:
        t = AnalogTile(OUT_SIZE, IN_SIZE, workload.device, workload.io, workload.update,
                       np.random.default_rng(seed), mode)
        t.backend = backend  # type: ignore[assignment]
        t.weights = rng.normal(0.0, 0.1, (OUT_SIZE, IN_SIZE))
        return t

    def transfer_tile(algorithm: str) -> TransferTile:
        device = workload.device.model_copy(update={"algorithm": algorithm})
        t = TransferTile(OUT_SIZE, IN_SIZE, device, workload.io, workload.update, np.random.default_rng(seed), "exact",
                         transfer_settings(device, workload.io, workload.update, TRANSFER_STREAMS))
        for array in (t.fast, t.slow, t._view):
            array.backend = backend  # type: ignore[assignment]
        t.weights = rng.normal(0.0, 0.1, (OUT_SIZE, IN_SIZE))
        return t

    load_before = os.getloadavg()[0]
    cases = []
    for d_std in D_STDS:
        name = f"update exact, d std {d_std}"
        if progress:
            progress(name)
        t = tile("exact")
        batches = [lstm_pairs(200, d_std, rng) for _ in range(8)]
        *rates, calls = _time_calls(lambda k: t.update(*batches[k % len(batches)], LR), 200, seconds)
        a = t.activity
        cases.append(Case(name, "rank-1 updates/s", *rates, TARGET_UPDATES[d_std], REFERENCE_UPDATES[d_std],
                          calls, {"coincidences_per_update": a.coincidences / a.updates,
                                  "mean_bl": a.update_bl / a.updates}))
    for algorithm in TRANSFER_ALGORITHMS:
        plain, fast = tile("exact"), transfer_tile(algorithm)
        every = fast.settings.every
        name = f"update {algorithm} exact, d std 0.02 (a transfer every {every} update{'s' if every > 1 else ''})"
        if progress:
            progress(name)
        batches = [lstm_pairs(200, 0.02, rng) for _ in range(8)]
        (*plain_rates, _), (*rates, calls) = _time_interleaved(
            [lambda k: plain.update(*batches[k % len(batches)], LR), lambda k: fast.update(*batches[k % len(batches)], LR)],
            200, seconds)
        a = fast.activity
        cases.append(Case(name, "rank-1 updates/s", *rates, plain_rates[0] / 2, None, calls, {
            "plain_exact_cpu": plain_rates[0], "slowdown": plain_rates[0] / rates[0],
            "transfers_per_update": a.transfers / a.updates,
            "transfer_pulses_per_transfer": (a.transfer_x_pulses + a.transfer_d_pulses) / max(a.transfers, 1)}))
    name = "update aggregated, d std 0.02, batch 1600"
    if progress:
        progress(name)
    t = tile("aggregated")
    batches = [lstm_pairs(1600, 0.02, rng) for _ in range(2)]
    *rates, calls = _time_calls(lambda k: t.update(*batches[k % 2], LR), 1600, seconds)
    cases.append(Case(name, "rank-1 updates/s", *rates, TARGET_AGGREGATED, None, calls,
                      {"coincidences_per_update": t.activity.coincidences / t.activity.updates}))
    for batch in (32, 1):
        name = f"forward, batch {batch}"
        if progress:
            progress(name)
        t = tile("exact")
        inputs = [lstm_pairs(batch, 0.02, rng)[0] for _ in range(16)]
        *rates, calls = _time_calls(lambda k: t.forward(inputs[k % 16]), batch, seconds)
        a = t.activity
        cases.append(Case(name, "vectors/s", *rates, TARGET_FORWARD[batch], REFERENCE_FORWARD[batch],
                          calls, {"bm_repeats_per_vector": a.forward_repeats / a.forward_vectors}))
    return cases, load_before, os.getloadavg()[0]


def _time_calls(call, items_per_call: int, seconds: float) -> tuple[float, float, float, int]:
    """(median CPU rate, median wall rate, best wall rate, calls): time single calls until
    ``seconds`` of wall time have passed (at least 3 calls)."""
    return _time_interleaved([call], items_per_call, seconds)[0]


def _time_interleaved(calls: list, items_per_call: int, seconds: float) -> list[tuple[float, float, float, int]]:
    """``_time_calls`` of several calls taken in turn (A, B, A, B, ...), so that their rates are
    measured under the same load: one tuple per call."""
    for call in calls:
        call(0)  # warm up (numba compilation is cached on disk, but the first call loads it)
    wall: list[list[float]] = [[] for _ in calls]
    cpu: list[list[float]] = [[] for _ in calls]
    start = time.perf_counter()
    k = 0
    while time.perf_counter() - start < seconds * len(calls) or k < 3:
        for i, call in enumerate(calls):
            w0, c0 = time.perf_counter(), time.process_time()
            call(k)
            c1, w1 = time.process_time(), time.perf_counter()
            wall[i].append(w1 - w0)
            cpu[i].append(max(c1 - c0, 1e-9))
        k += 1
    out = []
    for w, c in zip(wall, cpu):
        wall_rates = items_per_call / np.asarray(w)
        cpu_rates = items_per_call / np.asarray(c)
        out.append((float(np.median(cpu_rates)), float(np.median(wall_rates)), float(wall_rates.max()), k))
    return out
