"""A first run says it compiles the kernels (most of its time), and only then."""

import os
import subprocess
import sys

import numpy as np

from rpuarch import kernel_cache
from rpuarch.config import IOSection
from rpuarch.cli import main
from rpuarch.device import periphery_kernel
from rpuarch.kernel_cache import COMPILING, kernels_need_compiling

from conftest import write_workload

PROBE = "from rpuarch.kernel_cache import kernels_need_compiling as k; print(k())"


def test_kernels_need_compiling_reads_numbas_cache(tmp_path):
    # An empty cache (a fresh install): compiling is ahead.
    fresh = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert fresh.stdout.strip() == "True", fresh.stderr
    # Once the kernel is compiled (and cached), nothing is.
    periphery_kernel.matvec(np.zeros((3, 4)), np.ones((2, 4)), IOSection().forward, np.random.default_rng(0), True)
    assert kernels_need_compiling() is False


def test_run_says_so_before_compiling_and_not_when_showing_a_finished_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(kernel_cache, "kernels_need_compiling", lambda: True)
    path = write_workload(tmp_path, {"training": {"epochs": 1}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert COMPILING in " ".join(capsys.readouterr().out.split())
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0  # shown, not computed
    assert COMPILING not in " ".join(capsys.readouterr().out.split())
