"""``python -m benchmarks run [--quick] [--only NAME ...] [--out DIR]`` and ``python -m benchmarks list``."""

from __future__ import annotations

import sys

from benchmarks.runner import main

if __name__ == "__main__":
    sys.exit(main())
