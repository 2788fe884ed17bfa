"""``vamoh.show_versions()``: what to paste into a bug report."""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys

__all__ = ["show_versions", "versions"]

_KEY_PACKAGES = (
    "torch",
    "lightning",
    "numpy",
    "scipy",
    "xarray",
    "zarr",
    "dask",
    "pint",
    "pint-xarray",
    "cf-xarray",
    "pluggy",
    "pykdtree",
    "fpsample",
    "cartopy",
    "matplotlib",
    "trimesh",
    "pillow",
)


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, dict[str, str]]:
    """Versions of vamoh, its plugins, key dependencies and the platform, as nested dicts."""
    from vamoh import __version__, plugins

    system = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "vamoh": __version__,
    }
    try:
        import torch

        system["cuda available"] = str(torch.cuda.is_available())
        system["torch threads"] = str(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    plugin_rows = {
        row["name"]: f"{row['package']} {row['version']} ({row['status']})"
        for row in plugins.installed_plugins()
    }
    deps = {name: _version(name) for name in _KEY_PACKAGES}
    return {"system": system, "plugins": plugin_rows, "dependencies": deps}


def show_versions(file=None) -> None:
    """Print versions of vamoh, its plugins and key dependencies (for bug reports).

    Example:
        >>> import io, vamoh
        >>> buf = io.StringIO()
        >>> vamoh.show_versions(file=buf)
        >>> "vamoh" in buf.getvalue()
        True
    """
    out = file or sys.stdout
    for section, rows in versions().items():
        print(f"{section}:", file=out)
        width = max((len(k) for k in rows), default=0)
        for key, value in rows.items():
            print(f"  {key:<{width}}  {value}", file=out)
