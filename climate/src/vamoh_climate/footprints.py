"""Grid cells as observation footprints: a coarse cell's value is the mean over its fine points.

The engine's Gaussian backbone conditions exactly on what a task observes. Downscaling observes
coarse cells, each the mean of the field over the training-grid points inside it (the
:func:`vamoh_climate.baselines.block_mean` convention); :func:`cell_footprints` says which points
each cell averages, and :func:`coarsen` makes coarse fields and their footprints from a training
grid (the backbone scores its downscaling setting on them).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from vamoh import Footprints, PointSet
from vamoh_climate.grid import Geometry, cell_index
from vamoh_climate.layout import ClimateLayout
from vamoh_climate.sphere import SphereCoordinates

__all__ = ["cell_footprints", "coarsen"]


def cell_footprints(geometry: Geometry, support: np.ndarray) -> Footprints | None:
    """Footprints of ``geometry``'s grid cells over ``support`` points (model coordinates).

    Each cell holding support points observes their plain mean; a cell holding none observes
    the field at its centre. Returns ``None`` when no cell holds two or more support points (the
    grid is not coarser than the support: its values are point values).

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.modality import locate
        >>> fine = xr.Dataset(coords={"lat": [1.5, 0.5, -0.5, -1.5], "lon": [0.5, 1.5, 2.5, 3.5]})
        >>> coarse = xr.Dataset(coords={"lat": [1.0, -1.0], "lon": [1.0, 3.0]})
        >>> sphere = ClimateModality().coordinate_system
        >>> support = sphere.latlon_to_xyz(*locate(fine).point_latlon())
        >>> fp = cell_footprints(locate(coarse), support)
        >>> fp.weights.toarray()[0].round(2).tolist()
        [0.25, 0.25, 0.0, 0.0, 0.25, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    if geometry.kind != "grid":
        return None
    sphere = SphereCoordinates()
    latlon = sphere.from_model(np.asarray(support, dtype=np.float64))
    rows = cell_index(latlon[:, 0], geometry.lat, periodic=False)
    cols = cell_index(latlon[:, 1], geometry.lon, periodic=True)
    inside = (rows >= 0) & (cols >= 0)
    n_cells = geometry.n_points
    cell = np.where(inside, rows * geometry.lon.size + cols, -1)
    counts = np.bincount(cell[inside], minlength=n_cells)
    if counts.max(initial=0) < 2:
        return None
    member = np.flatnonzero(inside)
    data = 1.0 / counts[cell[member]]
    empty = np.flatnonzero(counts == 0)
    n_support = support.shape[0]
    # cells without support points observe the field at their own centre
    centre_lat, centre_lon = geometry.point_latlon()
    extra = sphere.latlon_to_xyz(centre_lat[empty], centre_lon[empty])
    weights = sp.csr_matrix(
        (
            np.concatenate([data, np.ones(len(empty))]),
            (
                np.concatenate([cell[member], empty]),
                np.concatenate([member, n_support + np.arange(len(empty))]),
            ),
        ),
        shape=(n_cells, n_support + len(empty)),
    )
    return Footprints(np.concatenate([np.asarray(support, np.float64), extra]), weights)


def coarsen(points: PointSet, factor: int) -> tuple[PointSet, Footprints] | None:
    """Block means of a gridded point set ``factor`` times coarser, and their footprints.

    Trailing rows/columns that do not fill a block are left out. ``None`` for stations or a
    grid too small to coarsen (fewer than 2 x 2 coarse cells).

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> points = ClimateModality().to_points(global_field(3, 8, 16))
        >>> coarse, fp = coarsen(points, 2)
        >>> coarse.values.shape, fp.weights.shape
        ((3, 32, 1), (32, 128))
    """
    from vamoh_climate.baselines import block_mean
    from vamoh_climate.layout import decode, encode
    from vamoh_climate.modality import locate
    from vamoh_climate.variables import select

    layout = points.layout
    if not isinstance(layout, ClimateLayout) or layout.geometry.kind != "grid":
        return None
    rows, cols = (n // factor for n in layout.geometry.shape)
    if rows < 2 or cols < 2:
        return None
    fine = decode(points)
    coarse_ds = block_mean(fine, factor, trim=True)
    geometry = locate(coarse_ds)
    coarse = encode(coarse_ds, geometry, select(coarse_ds, geometry.dims, list(layout.variables)))
    footprints = cell_footprints(geometry, points.coords)
    if footprints is None:
        return None
    return coarse, footprints
