"""The environment a benchmark ran in: machine, CPU, threads, GPU, package versions, commit, date.

Every result carries this record, so a number is never separated from where it was measured.

Example:
    >>> record = environment_record(threads=1, seed=0)
    >>> record["torch_threads"], record["seed"]
    (1, 0)
    >>> sorted(record["versions"])[:3]
    ['dask', 'lightning', 'numpy']
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT

PACKAGES = ("python", "torch", "lightning", "vamoh", "numpy", "scipy", "xarray", "zarr", "dask")


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``).

    Example:
        >>> isinstance(cpu_model(), str) and len(cpu_model()) > 0
        True
    """
    name = _cpuinfo("model name", "hardware", "cpu model")
    return name or platform.processor() or platform.machine() or "unknown"


def cpu_bf16() -> str | None:
    """The CPU's native bfloat16 matrix instructions (``amx_bf16``, ``avx512_bf16``), None if
    it has none: without them bfloat16 matmuls on the CPU have no fast path.

    Example:
        >>> cpu_bf16() in (None, "amx_bf16", "avx512_bf16", "amx_bf16, avx512_bf16")
        True
    """
    flags = set((_cpuinfo("flags") or "").split())
    return ", ".join(sorted(flags & {"amx_bf16", "avx512_bf16"})) or None


def _cpuinfo(*keys: str) -> str | None:
    """The value of the first ``/proc/cpuinfo`` line starting with one of ``keys`` (Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return None
    for line in cpuinfo.read_text(errors="replace").splitlines():
        if line.lower().startswith(keys):
            return line.split(":", 1)[1].strip()
    return None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), which can be fewer than the machine has.

    Example:
        >>> usable_cores() >= 1
        True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def memory_total_mb() -> float | None:
    """Total RAM in MiB (``/proc/meminfo``), None where unknown.

    Example:
        >>> total = memory_total_mb()
        >>> total is None or total > 0
        True
    """
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024.0
    return None


def gpu_description() -> str | None:
    """The CUDA device torch would use (name, memory), or None on a CPU-only machine.

    Example:
        >>> description = gpu_description()
        >>> description is None or isinstance(description, str)
        True
    """
    import torch

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(0)
    count = torch.cuda.device_count()
    memory_gib = properties.total_memory / 2**30
    return f"{count} x {properties.name} ({memory_gib:.0f} GiB)"


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages whose speed or numerics shape the results.

    Example:
        >>> package_versions()["python"] == __import__("platform").python_version()
        True
    """
    versions = {"python": platform.python_version()}
    for name in PACKAGES[1:]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: Path = REPO_ROOT) -> str:
    """The checked-out commit, with ``+dirty`` when the tree has uncommitted changes.

    Example:
        >>> isinstance(git_commit(), str)
        True
    """

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit}+dirty" if status else commit


def environment_record(threads: int, seed: int) -> dict[str, Any]:
    """Everything needed to judge where a result came from, as a JSON-ready dict.

    Example:
        >>> environment_record(threads=2, seed=0)["cores"] >= 1
        True
    """
    total = memory_total_mb()
    return {
        "machine": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(),
        "cpu_bf16": cpu_bf16(),
        "cores": usable_cores(),
        "memory_gib": round(total / 1024.0, 1) if total else None,
        "torch_threads": int(threads),
        "gpu": gpu_description(),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": int(seed),
    }


def describe(record: dict[str, Any]) -> str:
    """One readable sentence of an environment record, for the Markdown report.

    Example:
        >>> text = describe(environment_record(threads=1, seed=0))
        >>> "1 torch thread" in text
        True
    """
    versions = record.get("versions", {})
    packages = ", ".join(f"{name} {version}" for name, version in versions.items())
    threads = record.get("torch_threads")
    plural = "" if threads == 1 else "s"
    gpu = record.get("gpu") or "no GPU"
    memory = f", {record['memory_gib']} GiB RAM" if record.get("memory_gib") else ""
    return (
        f"{record.get('date', '?')}; {record.get('cpu', '?')}"
        f"{' (' + record['cpu_bf16'] + ')' if record.get('cpu_bf16') else ''}, "
        f"{record.get('cores', '?')} cores"
        f"{memory}, {threads} torch thread{plural}, {gpu}; commit {record.get('git_commit', '?')}; "
        f"seed {record.get('seed', '?')}; {packages}."
    )
