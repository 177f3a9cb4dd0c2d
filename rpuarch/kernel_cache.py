"""Compiled kernels: whether a run compiles them first, which takes most of a first run.

The tile numerics are numba kernels compiled on first use and cached on disk (``cache=True``):
beside the source when the install is writable, else in the user's cache directory (numba's
own fallback, ``~/.cache/numba``); ``NUMBA_CACHE_DIR`` overrides both. Later runs load them in
a second or two.
"""

from __future__ import annotations

from typing import Any

COMPILING = "compiling kernels (first run only: about 20 s on 2 idle cores, then cached)"


def kernels_need_compiling() -> bool:
    """True when the tile kernels have no compiled code on disk for their current source (a fresh
    install, an upgrade); False when they have, with the numpy backend, or when numba keeps its
    cache where this cannot look (then nothing is said rather than guessed)."""
    from .device.tile import default_backend

    if default_backend() == "numpy":
        return False
    from .device import periphery_kernel

    try:  # numba's cache index of the kernel every analog read goes through
        return not periphery_kernel.managed_matvec._cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 (numba's internals moved)
        return False


def say_if_compiling(console: Any) -> None:
    """Tell a (rich) console that the run about to start compiles the kernels first."""
    if kernels_need_compiling():
        console.print(f"[yellow]{COMPILING}[/]")
