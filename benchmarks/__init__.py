"""Benchmarks of vamoh: speed, scaling and quality, one module per benchmark.

Run from the repository root with ``python -m benchmarks run [--quick] [--only NAME ...] [--out DIR]``
or list what exists with ``python -m benchmarks list``. A benchmark is any module
``benchmarks/<name>.py`` that defines ``NAME: str`` and ``run(quick: bool, out_dir: Path) -> dict``;
the runner discovers it, so there is no central list to edit.

Example:
    >>> import benchmarks
    >>> benchmarks.__name__
    'benchmarks'
"""
