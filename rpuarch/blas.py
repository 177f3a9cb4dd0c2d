"""One BLAS thread for the simulations: training, its benchmark and the tile benchmark.

The numerics are long sequences of small matrix products (batch 1-32, or 1,600 at most, against
arrays of a few hundred rows and columns). Several BLAS threads only add synchronisation to
those, and when the cores are shared (other processes, a parallel sweep) OpenBLAS's spinning
threads collapse throughput: on the 2-core development machine at load 8, a 16-stream epoch ran
at 2,100 char/s with the default thread pool and at 35,000 char/s with one thread; the tile's
forward pass at batch 32 at 1,000 instead of 76,000 vectors/s (load ~9). Parallelism belongs to
sweeps (one process per point), not to the products of one run.

OpenBLAS (what numpy and scipy wheels ship) is limited through its C API, found among the
libraries loaded into the process: numpy's, and scipy's, which numba's compiled ``np.dot``
calls. Another BLAS is left alone.
"""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_", "openblas_get_num_threads")


@lru_cache(maxsize=1)
def _openblas_apis() -> tuple[tuple[object, object], ...]:
    """(set, get) of every OpenBLAS loaded: numpy's, and scipy's (loaded here so that it is
    limited too; numba's compiled products call it)."""
    import numpy  # noqa: F401

    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        return ()
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower() and "/" in line}
    apis = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, s) for s in _SETTERS if hasattr(lib, s)), None)
        getter = next((getattr(lib, g) for g in _GETTERS if hasattr(lib, g)), None)
        if setter is not None and getter is not None:
            getter.restype = ctypes.c_int
            apis.append((setter, getter))
    return tuple(apis)


@contextmanager
def blas_threads(count: int) -> Iterator[int]:
    """Run the block with ``count`` threads in every OpenBLAS, then restore the previous numbers.
    Yields how many OpenBLAS libraries were limited (0: none found, nothing changed)."""
    apis = _openblas_apis()
    previous = [getter() for _, getter in apis]
    for setter, _ in apis:
        setter(count)
    try:
        yield len(apis)
    finally:
        for (setter, _), n in zip(apis, previous):
            setter(n)
