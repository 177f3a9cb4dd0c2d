"""Run a study's points within a time budget, each in a process of its own, and stop cleanly.

When the budget is spent (or ``should_stop`` says so), no point is started any more and every
running point is asked to stop as a Ctrl-C would: training finishes its current window, writes a
checkpoint into the point's cache directory and stops. Those points are not reported (the sweep
client lists them as pending) and resume from their checkpoints on the next invocation; every
point that finished is reported as usual. Nothing is half written: the client writes a point's
results only from a finished report, and checkpoints are written atomically.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable, Iterator

from ..errors import UserError
from ..sweep import PointOutcome, PointTask, run_point

# How long a point asked to stop may take to checkpoint (one training window, or an estimate).
STOP_GRACE_S = 600.0
# A point's first message: its process has imported rpuarch, so a Ctrl-C reaches training's handler.
STARTED = "started"


def _child(task: PointTask, conn: Connection) -> None:
    """A point in its own process: says it started, then sends its outcome, or None when it was stopped."""
    try:
        conn.send(STARTED)
        outcome: PointOutcome | None = run_point(task)
    except KeyboardInterrupt:
        outcome = None
    except BaseException:  # noqa: BLE001  (reported to the client, not lost)
        outcome = PointOutcome(task.key, task.label, crash=traceback.format_exc())
    try:
        conn.send(outcome)
    finally:
        conn.close()


class BudgetExecutor:
    """Points in up to ``jobs`` processes of this machine, started while ``should_stop()`` is false
    (the Executor protocol of rpuarch.sweep)."""

    name = "local"
    shares_filesystem = True

    def __init__(self, jobs: int, should_stop: Callable[[], bool]):
        if jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {jobs}.")
        self.jobs = jobs
        self.should_stop = should_stop
        self.stopped = False  # should_stop() turned true with points running or waiting
        self._running: dict = {}  # connection -> (process, task)
        self._started: set = set()  # connections whose point has started (imports done): it can checkpoint

    def running(self) -> int:
        return len(self._running)

    def run(self, tasks: Iterable[PointTask]) -> Iterator[PointOutcome]:
        queue = list(tasks)
        context = multiprocessing.get_context("spawn")  # as the LocalExecutor: no forked numba/rich state
        running, started = self._running, self._started
        interrupted = False
        try:
            while queue or running:
                if not self.stopped and self.should_stop():
                    self.stopped = bool(queue or running)
                    queue.clear()
                    for conn, (process, _) in running.items():
                        _stop(process, conn in started)
                while queue and len(running) < self.jobs:
                    receive, send = context.Pipe(duplex=False)
                    task = queue.pop(0)
                    process = context.Process(target=_child, args=(task, send), name=f"rpuarch point {task.label}")
                    process.start()
                    send.close()
                    running[receive] = (process, task)
                for conn in wait(list(running), timeout=0.5):
                    process, task = running[conn]
                    outcome = _receive(conn, process, task, self.stopped)
                    if outcome == STARTED:
                        started.add(conn)
                        if self.stopped:
                            _stop(process, True)
                        continue
                    del running[conn]
                    started.discard(conn)
                    if outcome is not None:
                        yield outcome
        except KeyboardInterrupt:  # Ctrl-C reached the points too: they checkpoint and stop
            interrupted = True
            raise
        finally:
            for conn, (process, _) in list(running.items()):
                if not interrupted:
                    _stop(process, conn in started)
                process.join(STOP_GRACE_S)
                if process.is_alive():
                    process.terminate()
                    process.join()
                conn.close()
            running.clear()
            started.clear()


def _stop(process, started: bool) -> None:
    """A started point is asked as Ctrl-C asks (it checkpoints); one still importing has nothing to keep."""
    if process.pid is None or not process.is_alive():
        return
    if not started:
        process.terminate()
        return
    try:
        os.kill(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass


def _receive(conn: Connection, process, task: PointTask, stopping: bool) -> PointOutcome | str | None:
    """STARTED, the point's outcome, or None when it was stopped."""
    try:
        message = conn.recv()
    except EOFError:  # the process ended without a word: stopped while starting up, or killed
        process.join()
        message = None if stopping else PointOutcome(
            task.key, task.label, crash=f"the point's process ended without a result (exit code {process.exitcode})")
    if message != STARTED:
        conn.close()
        process.join()
    return message
