"""Reading from a store without the process's memory growing with the store.

glibc's malloc serves blocks of up to 32 MiB from its heap once it has seen large blocks freed
(its "dynamic mmap threshold"). Arrays decompressed from Zarr chunks are such blocks, of many
sizes: the heap fragments and the process's resident memory grows with the number of chunks
read, so with the size of the store (measured: +60 MiB over 20 random batches of a 10x larger
store; flat with this module). The same happens to a prediction's per-batch temporaries (its
peak wandered by +-150 MiB from run to run). While reading and predicting, large blocks are
therefore mapped directly and handed back to the system when freed. The threshold goes back up
afterwards: torch's training temporaries are 35% slower to allocate when every large block is
mapped afresh.

Nothing changes on other C libraries, or when the user set ``MALLOC_MMAP_THRESHOLD_`` themselves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["large_blocks_returned"]

_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
_READING_THRESHOLD = 1 << 20  # blocks from 1 MiB up are mapped while reading
_STEADY_THRESHOLD = 32 << 20  # glibc's own ceiling for the dynamic threshold on 64-bit
_lock = threading.Lock()
_depth = 0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


@contextmanager
def large_blocks_returned() -> Iterator[bool]:
    """Within the block, memory blocks of 1 MiB or more are returned to the OS when freed.

    Yields whether the setting applies here (glibc, no user override).

    Example:
        >>> import numpy as np
        >>> with large_blocks_returned():
        ...     chunk = np.ones((4, 1 << 18))  # 8 MiB, mapped directly and unmapped when freed
        >>> float(chunk.sum())
        1048576.0
    """
    global _depth
    libc = _glibc()
    if libc is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        yield False
        return
    with _lock:  # nested blocks (a reader inside a whole-store pass) keep the outer setting
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, _READING_THRESHOLD)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_MMAP_THRESHOLD, _STEADY_THRESHOLD)
