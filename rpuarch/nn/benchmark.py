"""The training benchmark: characters per second of LSTM training, RPU and twin.

Setup of the reference measurement (so that numbers compare with aihwkit's): the installed Linux
headers as text, a 1 x 64 LSTM with a softmax layer, windows of 50 steps, SGD with lr 0.05 on
the loss summed over a window, the gokmen-vlasov-2016 device with its periphery (7-bit DAC,
9-bit ADC, 6 % output noise, noise and bound management), BL 10, update and BL management.

Cases: exact-mode RPU training with one stream (one rank-1 pulsed update per character, in
order), the floating-point twin with one stream, and 32 streams with aggregated updates (RPU and
twin). Each case trains from the initial weights through consecutive windows of the corpus; every
window (forward, backward, update) is timed by the wall clock and by the process CPU clock, after
two warm-up windows. As in the tile benchmark, the median CPU rate is compared with the target
(the machine is shared: the wall clock also counts waiting for a core). A second, instrumented
pass splits the time into the tiles' forward, backward and update calls and the rest (the LSTM
cell, softmax, loss and batching: this module's code).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import numpy as np

from ..config import resolve
from ..config.workload import Workload
from ..blas import blas_threads
from ..memory import keep_freed_memory
from .data import StreamBatches, check_trainable
from .train import build_networks, load_data

# (name, streams, update mode, network, target char/s, reference simulator's char/s)
CASES = (
    ("RPU exact, 1 stream", 1, "exact", "rpu", 7_000, 3_300),
    ("FP twin, 1 stream", 1, "exact", "fp", 15_000, 5_800),
    ("RPU aggr., 32 streams", 32, "aggregated", "rpu", 50_000, None),
    ("FP twin, 32 streams", 32, "aggregated", "fp", None, None),
)
REFERENCE_NOTE = (
    "aihwkit 1.2 (CPU build, one thread) on this setup: 3,300 char/s with the RPU device, 5,800 with its"
    " floating-point tiles; torch nn.LSTM ~50,000."
)


@dataclass
class TrainCase:
    name: str
    streams: int
    update_mode: str
    cpu: float  # median char/s by the process CPU clock
    wall: float  # median char/s by the wall clock
    best_wall: float
    target: float | None
    reference: float | None
    windows: int
    shares: dict[str, float] = field(default_factory=dict)  # fraction of the time per part
    final_loss: float = float("nan")  # nats/char of the last timed window

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.cpu >= self.target


@dataclass
class TrainBenchResult:
    cases: list[TrainCase]
    corpus: str
    vocab_size: int
    load_before: float
    load_after: float
    cpu_count: int

    def to_dict(self) -> dict:
        return {
            "cases": [{**asdict(c), "meets_target": c.meets_target} for c in self.cases],
            "corpus": self.corpus,
            "vocab_size": self.vocab_size,
            "load_before": self.load_before,
            "load_after": self.load_after,
            "cpu_count": self.cpu_count,
        }


def reference_workload(streams: int, update_mode: str, dataset: dict | None = None, seed: int = 0) -> Workload:
    raw = {
        "name": "bench-train",
        "seed": seed,
        "dataset": dataset or {"name": "linux-headers"},
        "network": {"layers": 1, "hidden": 64},
        "training": {"lr": 0.05, "streams": streams, "seq_length": 50, "update_mode": update_mode},
        "device": {"preset": "gokmen-vlasov-2016"},
        "update": {"desired_bl": 10},
        "io": {"forward": {"inp_bits": 7, "out_bits": 9}, "backward": {"inp_bits": 7, "out_bits": 9}},
    }
    workload, _ = resolve(raw, "bench train")
    return workload


class _Timed:
    """Wraps a bound method and adds its wall time to ``totals[key]``."""

    def __init__(self, method, totals: dict[str, float], key: str):
        self.method, self.totals, self.key = method, totals, key

    def __call__(self, *args):
        start = time.perf_counter()
        try:
            return self.method(*args)
        finally:
            self.totals[self.key] += time.perf_counter() - start


def _instrument(model, totals: dict[str, float]) -> None:
    for array in model.arrays:
        array.forward = _Timed(array.forward, totals, "tile forward")
        array.backward = _Timed(array.backward, totals, "tile backward")
        array.update = _Timed(array.update, totals, "tile update")


def _run_case(spec, data, seconds: float, dataset: dict | None, seed: int) -> TrainCase:
    name, streams, mode, network, target, reference = spec
    workload = reference_workload(streams, mode, dataset, seed)
    batches: StreamBatches = check_trainable(data, streams, 50)
    lr = workload.training.lr

    def fresh():
        return build_networks(workload, data.vocab.size)[network]

    model = fresh()
    state = model.initial_state(streams)
    window = 0
    for _ in range(2):  # warm-up: loads the compiled kernels
        _, state = model.train_window(*batches.window(window), state, lr)
        window += 1
    wall, cpu, loss = [], [], float("nan")
    start = time.perf_counter()
    while (time.perf_counter() - start < seconds or len(wall) < 3) and window < batches.windows:
        ids, targets = batches.window(window)
        w0, c0 = time.perf_counter(), time.process_time()
        loss, state = model.train_window(ids, targets, state, lr)
        c1, w1 = time.process_time(), time.perf_counter()
        wall.append(w1 - w0)
        cpu.append(max(c1 - c0, 1e-9))
        window += 1
    chars = batches.chars_per_window
    wall_rates, cpu_rates = chars / np.asarray(wall), chars / np.asarray(cpu)

    # Where the time goes: a shorter instrumented pass on a fresh network.
    totals = {"tile forward": 0.0, "tile backward": 0.0, "tile update": 0.0}
    probe = fresh()
    _instrument(probe, totals)
    probe_state = probe.initial_state(streams)
    _, probe_state = probe.train_window(*batches.window(0), probe_state, lr)
    for key in totals:
        totals[key] = 0.0
    probe_start = time.perf_counter()
    k = 1
    while time.perf_counter() - probe_start < seconds / 2 and k < batches.windows:
        _, probe_state = probe.train_window(*batches.window(k), probe_state, lr)
        k += 1
    elapsed = time.perf_counter() - probe_start
    shares = {key: value / elapsed for key, value in totals.items()}
    shares["network code"] = max(0.0, 1.0 - sum(shares.values()))
    return TrainCase(
        name, streams, mode, float(np.median(cpu_rates)), float(np.median(wall_rates)), float(wall_rates.max()),
        target, reference, len(wall), shares, loss / chars,
    )


def benchmark_training(seconds: float = 5.0, seed: int = 0, dataset: dict | None = None, progress=None) -> TrainBenchResult:
    """Time every case for about ``seconds`` (plus half of that instrumented); ``progress(name)``
    is called before each. ``dataset`` replaces the Linux headers (e.g. {"path": ...})."""
    workload = reference_workload(1, "exact", dataset, seed)
    data = load_data(workload)
    load_before = os.getloadavg()[0]
    cases = []
    keep_freed_memory()
    with blas_threads(1):
        for spec in CASES:
            if progress:
                progress(spec[0])
            cases.append(_run_case(spec, data, seconds, dataset, seed))
    return TrainBenchResult(cases, data.corpus.report.source, data.vocab.size, load_before, os.getloadavg()[0], os.cpu_count() or 0)


# ---------------------------------------------------------------------------- a workload's own networks
def _time_windows(models: list, batches: StreamBatches, lr: float, seconds: float, threads: int,
                  windows_each: int | None = None) -> tuple[float, float, int, float]:
    """Train ``models`` from their initial state over consecutive windows, for about ``seconds``
    each or ``windows_each`` windows each, on ``threads`` threads as ``train`` does (each model in a
    thread of its own, meeting the other only at the end, as at the end of an epoch; the updates in
    a pool), or on one: (characters per second by the wall clock, by the process CPU clock, windows
    of the first model, the first model's last loss in nats/char)."""
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool, \
            ThreadPoolExecutor(len(models)) if threads > 1 and len(models) > 1 else nullcontext() as runners:
        return _timed_windows(models, batches, lr, seconds, pool, runners, windows_each)


def _timed_windows(models, batches, lr, seconds, pool, runners, windows_each) -> tuple[float, float, int, float]:
    states = [m.initial_state(batches.streams) for m in models]
    for k, m in enumerate(models):  # warm-up window: loads the compiled kernels
        _, states[k] = m.train_window(*batches.window(0), states[k], lr)
    done, losses = [0] * len(models), [float("nan")] * len(models)

    def more(k: int) -> bool:
        if done[k] + 1 >= batches.windows:
            return False
        if windows_each is not None:
            return done[k] < windows_each
        return time.perf_counter() - w0 < seconds or done[k] < 3

    def train(k: int) -> None:
        while more(k):
            losses[k], states[k] = models[k].train_window(*batches.window(done[k] + 1), states[k], lr, None, pool)
            done[k] += 1

    w0, c0 = time.perf_counter(), time.process_time()
    if runners is None:
        for k in range(len(models)):
            train(k)
    else:
        list(runners.map(train, range(len(models))))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    chars = sum(done) * batches.chars_per_window
    return chars / wall, chars / max(cpu, 1e-9), done[0], losses[0] / batches.chars_per_window


def benchmark_workload(workload: Workload, seconds: float = 5.0, threads: int = 2, progress=None) -> TrainBenchResult:
    """Training speed of a workload's own RPU network and twin: each alone on one thread, then
    (``threads`` > 1) the RPU network alone with its updates overlapped, and both networks side by
    side, as ``rpuarch train --threads`` runs them. Every case trains fresh networks from the same
    initial weights over the first windows of the corpus; rates by the wall clock (the threaded
    cases) and the process CPU clock. One case on two threads shows its speed-up over one only
    when the machine has a second core free."""
    data = load_data(workload)
    cfg = workload.training
    batches = check_trainable(data, cfg.streams, cfg.seq_length)
    mode = cfg.update_mode
    specs = [(f"RPU {mode}, {cfg.streams} streams, 1 thread", ("rpu",), 1),
             (f"FP twin, {cfg.streams} streams, 1 thread", ("fp",), 1)]
    if threads > 1:
        specs += [(f"RPU {mode}, {threads} threads (updates overlapped)", ("rpu",), threads),
                  (f"RPU and twin side by side, {threads} threads", ("rpu", "fp"), threads)]
    load_before = os.getloadavg()[0]
    cases = []
    keep_freed_memory()
    with blas_threads(1):
        for name, labels, n in specs:
            if progress:
                progress(name)
            networks = build_networks(workload, data.vocab.size)
            # Side by side, both networks train as many windows as the RPU network did alone, so that
            # the case compares with training the two one after another.
            same_work = cases[0].windows if len(labels) > 1 else None
            wall, cpu, windows, loss = _time_windows([networks[label] for label in labels], batches, cfg.lr, seconds, n,
                                                     same_work)
            cases.append(TrainCase(name, cfg.streams, mode, cpu, wall, wall, None, None, windows, {}, loss))
    return TrainBenchResult(cases, data.corpus.report.source, data.vocab.size, load_before, os.getloadavg()[0], os.cpu_count() or 0)
