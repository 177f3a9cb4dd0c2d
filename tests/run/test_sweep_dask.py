"""The Dask executor on a real LocalCluster: the numbers of the local executor, a shared cache,
failed points, a worker killed mid-point, Ctrl-C, and the errors a user can fix.

One 2-worker cluster (the embedded cluster's own ``local_cluster``) is shared by the module: a
cluster costs seconds to start and each worker pays the imports once.
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import rpuarch
from rpuarch.cli import main
from rpuarch.config import load_workload
from rpuarch.errors import UserError
from rpuarch.sweep import LocalExecutor, PointTask, parse_axis, sweep
from rpuarch.sweep.points import cache_keys

from conftest import write_workload

NO_DASK = "Dask is an optional extra: pip install 'rpuarch[dask]'"


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed", reason=NO_DASK)
    from rpuarch.sweep.dask_executor import local_cluster

    cluster = local_cluster(2, dashboard_address=None)
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster) as client:
        yield client


def dask_executor(cluster, **kwargs):
    from rpuarch.sweep.dask_executor import DaskExecutor

    return DaskExecutor(cluster.scheduler_address, quiet=True, **kwargs)


def computed(report: dict) -> dict:
    """A report without what measures this machine's speed (timings, the measured-host baseline)
    and without the checkout's commit at the time of the run."""
    out = {k: v for k, v in report.items() if k not in ("timing", "run")}
    out["versions"] = {k: v for k, v in report["versions"].items() if k != "rpuarch_git"}  # others commit meanwhile
    out["baselines"] = [b for b in report["baselines"] if b["kind"] != "measured-host"]
    out["hardware"] = {k: v for k, v in report["hardware"].items() if k != "simulation"}
    return out


def reports(document: dict) -> list[dict]:
    return [json.loads((Path(p["report_dir"]) / "report.json").read_text()) for p in document["points"]]


def test_dask_gives_the_numbers_of_local_and_shares_its_cache(tmp_path, cluster):
    path = write_workload(tmp_path / "w")
    axes = [parse_axis("seed=1,2")]
    on_dask = sweep(path, [], axes, tmp_path / "dask", dask_executor(cluster), progress=False)
    on_local = sweep(path, [], axes, tmp_path / "local", LocalExecutor(1), progress=False)
    assert on_dask["executor"] == "dask"
    assert [p["status"] for p in on_dask["points"]] == ["done", "done"]
    # Point for point, everything a run computes is identical (exact equality: the seed travels
    # with the point, and the same code runs on the same floating-point hardware).
    dask_reports, local_reports = reports(on_dask), reports(on_local)
    assert [computed(r) for r in dask_reports] == [computed(r) for r in local_reports]
    assert dask_reports[0]["accuracy"] != dask_reports[1]["accuracy"]  # the seeds did differ

    # The client wrote the results: the same cache layout, usable by the local executor.
    wider = sweep(path, [], [parse_axis("seed=1,2,3")], tmp_path / "wider", LocalExecutor(1),
                  cache_dir=tmp_path / "dask" / "points", progress=False)
    assert [p["status"] for p in wider["points"]] == ["cached", "cached", "done"]


def test_sweep_and_compare_cli_record_a_failed_point_and_finish_the_others(tmp_path, cluster, capsys):
    path = write_workload(tmp_path / "w", {"chip": {"tiles": 2}})
    out = tmp_path / "sweep"
    # hidden 8 fits the chip's two 64 x 64 tiles; hidden 40 does not (the point refuses by itself).
    status = main(["sweep", str(path), "--grid", "network.hidden=8,40", "--out", str(out),
                   "--executor", "dask", "--scheduler", cluster.scheduler_address])
    assert status == 1
    document = json.loads((out / "sweep.json").read_text())
    assert document["executor"] == "dask"
    assert [p["status"] for p in document["points"]] == ["done", "failed"]
    assert "chip.tiles" in document["points"][1]["error"]
    err = capsys.readouterr().err
    assert f"Dask: scheduler {cluster.scheduler_address}, 2 worker(s) connected" in err
    assert "Traceback" not in err

    # compare takes the same options; its base variant is the sweep's finished point, from the cache.
    status = main(["compare", str(path), "--variant", "base", "--variant", "wide:network.hidden=40", "--out", str(tmp_path / "cmp"),
                   "--cache", str(out / "points"), "--executor", "dask", "--scheduler", cluster.scheduler_address, "--quiet"])
    assert status == 1
    document = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert document["executor"] == "dask"
    assert [v["status"] for v in document["variants"]] == ["cached", "failed"]
    assert "chip.tiles" in document["variants"][1]["error"]


class WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the worker process running a given point, ``times`` times, each time a new
    worker runs it; records how many worker deaths the scheduler counted against the point."""

    def __init__(self, client, point_hash: str, times: int):
        super().__init__()
        self.client, self.prefix, self.times = client, f"rpuarch-point-{point_hash[:16]}-", times
        self.killed: list[str] = []  # workers killed
        self.deaths: int | None = None

    def run(self) -> None:
        deadline = time.monotonic() + 120
        key = None
        while len(self.killed) < self.times and time.monotonic() < deadline:
            for worker, keys in self.client.processing().items():
                mine = [k for k in keys if str(k).startswith(self.prefix)]
                if mine and worker not in self.killed:
                    key = mine[0]
                    os.kill(self.client.run(os.getpid, workers=[worker])[worker], signal.SIGKILL)
                    self.killed.append(worker)
                    break
            time.sleep(0.05)
        while key is not None and self.times == 1 and time.monotonic() < deadline:
            # the scheduler's count (it forgets the point once it is done and released)
            self.deaths = self.client.run_on_scheduler(
                lambda dask_scheduler, key=key: dask_scheduler.tasks[key].suspicious if key in dask_scheduler.tasks else None)
            if self.deaths:
                return
            time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_point_costs_that_point_one_retry_a_second_death_fails_it(tmp_path, cluster, client):
    # Points long enough (about 2 s each on an idle machine) to be killed while they run.
    path = write_workload(tmp_path / "w", {"training": {"max_windows_per_epoch": 150}})
    point_hash = lambda seed: cache_keys([("", load_workload(path, [f"seed={seed}"]))])[0]  # noqa: E731

    killer = WorkerKiller(client, point_hash(1), times=1)
    killer.start()
    document = sweep(path, [], [parse_axis("seed=1,2")], tmp_path / "once", dask_executor(cluster), progress=False)
    killer.join()
    assert killer.deaths == 1
    assert [p["status"] for p in document["points"]] == ["done", "done"]

    killer = WorkerKiller(client, point_hash(3), times=2)
    killer.start()
    document = sweep(path, [], [parse_axis("seed=3")], tmp_path / "twice", dask_executor(cluster), progress=False)
    killer.join()
    assert len(killer.killed) == 2
    [point] = document["points"]
    assert point["status"] == "failed"
    assert "every Dask worker that ran this point died" in point["error"]


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_keeps_finished_points(tmp_path, cluster):
    # Points of a few seconds each (a warm tiny point takes a fraction of one), six of them on two
    # workers: after the first report lands, two more rounds of points are left, so the Ctrl-C
    # below arrives mid-sweep even when the client is slow to notice it on a loaded machine.
    path = write_workload(tmp_path / "w", {"training": {"max_windows_per_epoch": 150}})
    out = tmp_path / "sweep"
    seeds = "seed=1,2,3,4,5,6"
    args = ["sweep", str(path), "--grid", seeds, "--out", str(out), "--executor", "dask", "--jobs", "2"]
    # A terminal's Ctrl-C: SIGINT to the whole process group, the embedded cluster's workers included.
    proc = subprocess.Popen([sys.executable, "-m", "rpuarch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not glob.glob(str(out / "points" / "*" / "report.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not (out / "sweep.json").exists()
    assert not _processes_in_session(proc.pid), "the embedded cluster's workers outlived the client"
    finished = {Path(p).parent.name for p in glob.glob(str(out / "points" / "*" / "report.json"))}
    assert 1 <= len(finished) < 6

    # Running the sweep again computes only the points that had not finished.
    document = sweep(path, [], [parse_axis(seeds)], out, dask_executor(cluster), progress=False)
    status = {Path(p["report_dir"]).name: p["status"] for p in document["points"]}
    assert {d for d, s in status.items() if s == "cached"} == finished
    assert all(s == "done" for d, s in status.items() if d not in finished)


def _processes_in_session(session: int, wait_s: float = 10.0) -> list[int]:
    """Processes of the client's session still alive after ``wait_s`` (multiprocessing's resource
    tracker, which the worker processes shared, takes a second or so to notice they are gone)."""
    deadline = time.monotonic() + wait_s
    while True:
        alive = []
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                if os.getsid(pid) == session:
                    alive.append(pid)
            except OSError:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def test_workers_must_see_the_dataset_and_run_the_same_rpuarch(tmp_path, cluster, monkeypatch):
    import rpuarch.sweep.dask_executor as dask_executor_module

    path = write_workload(tmp_path / "w")
    task = PointTask.of(load_workload(path), "key", "p")
    monkeypatch.setattr(dask_executor_module, "__version__", "9.9.9")
    with pytest.raises(UserError, match=rf"has rpuarch {re.escape(rpuarch.__version__)}, this client 9\.9\.9"):
        list(dask_executor(cluster).run([task]))
    monkeypatch.undo()

    (tmp_path / "w" / "corpus.txt").unlink()  # the workload was loaded: only the workers look for it
    with pytest.raises(UserError, match=r"cannot read the dataset .*corpus\.txt.*no files are copied"):
        list(dask_executor(cluster).run([task]))


def test_an_unreachable_or_malformed_scheduler_is_a_user_error(tmp_path):
    pytest.importorskip("distributed", reason=NO_DASK)
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from rpuarch.sweep.dask_executor import DaskExecutor

    task = PointTask.of(load_workload(write_workload(tmp_path / "w")), "key", "p")
    executor = DaskExecutor(f"tcp://127.0.0.1:{port}", quiet=True, connect_timeout_s=1)
    with pytest.raises(UserError, match=rf"--scheduler tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        list(executor.run([task]))
    with pytest.raises(UserError, match=r"--scheduler 127.0.0.1 is not a scheduler address .* tcp://HOST:PORT"):
        list(DaskExecutor("127.0.0.1", quiet=True).run([task]))


def listener(reply: bytes | None) -> tuple[int, threading.Event]:
    """A TCP server on 127.0.0.1 that is no Dask scheduler: it accepts and stays silent
    (``reply`` None), or sends ``reply`` at once and then waits (a banner, an HTTP reply)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        held = []
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if reply is not None:
                conn.sendall(reply)
        for conn in held:
            conn.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], stop


@pytest.mark.parametrize("reply", [None, b"HTTP/1.0 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.6\r\n"],
                         ids=["silent", "http", "banner"])
def test_a_listener_that_is_not_a_scheduler_is_a_user_error_within_the_timeout(tmp_path, reply):
    pytest.importorskip("distributed", reason=NO_DASK)
    from rpuarch.sweep.dask_executor import DaskExecutor

    port, stop = listener(reply)
    task = PointTask.of(load_workload(write_workload(tmp_path / "w")), "key", "p")
    started = time.monotonic()
    try:
        with pytest.raises(UserError, match=rf"--scheduler tcp://127.0.0.1:{port}: a program listens there.*not a Dask scheduler"):
            list(DaskExecutor(f"tcp://127.0.0.1:{port}", quiet=True, connect_timeout_s=1).run([task]))
    finally:
        stop.set()
    assert time.monotonic() - started < 10  # it once hung for ever (silent) or died allocating exabytes (http)


def test_without_dask_the_dask_executor_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    # Dask not importable: the import of the executor module fails as it would without the extra.
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "rpuarch.sweep.dask_executor", raising=False)
    path = write_workload(tmp_path / "w")
    out = tmp_path / "sweep"
    status = main(["sweep", str(path), "--grid", "seed=1,2", "--out", str(out), "--executor", "dask"])
    err = capsys.readouterr().err
    assert status == 2
    assert "pip install 'rpuarch[dask]'" in " ".join(err.split()) and "Traceback" not in err
    assert not out.exists()

    assert main(["compare", str(path), "--variant", "a", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "needs --executor dask" in " ".join(capsys.readouterr().err.split())
