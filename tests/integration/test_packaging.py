"""Only ``vamoh`` and ``vamoh_*`` are importable or shipped: no folder of the repo leaks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("vamoh", "vamoh_climate", "vamoh_voxels", "vamoh_images")
NOT_PACKAGES = ("climate", "voxels", "images", "plugins", "tests", "benchmarks")

CHECK_IMPORTS = f"""
import importlib
for name in {SHIPPED!r}:
    importlib.import_module(name)
leaked = []
for name in {NOT_PACKAGES!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        continue
    leaked.append(name)
print("leaked:", ",".join(leaked))
"""


def test_only_vamoh_packages_are_importable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS],
        cwd=tmp_path,  # not the repo root, which python would put on sys.path
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "leaked:", done.stdout


def _copy_project(destination: Path) -> Path:
    """The files a build reads, without the virtualenv, caches or earlier builds."""
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "site", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
    )
    shutil.copytree(ROOT, destination, ignore=ignore)
    return destination


def test_wheel_ships_only_vamoh_packages(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="the 'build' package (dev extra) builds the wheel")
    source = _copy_project(tmp_path / "src")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--skip-dependency-check",
            "--outdir",
            "dist",
            ".",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels = list((source / "dist").glob("vamoh-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == set(SHIPPED), top_level
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        declared = wheel.read(entry_points).decode()
    for plugin in ("climate", "voxels", "images"):
        assert f"{plugin} = vamoh_{plugin}.plugin" in declared
