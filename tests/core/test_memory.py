"""Large temporaries go back to the OS while vamoh reads a store (glibc only)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from vamoh.memory import _glibc, large_blocks_returned

PROBE = textwrap.dedent(
    """
    import numpy as np
    from pathlib import Path
    from vamoh.memory import large_blocks_returned

    def rss():
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    pins = []

    def churn():
        # arrays of 2 to 24 MiB, each followed by a small long-lived one that pins the heap
        # above it: freed, the big ones cannot shrink the heap (a fragmenting pattern)
        keep = []
        for size in range(2, 25):
            keep.append(np.ones(size * 2**17))
            pins.append(np.ones(2000))
            if len(keep) > 3:
                keep.pop(0)

    np.ones(30 * 2**17)  # a freed 30 MiB block lifts glibc's dynamic mmap threshold to 30 MiB
    before = rss()
    with large_blocks_returned():
        churn()
    inside = rss() - before
    churn()
    outside = rss() - before
    print(inside, outside)
    """
)


@pytest.mark.skipif(_glibc() is None, reason="glibc's malloc only")
def test_freed_large_blocks_leave_the_process_inside_the_block() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    inside, outside = map(float, out.split())
    assert inside < 8.0  # MiB still held after the churn: nearly nothing
    assert outside > inside + 16.0  # without it the heap keeps tens of MiB


def test_nested_blocks_and_other_platforms_are_harmless() -> None:
    with large_blocks_returned() as outer, large_blocks_returned() as inner:
        assert outer == inner
    with large_blocks_returned():
        pass
