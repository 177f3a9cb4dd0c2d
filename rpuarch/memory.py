"""Keep freed memory in the process while the numerics run (glibc's malloc).

A training window allocates and frees the same few arrays of megabytes every time (the window's
output gradients, the softmax layer's 3,200 x vocabulary products). glibc serves such blocks by
mmap or at the top of the heap and gives them back to the kernel when they are freed (munmap, or
a heap trim past M_TRIM_THRESHOLD), so the next window takes a page fault for every 4 KiB page
again: on LSTM2-64WP about a tenth of the process's time went to the kernel zeroing pages.
Raising the mmap and trim thresholds keeps the freed blocks in the heap for reuse: the numbers do
not change, only where the memory comes from; the process keeps its peak heap until it exits.

Another C library (musl, macOS) is left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

_M_TRIM_THRESHOLD = -1  # mallopt parameters of glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30  # freed memory up to 1 GiB stays in the heap
_MMAP_FROM_BYTES = 1 << 25  # blocks of 32 MiB (glibc's largest threshold) and more are still mapped on their own


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks for reuse (once per process); False where the C
    library has no ``mallopt`` or refused it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES))
