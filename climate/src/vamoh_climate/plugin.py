"""Entry point of the vamoh_climate plugin: its hook implementations.

Registered in ``pyproject.toml`` as ``[project.entry-points.vamoh] climate = "vamoh_climate.plugin"``.

Example:
    >>> import vamoh
    >>> "climate" in vamoh.plugins.modalities(), "sphere" in vamoh.plugins.coordinate_systems()
    (True, True)
    >>> {"zarr", "netcdf"} <= set(vamoh.plugins.readers())
    True
    >>> "climate" in vamoh.plugins.demos()
    True
"""

from __future__ import annotations

from collections.abc import Callable

from vamoh.coordinates import CoordinateSystem
from vamoh.modality import Modality, Reader
from vamoh.plugins import hookimpl
from vamoh_climate.modality import ClimateModality
from vamoh_climate.readers import NetCDFReader, ZarrReader
from vamoh_climate.sphere import SphereCoordinates

__all__ = ["vamoh_coordinate_systems", "vamoh_demos", "vamoh_modalities", "vamoh_readers"]


@hookimpl
def vamoh_modalities() -> list[Modality]:
    """The climate modality (lat/lon grids and stations on the sphere).

    Example:
        >>> [m.name for m in vamoh_modalities()]
        ['climate']
    """
    return [ClimateModality()]


@hookimpl
def vamoh_readers() -> list[Reader]:
    """Zarr stores and netCDF files.

    Example:
        >>> [r.name for r in vamoh_readers()]
        ['zarr', 'netcdf']
    """
    return [ZarrReader(), NetCDFReader()]


@hookimpl
def vamoh_coordinate_systems() -> list[type[CoordinateSystem]]:
    """The unit sphere, so checkpoints that name it load again.

    Example:
        >>> [c.name for c in vamoh_coordinate_systems()]
        ['sphere']
    """
    return [SphereCoordinates]


@hookimpl
def vamoh_demos() -> dict[str, Callable[..., int]]:
    """``vamoh demo climate`` (the default ``vamoh demo``): real ERA5, downscaling, gap filling.

    Example:
        >>> sorted(vamoh_demos())
        ['climate']
    """
    from vamoh_climate.demo import run_demo

    return {"climate": run_demo}
