"""Points of a sweep or comparison on a Dask cluster (``--executor dask``).

One point is one Dask task: ``run_point`` on the point's ``PointTask`` (the resolved workload as
plain data, its seed inside). The report comes back to the client, which writes it and the cache,
so workers need no shared filesystem; they compute in temporary space. Workers must have rpuarch
(the same version) installed and must be able to read the dataset at the path the client sees;
both are checked before any point is sent.

Without ``scheduler`` an embedded ``LocalCluster`` runs ``jobs`` single-threaded worker processes
on this machine; with it, the executor connects to a running cluster (``dask scheduler`` /
``dask worker``, or dask-jobqueue on SLURM: docs/cluster.md).

Faults: a worker that dies mid-point (killed, out of memory) costs that point one more run on
another worker (the scheduler's ``allowed-failures``; set here for the embedded cluster); a
second death fails the point, not the sweep. A point that fails by itself is an outcome with its
message (``run_point`` catches it). Ctrl-C cancels the points still queued or running and
closes what this executor opened; finished points were already cached by the client.

``rpuarch bench sweep`` (``benchmark_overhead``) measures Dask's overhead per point against the
local executor; docs/cluster.md holds its latest figures.
"""

from __future__ import annotations

import datetime
import glob
import importlib.util
import logging
import os
import pickle
import signal
import socket
import statistics
import struct
import time
import traceback
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed
from distributed.scheduler import KilledWorker
from rich.console import Console

from .. import __version__
from ..errors import UserError
from ..files import atomic_write_text
from .executor import Executor, PointOutcome, PointTask, run_point

# Worker deaths a point survives: one retry on another worker, then the point fails.
ALLOWED_FAILURES = 1


def local_cluster(jobs: int, dashboard_address: str | None = ":8787") -> LocalCluster:
    """The embedded cluster: ``jobs`` worker processes of one thread each (a point is single-threaded
    numpy/numba; processes keep points from sharing the GIL). Dask's logs are kept to warnings."""
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}), warnings.catch_warnings():
        # Dashboard port taken (another cluster runs here): Dask picks a free one, the "Dask:" line shows it.
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True,
            silence_logs=logging.WARNING, dashboard_address=dashboard_address,
        )
    with Client(cluster) as client:  # applies to the workers there are and to restarted ones
        client.register_plugin(IgnoreCtrlC(), name="rpuarch-ignore-ctrl-c")
    return cluster


class IgnoreCtrlC(WorkerPlugin):
    """Workers of the embedded cluster share the user's terminal, so Ctrl-C reaches them too. It is
    the client's to handle (cancel the points, close the cluster); a worker would only die noisily."""

    def setup(self, worker: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class DaskExecutor:
    """Runs points as Dask tasks; see the module docstring.

    Each ``run`` opens its cluster or connection and closes it at the end, unless the executor is
    used as a context manager (``with DaskExecutor() as ex: ...``), which keeps one cluster for
    several studies.
    """

    name = "dask"
    shares_filesystem = False

    def __init__(
        self, scheduler: str | None = None, jobs: int = 1, quiet: bool = False, connect_timeout_s: float = 10.0,
    ):
        if jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {jobs}.")
        self.scheduler = scheduler
        self.jobs = jobs
        self.connect_timeout_s = connect_timeout_s
        self.console = None if quiet else Console(stderr=True, highlight=False, soft_wrap=True)
        self.dashboard: str | None = None
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._pending: dict[Any, PointTask] = {}

    def running(self) -> int:
        """Points a worker is computing now (asks the scheduler; 0 when it cannot be asked)."""
        client, keys = self._client, {future.key for future in list(self._pending)}
        if client is None or not keys:
            return 0
        try:
            return sum(key in keys for worker_keys in client.processing().values() for key in worker_keys)
        except Exception:  # the display must never stop a sweep; a lost scheduler surfaces in run()
            return 0

    def __enter__(self) -> DaskExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Client:
        """Start the embedded cluster or connect to the scheduler (once); say where points run."""
        if self._client is not None:
            return self._client
        if self.scheduler is None:
            self._cluster = local_cluster(self.jobs)
            self._client = Client(self._cluster)
            where = f"embedded LocalCluster, {self.jobs} worker process(es)"
        else:
            self._client = _connect(self.scheduler, self.connect_timeout_s)
            workers = len(self._client.scheduler_info(n_workers=-1)["workers"])
            where = f"scheduler {self.scheduler}, {workers} worker(s) connected"
        self.dashboard = _dashboard_link(self._client)
        if self.console:
            dashboard = f"dashboard {self.dashboard}" if self.dashboard else "no dashboard"
            if self.scheduler is None and importlib.util.find_spec("bokeh") is None:
                dashboard += " (it shows plots once bokeh is installed: pip install bokeh)"
            self.console.print(f"[bold]Dask[/]: {where}; {dashboard}")
        return self._client

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        with _quiet_dask():
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        tasks = list(tasks)
        if not tasks:
            return
        opened_here = self._client is None
        client = self.start()
        pending = self._pending = {}
        try:
            check_workers(client, tasks)
            # A fresh key per submission: a point's earlier (cancelled or failed) task never stands in for it.
            pending.update({client.submit(run_point, task, key=f"rpuarch-point-{task.key[:16]}-{uuid.uuid4().hex[:8]}"): task for task in tasks})
            for future in as_completed(list(pending)):
                task = pending.pop(future)
                yield _outcome(future, task)
                future.release()
        finally:  # normal end, Ctrl-C (KeyboardInterrupt here or in the caller) or an error
            if pending:
                client.cancel(list(pending))
            if opened_here:
                self.close()


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Shutting down, Dask warns of every worker it has to stop the hard way (a point still
    running after Ctrl-C; a slow exit on a busy machine): nothing the user needs to act on."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _connect(address: str, timeout_s: float) -> Client:
    try:
        _check_handshake(address, timeout_s)
        return Client(address, timeout=timeout_s)
    except ValueError as exc:
        raise UserError(f"--scheduler {address} is not a scheduler address ({exc}); give it as tcp://HOST:PORT.") from None
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout_s:g} s ({type(exc).__name__}: {exc}). "
            "Give the address the scheduler printed (tcp://HOST:PORT), and check that it runs and that this machine can reach it."
        ) from None


MAX_HANDSHAKE_BYTES = 1 << 20  # a scheduler's handshake is a few hundred bytes


def _check_handshake(address: str, timeout_s: float) -> None:
    """Refuse, within ``timeout_s``, a tcp:// address where something other than a Dask scheduler
    listens. A scheduler speaks first: the 8-byte length of its handshake message. Dask's client
    waits for it without a timeout (a silent listener hangs it for ever) and allocates whatever
    length arrives (an HTTP server's reply reads as exabytes)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme != "tcp":
        return  # tls:// and others: their own handshake comes first
    with socket.create_connection(parse_host_port(location), timeout=timeout_s) as probe:
        probe.settimeout(timeout_s)
        head = b""
        try:
            while len(head) < 8:
                chunk = probe.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
        except TimeoutError:
            raise UserError(f"--scheduler {address}: a program listens there but sent no Dask handshake within"
                            f" {timeout_s:g} s: it is not a Dask scheduler.") from None
    length = struct.unpack("Q", head)[0] if len(head) == 8 else 0
    if not 0 < length <= MAX_HANDSHAKE_BYTES:
        raise UserError(f"--scheduler {address}: a program listens there, but what it sent ({head[:8]!r}) is no Dask"
                        " handshake: it is not a Dask scheduler.")


def _dashboard_link(client: Client) -> str | None:
    try:
        return client.dashboard_link or None
    except KeyError:  # the scheduler was started without a dashboard
        return None


def _outcome(future: Any, task: PointTask) -> PointOutcome:
    try:
        return future.result()
    except KilledWorker as exc:  # more deaths than the scheduler's allowed-failures
        return PointOutcome(task.key, task.label, error=(
            f"every Dask worker that ran this point died while running it ({exc}). "
            "The point may need more memory than a worker has (dask worker --memory-limit)."
        ))
    except Exception:  # a task that could not run at all (e.g. lost with its worker's connection)
        return PointOutcome(task.key, task.label, crash=traceback.format_exc())


def check_workers(client: Client, tasks: list[PointTask]) -> None:
    """Refuse, before any point is sent, workers that cannot run the points: rpuarch missing or
    of another version, or a dataset file the worker cannot see (files are not copied to workers)."""
    paths = sorted({t.workload["dataset"]["path"] for t in tasks if t.workload["dataset"].get("path")})
    try:
        facts = client.run(worker_facts, paths)
    except Exception as exc:  # the function could not even be unpickled there: no rpuarch
        raise UserError(
            f"the Dask workers cannot run rpuarch ({type(exc).__name__}: {exc}); install rpuarch {__version__} "
            "in the workers' Python environment (pip install 'rpuarch[dask]')."
        ) from None
    for worker, (version, unreadable) in sorted(facts.items()):
        if version != __version__:
            raise UserError(
                f"Dask worker {worker} has rpuarch {version}, this client {__version__}; "
                "install the same version on both, so points compute what the client asked for."
            )
        if unreadable:
            raise UserError(
                f"Dask worker {worker} cannot read the dataset {unreadable[0]}: workers read the dataset at the path "
                "the client gives (no files are copied to them). Put the file at that path on every worker machine, "
                "on a filesystem they share, or use a named corpus (dataset.name)."
            )


def worker_facts(dataset_paths: list[str]) -> tuple[str, list[str]]:
    """On a worker: its rpuarch version and the dataset paths it cannot read."""
    from .. import __version__ as version

    def readable(spec: str) -> bool:
        if any(ch in spec for ch in "*?["):
            return bool(glob.glob(str(Path(spec).expanduser()), recursive=True))
        return Path(spec).expanduser().exists()

    return version, [p for p in dataset_paths if not readable(p)]


# ----------------------------------------------------------------------------- overhead benchmark
# Short points: the embedded quickstart cut to a 1 x 8 LSTM on 12 windows (about 0.3 s of work).
BENCH_OVERRIDES = (
    "network.hidden=8", "dataset.max_chars=20000", "training.epochs=1", "training.streams=4", "training.seq_length=16",
    "training.max_windows_per_epoch=12", "training.eval_chars=400", "training.eval_streams=4",
)
BENCH_BEGIN = "<!-- bench sweep: begin (generated by `rpuarch bench sweep --docs docs/cluster.md`; do not edit) -->"
BENCH_END = "<!-- bench sweep: end -->"


@dataclass
class OverheadResult:
    """Wall times (s) of the same points under the local executor and an embedded LocalCluster of
    ``jobs`` workers, one entry per repetition. Dask's time is split into cluster start, the points
    (fresh workers), close; then, on the warm cluster, the same points again and as many empty
    tasks carrying a point out and a report's worth of bytes back (Dask's own cost per task)."""

    points: int
    jobs: int
    local_s: list[float]
    dask_start_s: list[float]
    dask_run_s: list[float]
    dask_close_s: list[float]
    dask_warm_s: list[float]
    round_trips_s: list[float]
    point_compute_s: float  # median of one point's own wall time (report run.wall_s), for scale
    report_bytes: int
    load_before: float
    load_after: float
    cpu_count: int
    when: str

    @property
    def dask_total_s(self) -> list[float]:
        """End to end, as a sweep on the embedded cluster pays it: start, points, close."""
        return [a + b + c for a, b, c in zip(self.dask_start_s, self.dask_run_s, self.dask_close_s)]

    @property
    def overhead_per_point_s(self) -> float:
        """Dask's extra wall time per point against the local executor, end to end: the median over
        repetitions of the difference within one repetition (the two ran back to back, under
        about the same load, which drifts much more between repetitions)."""
        return statistics.median(d - l for d, l in zip(self.dask_total_s, self.local_s)) / self.points

    @property
    def warm_overhead_per_point_s(self) -> float:
        """The same against a cluster already up with warm workers (kept open between studies)."""
        return statistics.median(w - l for w, l in zip(self.dask_warm_s, self.local_s)) / self.points

    @property
    def round_trip_per_task_s(self) -> float:
        return statistics.median(self.round_trips_s) / self.points

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "dask_total_s": self.dask_total_s, "overhead_per_point_s": self.overhead_per_point_s,
                "warm_overhead_per_point_s": self.warm_overhead_per_point_s, "round_trip_per_task_s": self.round_trip_per_task_s}


def benchmark_overhead(points: int = 16, jobs: int = 2, repeat: int = 3, workload: str | None = None,
                       overrides: tuple[str, ...] = BENCH_OVERRIDES) -> OverheadResult:
    """Run ``points`` short points (seeds 1..points) ``repeat`` times under each executor, in
    alternating order so that a drift in the machine's load does not favour one of them."""
    from ..config import load_workload
    from .executor import LocalExecutor

    tasks = [PointTask.of(load_workload(workload, [*overrides, f"seed={seed}"]), f"seed={seed}") for seed in range(1, points + 1)]
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {k: [] for k in ("local", "start", "run", "close", "warm", "round_trips")}
    compute_s: list[float] = []
    report_bytes: list[int] = []

    def run(executor: Executor) -> float:
        t = time.perf_counter()
        outcomes = list(executor.run(tasks))
        wall = time.perf_counter() - t
        bad = [o for o in outcomes if not o.ok]
        if bad:
            raise UserError(f"benchmark point {bad[0].label} failed: {bad[0].error or bad[0].crash}")
        compute_s.extend(o.report["run"]["wall_s"] for o in outcomes if o.report)
        report_bytes.extend(len(pickle.dumps(o.report)) for o in outcomes)
        return wall

    def on_local() -> None:
        times["local"].append(run(LocalExecutor(jobs)))

    def on_dask() -> None:
        t = time.perf_counter()
        with DaskExecutor(jobs=jobs, quiet=True) as executor:
            times["start"].append(time.perf_counter() - t)
            times["run"].append(run(executor))
            times["warm"].append(run(executor))
            client = executor.start()
            size = int(statistics.median(report_bytes))
            t = time.perf_counter()
            for future in as_completed([client.submit(_report_sized, task, size, pure=False) for task in tasks]):
                future.result()
            times["round_trips"].append(time.perf_counter() - t)
            t = time.perf_counter()
        times["close"].append(time.perf_counter() - t)

    for i in range(repeat):
        for step in ((on_local, on_dask) if i % 2 == 0 else (on_dask, on_local)):
            step()
    return OverheadResult(
        points, jobs, times["local"], times["start"], times["run"], times["close"], times["warm"], times["round_trips"],
        statistics.median(compute_s), int(statistics.median(report_bytes)), load_before, os.getloadavg()[0],
        os.cpu_count() or 0, datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
    )


def _report_sized(task: PointTask, size: int) -> bytes:
    """An empty point: a task in, a report's worth of bytes out."""
    return bytes(size)


def overhead_markdown(result: OverheadResult) -> str:
    """The figures as the markdown block docs/cluster.md carries between the bench markers."""
    med = statistics.median
    runs = lambda times: "runs: " + ", ".join(f"{t:.1f}" for t in times)  # noqa: E731
    lines = [
        BENCH_BEGIN,
        f"Measured {result.when} with `rpuarch bench sweep --points {result.points} --jobs {result.jobs} --repeat "
        f"{len(result.local_s)}` on a {result.cpu_count}-CPU machine shared with other work (1-minute load average "
        f"{result.load_before:.1f} before, {result.load_after:.1f} after; above {result.cpu_count} the times are stretched "
        f"and noisy). {result.points} points of about {result.point_compute_s:.2f} s of work each (median as measured), "
        f"{result.jobs} at a time; {len(result.local_s)} repetitions, each running both executors back to back "
        f"(in alternating order); times are medians over repetitions, overheads medians of the per-repetition differences.",
        "",
        "| | wall time |",
        "|---|---:|",
        f"| local executor, --jobs {result.jobs} (its process pool start included) | {med(result.local_s):.1f} s ({runs(result.local_s)}) |",
        f"| Dask, embedded LocalCluster of {result.jobs} workers, end to end | {med(result.dask_total_s):.1f} s ({runs(result.dask_total_s)}) |",
        f"| &nbsp;&nbsp;cluster start | {med(result.dask_start_s):.1f} s |",
        f"| &nbsp;&nbsp;points (fresh workers) | {med(result.dask_run_s):.1f} s |",
        f"| &nbsp;&nbsp;cluster close | {med(result.dask_close_s):.1f} s |",
        f"| the same points again on the warm cluster | {med(result.dask_warm_s):.1f} s |",
        f"| **Dask overhead per point against local, end to end** | **{result.overhead_per_point_s:+.2f} s** |",
        f"| **the same, cluster already up and warm** | **{result.warm_overhead_per_point_s:+.2f} s** |",
        f"| Dask's own round trip per task (a point out, {result.report_bytes / 1e3:.0f} kB back; {result.points} empty tasks) "
        f"| {1e3 * result.round_trip_per_task_s:.1f} ms |",
        BENCH_END,
    ]
    return "\n".join(lines)


def write_overhead_into(doc: Path, result: OverheadResult) -> None:
    """Replace the bench block of ``doc`` (between the markers) with the new figures."""
    text, begin, end = bench_block(doc)
    atomic_write_text(doc, text[:begin] + overhead_markdown(result) + text[end + len(BENCH_END):])


def bench_block(doc: Path) -> tuple[str, int, int]:
    """The text of ``doc`` and where its bench block begins and ends (checked before a long benchmark)."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    begin, end = text.find(BENCH_BEGIN), text.find(BENCH_END)
    if begin < 0 or end < begin:
        raise UserError(f"{doc} has no bench block to replace; it needs the lines\n{BENCH_BEGIN}\n{BENCH_END}")
    return text, begin, end
