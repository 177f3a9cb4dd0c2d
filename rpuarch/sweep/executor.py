"""Where the points of a sweep or comparison run: one point = a resolved workload in, a report out.

A point travels as plain data (``PointTask``: the resolved workload as JSON-able dicts, its seed
inside), so any executor can ship it to another process or machine; the worker needs no shared
filesystem and returns the report dict. The client (``points.run_points``) writes the results
and the cache. ``LocalExecutor`` runs points in processes on this machine; ``DaskExecutor``
(rpuarch.sweep.dask_executor) implements the same ``Executor`` protocol on a Dask cluster.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from ..config import LoadedWorkload, Workload
from ..errors import UserError


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to compute one point."""

    key: str  # the cache key (rpuarch.run.cache_key: resolved workload, text, version, backend)
    resolved_sha256: str  # of the resolved workload, to check it arrived intact
    label: str
    workload: dict[str, Any]  # Workload.model_dump(mode="json") of the resolved workload
    text: str  # the workload file's text, for the report's provenance
    path: str | None
    origins: dict[str, str]
    work_dir: str | None = None  # where checkpoints may live (resumable); None: a temporary directory
    twin_dir: str | None = None  # trained floating-point twins shared by the points; None: train it

    @classmethod
    def of(cls, loaded: LoadedWorkload, key: str, label: str, work_dir: Path | None = None, twin_dir: Path | None = None) -> PointTask:
        return cls(
            key=key,
            resolved_sha256=loaded.resolved_sha256,
            label=label,
            workload=loaded.workload.model_dump(mode="json"),
            text=loaded.text,
            path=str(loaded.path) if loaded.path else None,
            origins=dict(loaded.origins),
            work_dir=str(work_dir) if work_dir else None,
            twin_dir=str(twin_dir) if twin_dir else None,
        )

    def loaded(self) -> LoadedWorkload:
        workload = Workload.model_validate(self.workload)
        loaded = LoadedWorkload(
            workload, Path(self.path) if self.path else None, self.text,
            hashlib.sha256(self.text.encode()).hexdigest(), dict(self.origins),
        )
        if loaded.resolved_sha256 != self.resolved_sha256:
            raise RuntimeError(f"point {self.label}: the workload changed in transit (hash {loaded.resolved_sha256[:12]} != {self.resolved_sha256[:12]})")
        return loaded


@dataclass(frozen=True)
class PointOutcome:
    """A finished point: its report, or why it failed (``error``: a user error's message;
    ``crash``: an unexpected exception, with its traceback, so one bad point does not stop a sweep)."""

    key: str
    label: str
    report: dict[str, Any] | None = None
    error: str | None = None
    crash: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None


def run_point(task: PointTask) -> PointOutcome:
    """Compute one point: the unit of work every executor runs (in a worker, no progress bars)."""
    from ..run import compute_report

    try:
        loaded = task.loaded()
        if task.work_dir is not None:
            report = compute_report(loaded, task.work_dir, resume=True, progress=False, twin_dir=task.twin_dir,
                                    expect_key=task.key, restart_unusable=True)
        else:
            with tempfile.TemporaryDirectory(prefix="rpuarch-point-") as work_dir:
                report = compute_report(loaded, work_dir, resume=False, progress=False, twin_dir=task.twin_dir,
                                        expect_key=task.key)
        return PointOutcome(task.key, task.label, report=report)
    except UserError as exc:
        return PointOutcome(task.key, task.label, error=str(exc))
    except Exception:  # a bug in one point must not lose the others; its traceback is kept
        return PointOutcome(task.key, task.label, crash=traceback.format_exc())


class Executor(Protocol):
    """Runs points and yields their outcomes as they finish (in any order).

    ``shares_filesystem``: workers see the client's files, so a point's checkpoints can live in
    its cache directory and an interrupted point resumes, and a point reuses the floating-point twin
    an earlier point trained (``<cache>/fp``); otherwise workers use temporary space and train
    every twin.
    """

    name: str
    shares_filesystem: bool

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]: ...

    def running(self) -> int:
        """How many points are being computed right now (for the progress display)."""
        ...


class LocalExecutor:
    """Points in ``jobs`` processes of this machine (``jobs == 1``: in this process, in order)."""

    name = "local"
    shares_filesystem = True

    def __init__(self, jobs: int = 1):
        if jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {jobs}.")
        self.jobs = jobs
        self._futures: list[cf.Future] = []
        self._in_process = 0

    def running(self) -> int:
        return self._in_process + sum(f.running() for f in self._futures)

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        tasks = list(tasks)
        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                self._in_process = 1
                outcome = run_point(task)
                self._in_process = 0
                yield outcome
            return
        # spawn, not fork: the parent may hold threads (numba, rich) that fork would copy mid-state.
        context = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=min(self.jobs, len(tasks)), mp_context=context)
        try:
            futures = {pool.submit(run_point, task): task for task in tasks}
            self._futures = list(futures)
            for future in cf.as_completed(futures):
                task = futures[future]
                try:
                    yield future.result()
                except cf.process.BrokenProcessPool:  # a worker died (killed, out of memory)
                    yield PointOutcome(task.key, task.label, crash=traceback.format_exc())
        finally:
            self._futures = []
            pool.shutdown(wait=True, cancel_futures=True)


def make_executor(name: str, jobs: int, scheduler: str | None = None, quiet: bool = False) -> Executor:
    """``local``: processes of this machine; ``dask``: an embedded Dask cluster of ``jobs`` workers, or
    the cluster whose scheduler is at ``scheduler`` (Dask is an optional extra, imported only here)."""
    if scheduler is not None and name != "dask":
        raise UserError(f"--scheduler is the address of a Dask cluster; it needs --executor dask (not {name}).")
    if name == "local":
        return LocalExecutor(jobs)
    if name == "dask":
        try:
            from .dask_executor import DaskExecutor
        except ImportError as exc:
            raise UserError(f"--executor dask needs Dask, which is not installed here ({exc}): pip install 'rpuarch[dask]'") from None
        return DaskExecutor(scheduler, jobs, quiet=quiet)
    raise UserError(f"--executor {name!r} is not available here; known executors: local, dask.")
