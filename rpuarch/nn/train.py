"""Train the RPU network and its floating-point twin on one workload: the Python API.

``train(loaded, out_dir)`` reads the corpus, builds the network twice on the same initial
weights (on analog tiles of the workload's device, periphery and update, and on ideal tiles with a
perfect periphery), trains both epoch by epoch on the same windows in the same order with the same
dropout masks, evaluates both after every epoch (the RPU one through its noisy analog forward
pass), and returns the train.json content (docs/training.md). With ``out_dir`` it also writes
``train.json`` and a checkpoint after every epoch (and on Ctrl-C); ``resume=True`` continues from
that checkpoint and ends with exactly the numbers of an uninterrupted run.

Random streams, all from ``workload.seed``: initial weights; tiles of the RPU network (one
generator per physical tile: device variation, noise, pulses); tiles of the twin; dropout masks
(the same stream for both networks). Data order is deterministic (char-rnn streams).
"""

from __future__ import annotations

import math
import os
import platform
import signal
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Executor, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .. import __version__
from ..config import PERFECT_IO, DeviceConfig, LoadedWorkload, Workload
from ..errors import ConfigError, TrainingDiverged
from ..files import atomic_write_json
from ..host import machine_load, speed_of_epochs
from ..mapping import lstm_arrays
from . import checkpoint
from .analog_matrix import TileFactory
from ..blas import blas_threads
from ..memory import keep_freed_memory
from .corpus import read_corpus
from ..report.warnings import warnings_of
from .data import CharData, StreamBatches, check_trainable, eval_batches, eval_windows, split_corpus, unigram_loss
from .model import CharLSTM, State, init_scale
from .twin_cache import TwinCache, twin_fields, twin_key

SCHEMA = "rpuarch.train/1"
NETWORKS = ("rpu", "fp")
LABELS = {"rpu": "RPU", "fp": "FP twin"}
BITS_PER_NAT = 1.0 / math.log(2.0)


def tile_factory(workload: Workload, floating_point: bool) -> TileFactory:
    """Tiles of the workload's device and periphery, or the ideal tiles of the twin."""
    from ..device.tile import AnalogTile

    device = DeviceConfig(type="ideal") if floating_point else workload.device
    io = PERFECT_IO if floating_point else workload.io
    update, mode = workload.update, workload.training.update_mode
    if device.algorithm != "sgd":
        from ..device.transfer import TransferTile, transfer_settings

        # aihwkit's LSTM updates its tiles once per time step: a mini-batch is one step of every stream.
        settings = transfer_settings(device, io, update, workload.training.streams)
        return lambda out_size, in_size, rng: TransferTile(out_size, in_size, device, io, update, rng, mode, settings)

    def make(out_size: int, in_size: int, rng: np.random.Generator) -> AnalogTile:
        return AnalogTile(out_size, in_size, device, io, update, rng, mode)

    return make


def build_networks(workload: Workload, vocab_size: int) -> dict[str, CharLSTM]:
    """The RPU network and its twin, on the same initial weights (clipped to the RPU's bounds)."""
    net, tile = workload.network, workload.tile
    init_seed, rpu_seed, fp_seed, dropout_seed = np.random.SeedSequence(workload.seed).spawn(4)
    models = {
        label: CharLSTM(
            vocab_size, net.hidden, net.layers, tile.rows, tile.cols,
            tile_factory(workload, floating_point=label == "fp"), seed,
            dropout=net.dropout, dropout_seed=dropout_seed, bias=net.bias, arrays=net.arrays,
        )
        for label, seed in (("rpu", rpu_seed), ("fp", fp_seed))
    }
    rng = np.random.default_rng(init_seed)
    scale = init_scale(net.hidden, workload.device.w_min, workload.device.w_max)
    # One draw per layer in the paper's layout: every mapping starts from the same function.
    weights = {name: rng.uniform(-scale, scale, shape) for name, shape in models["rpu"].paper_shapes().items()}
    for model in models.values():
        model.set_weights(weights)
    return models


BYTES_PER_WEIGHT = 200  # both networks: RPU tile state (~72 B), twin, buffers, checkpoint copy


def check_memory(workload: Workload, vocab_size: int) -> None:
    """Refuse a network whose simulation cannot fit in the memory available now."""
    net = workload.network
    weights = sum(a.weights for a in lstm_arrays(vocab_size, net.hidden, net.layers, net.bias, net.arrays))
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return  # not knowable here: let it try
    need = weights * BYTES_PER_WEIGHT
    if need > available:
        raise ConfigError(
            "workload", "network.hidden",
            f"{net.layers} x {net.hidden} LSTM on {vocab_size} characters has {weights:,} weights; simulating it"
            f" and its twin needs about {need / 1e9:.1f} GB of memory, more than the {available / 1e9:.1f} GB"
            " available; use a smaller network.hidden or network.layers.",
        )


# ---------------------------------------------------------------------------- run state
@dataclass
class NetworkRun:
    """One of the two networks and how far its training got."""

    label: str
    model: CharLSTM
    epochs_done: int = 0
    window: int = 0  # next training window of the current epoch
    state: State | None = None  # hidden state carried into that window
    epoch_loss: float = 0.0  # summed training loss of the current epoch so far (nats)
    epoch_chars: int = 0
    curve: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    train_chars: int = 0
    eval_seconds: float = 0.0
    eval_activity: dict[str, dict[str, int]] = field(default_factory=dict)
    reused_from: str | None = None  # twin cache key when the twin's numbers were taken, not trained
    # Per epoch: training seconds and characters, the machine's load at its end (None: a checkpoint
    # from before they were recorded).
    epoch_timing: list[dict] | None = None


@dataclass
class RunState:
    runs: dict[str, NetworkRun]
    wall_seconds: float = 0.0
    resumed: int = 0  # how many times this run was resumed


class _Interrupt:
    """Ctrl-C once: finish the current window (or evaluation), checkpoint, stop. Twice: stop now."""

    def __init__(self) -> None:
        self.requested = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):  # noqa: ARG001
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


# ---------------------------------------------------------------------------- progress display
class _Progress:
    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description:<12}"), BarColumn(bar_width=20), TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                console=Console(stderr=True), transient=False,
            )

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)

    def task(self, description: str, total: int, completed: int = 0):
        if self.bar is None:
            return None
        return self.bar.add_task(description, total=max(total, 1), completed=completed, info="")

    def update(self, task, completed: int, info: str) -> None:
        if self.bar is not None and task is not None:
            self.bar.update(task, completed=completed, info=info)


# ---------------------------------------------------------------------------- the loops
def _diverged(run: NetworkRun, epoch: int, window: int, loss: float, workload: Workload, out_dir: Path | None) -> TrainingDiverged:
    lr = workload.training.lr
    knobs = f"a lower training.lr (now {lr:g}; try {lr / 4:g})"
    if run.label == "rpu":
        knobs += "; the twin has not diverged (yet), so compare with device.preset=ideal to see whether the device is the cause"
    kept = (
        f" The last good checkpoint is kept in {out_dir}: a lower training.lr may continue from it."
        if out_dir is not None and checkpoint.path_in(out_dir).is_file() else ""
    )
    error = TrainingDiverged(
        f"training diverged: the {LABELS[run.label]} network's loss became {loss} in epoch {epoch + 1},"
        f" window {window + 1}; nothing was written. Try: {knobs}.{kept}"
    )
    error.info = {"network": run.label, "epoch": epoch + 1, "window": window + 1, "loss": str(loss), "lr": lr}
    return error


def _train_epoch(
    run: NetworkRun, batches: StreamBatches, windows: int, workload: Workload, progress: _Progress,
    stopping: Callable[[], bool], out_dir: Path | None, pool: Executor | None,
) -> bool:
    """Train ``run`` from its current window to the end of the epoch: True, or False when
    ``stopping()`` said so after a window (a Ctrl-C, or the other network failed). ``pool``:
    threads for the arrays' updates (CharLSTM.train_window)."""
    lr, clip_norm, reset = workload.training.lr, workload.training.clip_norm, workload.training.state == "reset"
    model = run.model
    epoch = run.epochs_done
    if run.state is None:
        run.state = model.initial_state(batches.streams)
    per_window = batches.chars_per_window
    task = progress.task(f"epoch {epoch + 1} {run.label.upper()}", windows * per_window, run.window * per_window)
    started = time.perf_counter()
    chars_this_session = 0
    while run.window < windows:
        ids, targets = batches.window(run.window)
        start = model.initial_state(batches.streams) if reset else run.state
        loss, state = model.train_window(ids, targets, start, lr, clip_norm, pool)
        if not np.isfinite(loss):
            raise _diverged(run, epoch, run.window, loss, workload, out_dir)
        run.state = state
        run.window += 1
        run.epoch_loss += loss
        run.epoch_chars += per_window
        chars_this_session += per_window
        now = time.perf_counter()
        if progress.bar is not None:
            rate = chars_this_session / max(now - started, 1e-9)
            progress.update(task, run.window * per_window, f"{rate:,.0f} char/s, loss {run.epoch_loss / run.epoch_chars:.3f}")
        if stopping():
            run.train_seconds += now - started
            run.train_chars += chars_this_session
            return False
    run.train_seconds += time.perf_counter() - started
    run.train_chars += chars_this_session
    return True


def evaluate(model: CharLSTM, ids: np.ndarray, workload: Workload) -> float:
    """Mean cross-entropy (nats/char) of the model on ``ids`` (no dropout; noisy analog reads)."""
    cfg = workload.training
    batches = eval_batches(ids, cfg.eval_streams, cfg.seq_length, cfg.eval_chars)
    zero = model.initial_state(batches.streams)
    state = zero
    total, count = 0.0, 0
    for x, y in eval_windows(batches):
        loss, state = model.loss(x, y, zero if cfg.state == "reset" else state)
        total += loss
        count += x.size
    return total / count


def _evaluate_epoch(run: NetworkRun, data: CharData, workload: Workload, progress: _Progress) -> dict:
    started = time.perf_counter()
    before = {name: a.to_dict() for name, a in run.model.activity().items()}
    task = progress.task(f"  eval {run.label.upper()}", 2)
    losses = {}
    for done, split in enumerate(("valid", "test")):
        losses[split] = evaluate(run.model, data.splits[split], workload)
        progress.update(task, done + 1, f"{split} loss {losses[split]:.3f}")
    after = {name: a.to_dict() for name, a in run.model.activity().items()}
    for name in after:
        acc = run.eval_activity.setdefault(name, {k: 0 for k in after[name]})
        for k in acc:
            acc[k] += after[name][k] - before[name][k]
    run.eval_seconds += time.perf_counter() - started
    train_loss = run.epoch_loss / max(run.epoch_chars, 1)
    return {
        "epoch": run.epochs_done + 1,
        "train_loss": train_loss,
        "valid_loss": losses["valid"],
        "test_loss": losses["test"],
        "train_bpc": train_loss * BITS_PER_NAT,
        "valid_bpc": losses["valid"] * BITS_PER_NAT,
        "test_bpc": losses["test"] * BITS_PER_NAT,
    }


# ---------------------------------------------------------------------------- the API
def load_data(workload: Workload) -> CharData:
    return split_corpus(read_corpus(workload.dataset), workload.dataset)


def default_threads() -> int:
    """Threads of one training run: RPUARCH_THREADS if set, else 1 (a sweep runs one process per
    core; a single run on an idle machine is faster with 2: docs/training.md, Speed)."""
    value = os.environ.get("RPUARCH_THREADS", "").strip()
    if not value:
        return 1
    if not value.isdigit() or int(value) < 1:
        raise ConfigError("RPUARCH_THREADS", None, f"{value!r} is not a number of threads.", "a whole number, 1 or more")
    return int(value)


def train(loaded: LoadedWorkload, out_dir: Path | None = None, resume: bool = False, progress: bool = True,
          twins: TwinCache | None = None, threads: int | None = None) -> dict:
    """Train the RPU network and its floating-point twin; return (and write) the train.json content.

    ``out_dir``: where train.json and checkpoint.npz go (None: nothing is written, no checkpoints).
    ``resume``: continue from ``out_dir``'s checkpoint (same workload; epochs and lr may change).
    ``twins``: take the twin from this cache when it holds it (rpuarch.nn.twin_cache), else train it
    and store it there (not after a resume: epochs or lr may have changed on the way).
    ``threads``: 2 or more trains the two networks at the same time (the numbers do not change);
    None: ``default_threads()``.
    Raises UserError for bad input, TrainingDiverged (a UserError, with ``.info``) on a non-finite
    loss, KeyboardInterrupt after checkpointing on Ctrl-C.
    """
    workload = loaded.workload
    out_dir = Path(out_dir) if out_dir is not None else None
    threads = default_threads() if threads is None else threads
    if threads < 1:
        raise ValueError(f"threads must be 1 or more, got {threads}")
    if resume and out_dir is None:
        raise ValueError("resume needs out_dir, the directory holding the checkpoint")
    data = load_data(workload)
    cfg = workload.training
    batches = check_trainable(data, cfg.streams, cfg.seq_length)
    check_memory(workload, data.vocab.size)
    windows = min(batches.windows, cfg.max_windows_per_epoch or batches.windows)

    models = build_networks(workload, data.vocab.size)
    run_state = RunState({label: NetworkRun(label, models[label]) for label in NETWORKS})
    if resume:  # the checkpoint's arrays, numbers and generator states, written into the rebuilt run
        checkpoint.load(out_dir, workload, data.digest, run_state)
        run_state.resumed += 1
    key = twin_key(workload, data.digest) if twins is not None else None
    if twins is not None and run_state.runs["fp"].epochs_done < cfg.epochs:
        stored = twins.get(key)
        if stored is not None:
            _reuse_twin(run_state.runs["fp"], stored, key)

    clock = [time.perf_counter()]

    def save() -> None:
        now = time.perf_counter()
        run_state.wall_seconds += now - clock[0]
        clock[0] = now
        if out_dir is not None:
            summary = {"epochs_done": {label: r.epochs_done for label, r in run_state.runs.items()}}
            checkpoint.save(out_dir, workload, data.digest, run_state, summary)

    interrupt = _Interrupt()
    failed = threading.Event()  # one network failed: the other stops after its window

    def stopping() -> bool:
        return interrupt.requested or failed.is_set()

    def epoch_of(run: NetworkRun) -> Callable[[], None]:
        def run_epoch() -> None:
            """Train and evaluate one epoch of ``run`` (unless it is stopped first)."""
            if stopping() or not _train_epoch(run, batches, windows, workload, bar, stopping, out_dir, pool):
                return
            _record_epoch_timing(run)
            run.curve.append(_evaluate_epoch(run, data, workload, bar))
            run.epochs_done += 1
            run.window, run.state, run.epoch_loss, run.epoch_chars = 0, None, 0.0, 0

        return run_epoch

    keep_freed_memory()
    # With 2 threads or more, each network also updates its arrays in a pool while its backward pass
    # goes on (CharLSTM.train_window): that fills the second core when one network trains alone.
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rpuarch-update") if threads > 1 else None
    with interrupt.installed(), blas_threads(1), _Progress(progress) as bar, pool or nullcontext():
        for epoch in range(cfg.epochs):
            pending = [run_state.runs[label] for label in NETWORKS if run_state.runs[label].epochs_done <= epoch]
            if not pending:
                continue  # done before a resume
            _side_by_side([epoch_of(run) for run in pending], threads, failed)
            save()
            if interrupt.requested:
                raise KeyboardInterrupt

    fp = run_state.runs["fp"]
    if twins is not None and fp.reused_from is None and run_state.resumed == 0:
        twins.put(key, twin_fields(workload, data.digest), _accuracy(fp), _timing(fp))
    result = build_result(loaded, data, run_state, windows, batches)
    if out_dir is not None:
        atomic_write_json(out_dir / "train.json", result)
    return result


def _side_by_side(tasks: list[Callable[[], None]], threads: int, failed: threading.Event) -> None:
    """Run ``tasks`` (the networks' epochs) one after another, or with ``threads`` > 1 each in a
    thread of its own. The networks share nothing, so their numbers are the same either way. When a
    task raises, ``failed`` is set so that the others stop after their current window, and the
    error is raised once they have."""
    if threads < 2 or len(tasks) < 2:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(tasks)), thread_name_prefix="rpuarch-train") as pool:
        pending = {pool.submit(task) for task in tasks}
        while pending:
            # Waits of a fraction of a second: Python runs a Ctrl-C's handler in this thread only,
            # and only when it runs (the signal may have gone to a worker).
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                failed.set()
                raise errors[0]


def _reuse_twin(run: NetworkRun, stored: dict, key: str) -> None:
    """Make ``run`` (the twin) the stored twin, trained to the end: the loop skips it."""
    run.curve = [dict(entry) for entry in stored["accuracy"]["curve"]]
    run.epochs_done = len(run.curve)
    run.window, run.state, run.epoch_loss, run.epoch_chars = 0, None, 0.0, 0
    timing = stored["timing"]
    run.train_seconds, run.eval_seconds, run.train_chars = timing["train_s"], timing["eval_s"], timing["train_chars"]
    run.epoch_timing = timing.get("epochs")
    run.reused_from = key


def _record_epoch_timing(run: NetworkRun) -> None:
    """The epoch just trained: its seconds (over every session that trained it), characters, load."""
    if run.epoch_timing is None:
        if run.epochs_done:
            return  # resumed from a checkpoint that did not record its earlier epochs
        run.epoch_timing = []
    seconds = run.train_seconds - sum(e["train_s"] for e in run.epoch_timing)
    run.epoch_timing.append({"train_s": seconds, "train_chars": run.epoch_chars, **machine_load()})


# ---------------------------------------------------------------------------- train.json
def _accuracy(run: NetworkRun) -> dict:
    last = run.curve[-1]
    reused = {"reused_from": run.reused_from} if run.reused_from else {}
    return {
        "train_loss": last["train_loss"],
        "valid_loss": last["valid_loss"],
        "test_loss": last["test_loss"],
        "train_bpc": last["train_bpc"],
        "valid_bpc": last["valid_bpc"],
        "test_bpc": last["test_bpc"],
        "curve": list(run.curve),
        **reused,
    }


def _timing(run: NetworkRun) -> dict:
    """Training and evaluation time of one network (of the run that trained it, when reused)."""
    return {
        "train_s": run.train_seconds,
        "eval_s": run.eval_seconds,
        "train_chars": run.train_chars,
        "chars_per_s": run.train_chars / run.train_seconds if run.train_seconds > 0 else None,
        "epochs": run.epoch_timing or [],
        "host": speed_of_epochs(run.epoch_timing or []),
        **({"reused_from": run.reused_from} if run.reused_from else {}),
    }


def _activity(run: NetworkRun) -> dict:
    """Training activity (evaluation excluded) of every array, and totals over all tiles."""
    arrays = {}
    for name, act in run.model.activity().items():
        total = act.to_dict()
        spent = run.eval_activity.get(name, {})
        arrays[name] = {k: v - spent.get(k, 0) for k, v in total.items()}
    keys = next(iter(arrays.values())).keys()
    totals = {k: sum(a[k] for a in arrays.values()) for k in keys}
    evaluation = {k: sum(a.get(k, 0) for a in run.eval_activity.values()) for k in keys}
    return {**totals, "arrays": arrays, "evaluation": evaluation}


def build_result(loaded: LoadedWorkload, data: CharData, run_state: RunState, windows: int, batches: StreamBatches) -> dict:
    workload = loaded.workload
    runs = run_state.runs
    mapping = runs["rpu"].model.mapping
    rpu, fp = _accuracy(runs["rpu"]), _accuracy(runs["fp"])
    result = {
        "schema": SCHEMA,
        "workload": {
            "name": workload.name,
            "path": str(loaded.path) if loaded.path else None,
            "sha256": loaded.sha256,
            "resolved_sha256": loaded.resolved_sha256,
            "config": workload.model_dump(mode="json"),
        },
        "seed": workload.seed,
        "versions": {"rpuarch": __version__, "numpy": np.__version__, "python": platform.python_version()},
        "data": data.summary(),
        "network": {
            "vocab_size": data.vocab.size,
            "hidden": workload.network.hidden,
            "lstm_layers": workload.network.layers,
            "dropout": workload.network.dropout,
            "bias": workload.network.bias,
            "arrays": workload.network.arrays,
            "tile": {"rows": workload.tile.rows, "cols": workload.tile.cols},
            **mapping.to_dict(),
        },
        "training": {
            "epochs": workload.training.epochs,
            "lr": workload.training.lr,
            "streams": batches.streams,
            "seq_length": batches.seq_length,
            "update_mode": workload.training.update_mode,
            "state": workload.training.state,
            "clip_norm": workload.training.clip_norm,
            "clipped_windows": {label: None if r.reused_from else r.model.clipped_windows for label, r in runs.items()},
            "windows_per_epoch": windows,
            "chars_per_epoch": windows * batches.chars_per_window,
            "loss": "cross-entropy summed over the steps of a window, averaged over the streams",
        },
        "accuracy": {
            "rpu": rpu,
            "fp": fp,
            "unigram": unigram_losses(data, workload),
            "test_loss_gap": rpu["test_loss"] - fp["test_loss"],
        },
        "activity": _activity(runs["rpu"]),
        "timing": {
            "wall_s": run_state.wall_seconds,
            **{label: _timing(r) for label, r in runs.items()},
        },
        "resumed": run_state.resumed,
        "diverged": None,
    }
    result["warnings"] = warnings_of(result)
    return result


def unigram_losses(data: CharData, workload: Workload) -> dict[str, float]:
    """The unigram loss (rpuarch.nn.data.unigram_loss) of the characters the networks' valid and
    test losses are measured on, in nats and bits per character."""
    cfg = workload.training
    out = {}
    for split in ("valid", "test"):
        predicted = eval_batches(data.splits[split], cfg.eval_streams, cfg.seq_length, cfg.eval_chars).predicted
        loss = unigram_loss(data.splits["train"], predicted, data.vocab.size)
        out[f"{split}_loss"], out[f"{split}_bpc"] = loss, loss * BITS_PER_NAT
    return out
