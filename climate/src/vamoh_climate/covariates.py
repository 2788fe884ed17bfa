"""Static covariates for station and grid data: a built-in land-sea mask, any static field at sites.

* :func:`land_sea_mask`: 1 on land, 0 at sea, at any latitudes/longitudes (0..360 or -180..180),
  offline, from the 30 arc-second (about 1 km) GLOBE mask of the ``global-land-mask`` package
  (part of ``vamoh[climate]``). Most lakes count as land, as in that package.
* :func:`land_sea_mask_like`: the same as a DataArray on a dataset's grid or stations;
  ``fraction=True`` gives each grid cell's land fraction (the kind of ``lsm`` field ERA5 ships).
* :func:`at_sites`: a static gridded field (your own elevation model, a soil map, a climatology)
  interpolated to station locations, ready to become a covariate coordinate.

There is no built-in elevation: no digital elevation model is small enough to ship offline. Bring
your own as a DataArray on a lat/lon grid (e.g. a GMTED2010 or SRTM-derived file) and turn it into
a station coordinate with :func:`at_sites`::

    dem = xr.open_dataarray("my_dem.nc")                 # elevation(lat, lon) in m
    stations = stations.assign_coords(elev=at_sites(dem, stations))

A covariate is any numeric coordinate along the station dim (``elev``, ``lsm``, ``lat``); the
station baselines (:mod:`vamoh_climate.station_baselines`) take their names.

The mask file holds 21600 x 43200 booleans (933 MB unpacked). ``global_land_mask.globe`` keeps all
of it in memory as one boolean per byte; :func:`land_sea_mask` reads the same file in slices and
keeps it bit-packed (117 MB), loaded once per process on first use (about 2 s).
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from vamoh_climate.errors import GridError
from vamoh_climate.modality import locate

__all__ = ["at_sites", "land_sea_mask", "land_sea_mask_like"]

_ROWS_PER_READ = 720  # 720 x 43200 booleans = 31 MB of the mask at a time while it is packed


@functools.cache
def _packed_mask() -> tuple[np.ndarray, float, float, float, float]:
    """(bit-packed ocean mask, first lat, lat step, first lon, lon step) of global-land-mask."""
    try:
        import global_land_mask
    except ImportError as error:
        raise ImportError(
            "the land-sea mask needs the global-land-mask package: pip install global-land-mask "
            "(part of 'vamoh[climate]')."
        ) from error
    path = Path(global_land_mask.__file__).parent / "globe_combined_mask_compressed.npz"
    with zipfile.ZipFile(path) as archive:
        lat = np.load(archive.open("lat.npy"))
        lon = np.load(archive.open("lon.npy"))
        with archive.open("mask.npy") as stream:
            version = np.lib.format.read_magic(stream)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(stream)
            if fortran_order or dtype != np.dtype(bool) or len(shape) != 2:
                raise RuntimeError(
                    f"unexpected land mask layout in {path} ({shape}, {dtype}); reinstall "
                    f"global-land-mask==1.0.0."
                )
            n_rows, n_cols = shape
            blocks = []
            for start in range(0, n_rows, _ROWS_PER_READ):
                rows = min(_ROWS_PER_READ, n_rows - start)
                raw = np.frombuffer(stream.read(rows * n_cols), dtype=np.uint8)
                blocks.append(np.packbits(raw.reshape(rows, n_cols), axis=1))
    packed = np.concatenate(blocks)
    return packed, float(lat[0]), float(lat[1] - lat[0]), float(lon[0]), float(lon[1] - lon[0])


def land_sea_mask(lat: Any, lon: Any) -> np.ndarray:
    """1.0 where ``(lat, lon)`` is on land, 0.0 at sea; arrays broadcast against each other.

    Longitudes may be in either convention (0..360 or -180..180, or beyond: they wrap).
    Resolution 30 arc-seconds (about 1 km); most lakes count as land.

    Raises:
        ValueError: a latitude outside [-90, 90], or a NaN/infinite latitude or longitude.

    Example:
        >>> land_sea_mask([51.5, 50.0], [-0.1, -5.0]).tolist()  # London; the sea off Cornwall
        [1.0, 0.0]
        >>> land_sea_mask(51.5, 359.9).item()  # 0..360 longitudes work too
        1.0
    """
    lat_array = np.asarray(lat, dtype=np.float64)
    lon_array = np.asarray(lon, dtype=np.float64)
    lat_array, lon_array = np.broadcast_arrays(lat_array, lon_array)
    bad = ~(np.isfinite(lat_array) & np.isfinite(lon_array))
    if bad.any():
        raise ValueError(
            f"land_sea_mask got {int(bad.sum())} NaN or infinite latitudes/longitudes; drop those "
            f"points (e.g. ds.where(ds.lat.notnull(), drop=True)) before asking for the mask."
        )
    if np.abs(lat_array).max(initial=0.0) > 90.0:
        raise ValueError(
            f"latitudes must lie in [-90, 90]; got values up to {np.abs(lat_array).max():g}. "
            f"Are latitude and longitude swapped, or in radians?"
        )
    packed, lat0, lat_step, lon0, lon_step = _packed_mask()
    n_rows, n_cols = packed.shape[0], packed.shape[1] * 8
    wrapped = (lon_array - lon0) % 360.0 + lon0  # into the mask's -180..180
    rows = np.clip(np.floor((lat_array - lat0) / lat_step).astype(np.int64), 0, n_rows - 1)
    cols = np.clip(np.floor((wrapped - lon0) / lon_step).astype(np.int64), 0, n_cols - 1)
    ocean = (packed[rows, cols >> 3] >> (7 - (cols & 7))) & 1
    return (1 - ocean).astype(np.float64)


def _cell_offsets(centres: np.ndarray, samples: int) -> np.ndarray:
    """``(n, samples)`` sub-sample positions spread evenly inside each cell of ``centres``."""
    from vamoh_climate.grid import cell_edges

    edges = cell_edges(centres)
    fractions = (np.arange(samples) + 0.5) / samples
    return edges[:-1, None] + fractions[None, :] * np.diff(edges)[:, None]


def land_sea_mask_like(
    data: xr.Dataset | xr.DataArray, *, fraction: bool = False, samples: int = 16
) -> xr.DataArray:
    """The land-sea mask on ``data``'s grid or stations, as a DataArray named ``lsm``.

    Grids give ``lsm(lat, lon)``; stations give ``lsm(station)`` with the stations' coords.
    ``fraction=True`` (grids only) averages ``samples x samples`` points spread over each cell,
    which gives the cell's land fraction in [0, 1]; otherwise each cell centre is looked up.
    Assign it as a coordinate to use it as a covariate: ``ds.assign_coords(lsm=lsm)``.

    Example:
        >>> import numpy as np, xarray as xr
        >>> grid = xr.Dataset(coords={"lat": [52.0, 50.0], "lon": [-4.0, -1.0, 2.0]})
        >>> land_sea_mask_like(grid).values.tolist()  # Wales, England, North Sea; Channel, France
        [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        >>> share = land_sea_mask_like(grid, fraction=True)
        >>> bool(((share >= 0) & (share <= 1)).all()), share.attrs["units"]
        (True, '1')
    """
    ds = data.to_dataset(name="__data__") if isinstance(data, xr.DataArray) else data
    geometry = locate(ds)
    attrs = {"long_name": "land-sea mask (1 = land)", "standard_name": "land_binary_mask"}
    if geometry.kind == "grid":
        if fraction:
            lat = _cell_offsets(np.asarray(geometry.lat, dtype=np.float64), samples)
            lon = _cell_offsets(np.unwrap(geometry.lon, period=360.0), samples)
            lat = np.clip(lat, -90.0, 90.0)
            # (n_lat, samples, 1, 1) x (1, 1, n_lon, samples) -> mean over the sub-samples
            values = land_sea_mask(lat[:, :, None, None], lon[None, None, :, :]).mean(axis=(1, 3))
            attrs = {"long_name": "land area fraction", "standard_name": "land_area_fraction"}
        else:
            values = land_sea_mask(geometry.lat[:, None], geometry.lon[None, :])
    else:
        if fraction:
            raise GridError(
                "fraction=True needs gridded data (a land fraction per grid cell); stations are "
                "points: call land_sea_mask_like(stations) for the mask at each station."
            )
        values = land_sea_mask(geometry.lat, geometry.lon).reshape(geometry.shape)
    coords = {
        name: coord
        for name, coord in ds.coords.items()
        if coord.dims and set(coord.dims) <= set(geometry.dims)
    }
    return xr.DataArray(
        values, dims=geometry.dims, coords=coords, name="lsm", attrs={**attrs, "units": "1"}
    )


def at_sites(
    field: xr.DataArray, sites: xr.Dataset | xr.DataArray, *, method: str = "linear"
) -> xr.DataArray:
    """A static gridded ``field`` (e.g. elevation) interpolated to the station locations of
    ``sites``; a DataArray along the station dim, ready for ``sites.assign_coords(name=...)``.

    ``method`` is that of ``xarray.DataArray.interp`` (``"linear"``, ``"nearest"``, ...).
    Longitudes are matched whatever convention each side uses. Stations outside the field's grid
    raise an error naming how many; NaN cells of the field stay NaN at nearby stations.

    Example:
        >>> import numpy as np, xarray as xr
        >>> dem = xr.DataArray(np.array([[0.0, 100.0], [200.0, 300.0]]), name="elevation",
        ...     dims=("lat", "lon"), coords={"lat": [46.0, 47.0], "lon": [359.0, 360.0]},
        ...     attrs={"units": "m"})
        >>> sites = xr.Dataset(coords={"lat": ("station", [46.5]), "lon": ("station", [-0.5])})
        >>> elev = at_sites(dem, sites)
        >>> elev.values.tolist(), elev.dims, elev.attrs["units"]
        ([150.0], ('station',), 'm')
    """
    grid = locate(field.to_dataset(name="__field__") if field.name is None else field.to_dataset())
    if grid.kind != "grid":
        raise GridError(
            "at_sites needs a field on a lat/lon grid (1-D latitude and longitude dims); this "
            "one is already at points."
        )
    ds = sites.to_dataset(name="__sites__") if isinstance(sites, xr.DataArray) else sites
    target = locate(ds)
    if target.kind != "points":
        raise GridError("at_sites needs stations (lat/lon along a station dim) as sites.")
    lat_dim, lon_dim = grid.dims
    grid_lon = np.unwrap(np.asarray(grid.lon, dtype=np.float64), period=360.0)
    west = float(grid_lon.min())
    site_lon = (np.asarray(target.lon, dtype=np.float64) - west) % 360.0 + west
    site_lat = np.asarray(target.lat, dtype=np.float64)
    lat_low, lat_high = float(np.min(grid.lat)), float(np.max(grid.lat))
    outside = (
        (site_lat < lat_low - 1e-9)
        | (site_lat > lat_high + 1e-9)
        | (site_lon > float(grid_lon.max()) + 1e-9)
    )
    if outside.any():
        raise GridError(
            f"{int(outside.sum())} of {outside.size} stations lie outside the field's grid "
            f"(latitude {lat_low:g}..{lat_high:g}, longitude {west:g}..{grid_lon.max():g}); "
            f"use a field that covers every station, or drop those stations."
        )
    # interpolation wants ascending axes; any longitude convention works once unwrapped
    field = field.assign_coords({lon_dim: (lon_dim, grid_lon)}).sortby([lat_dim, lon_dim])
    station_dims = target.dims
    indexers = {
        lat_dim: xr.DataArray(site_lat.reshape(target.shape), dims=station_dims),
        lon_dim: xr.DataArray(site_lon.reshape(target.shape), dims=station_dims),
    }
    values = field.interp(indexers, method=method)
    values = values.drop_vars([lat_dim, lon_dim], errors="ignore")
    station_coords = {
        name: coord
        for name, coord in ds.coords.items()
        if coord.dims and set(coord.dims) <= set(station_dims)
    }
    return values.assign_coords(station_coords).assign_attrs(field.attrs)
