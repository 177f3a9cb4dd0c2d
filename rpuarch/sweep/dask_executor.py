"""Points of a sweep or comparison on a Dask cluster (``--executor dask``; issue 7).

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

``python -m rpuarch.sweep.dask_executor --bench`` measures Dask's overhead per point against
the local executor (docs/cluster.md holds its latest figures).
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import signal
import traceback
import uuid
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed
from distributed.scheduler import KilledWorker
from rich.console import Console

from .. import __version__
from ..errors import UserError
from .executor import PointOutcome, PointTask, run_point

# Worker deaths a point survives: one retry on another worker, then the point fails.
ALLOWED_FAILURES = 1


def local_cluster(jobs: int, dashboard_address: str | None = ":8787") -> LocalCluster:
    """The embedded cluster: ``jobs`` worker processes of one thread each (a point is single-threaded
    numpy/numba; processes keep points from sharing the GIL). Dask's logs are kept to warnings."""
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
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
        pending: dict[Any, PointTask] = {}
        try:
            check_workers(client, tasks)
            # A fresh key per submission: a point's earlier (cancelled or failed) task never stands in for it.
            pending = {client.submit(run_point, task, key=f"rpuarch-point-{task.key[:16]}-{uuid.uuid4().hex[:8]}"): task for task in tasks}
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
        return Client(address, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout_s:g} s ({type(exc).__name__}: {exc}). "
            "Give the address the scheduler printed (tcp://HOST:PORT), and check that it runs and that this machine can reach it."
        ) from None


def _dashboard_link(client: Client) -> str | None:
    try:
        return client.dashboard_link or None
    except KeyError:  # the scheduler serves no dashboard (bokeh is not installed there)
        return None


def _outcome(future: Any, task: PointTask) -> PointOutcome:
    try:
        return future.result()
    except KilledWorker as exc:
        return PointOutcome(task.key, task.label, error=(
            f"the Dask worker running this point died {ALLOWED_FAILURES + 1} times ({exc}); "
            "the point may need more memory than a worker has (dask worker --memory-limit)."
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
    from pathlib import Path

    from .. import __version__ as version

    def readable(spec: str) -> bool:
        if any(ch in spec for ch in "*?["):
            return bool(glob.glob(str(Path(spec).expanduser()), recursive=True))
        return Path(spec).expanduser().exists()

    return version, [p for p in dataset_paths if not readable(p)]
