"""Writing results (downscaled fields, filled gaps, samples) to Zarr and netCDF, CF-style.

Both writers keep units and attrs, mark latitude/longitude the CF way where the input did not,
record what wrote the file in ``history``, and never replace an existing store or file unless
asked to (``overwrite=True``).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from vamoh.atomic import atomic_output, check_new_output
from vamoh_climate.errors import UnnamedDataError
from vamoh_climate.grid import find_lat_lon
from vamoh_climate.units import dequantify

__all__ = ["cf_attributes", "to_netcdf", "to_zarr"]

_CONVENTIONS = "CF-1.8"
_HINT = "overwrite=True (on the command line: --overwrite)"
_AXES = {
    "latitude": {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"},
    "longitude": {"standard_name": "longitude", "units": "degrees_east", "axis": "X"},
}


def _as_dataset(data: xr.Dataset | xr.DataArray) -> xr.Dataset:
    if isinstance(data, xr.DataArray):
        if data.name is None:
            raise UnnamedDataError(
                "this DataArray has no name, and a store needs variable names; give it one with "
                "da.rename('t2m') or pass a Dataset."
            )
        return data.to_dataset(name=str(data.name))
    if not isinstance(data, xr.Dataset):
        raise TypeError(f"to_zarr/to_netcdf write xarray data; got {type(data).__name__}.")
    return data


def cf_attributes(data: xr.Dataset | xr.DataArray) -> xr.Dataset:
    """A copy of ``data`` with CF metadata filled in where it is missing (nothing is replaced).

    Latitude/longitude get ``standard_name``, ``units`` and ``axis``; the dataset gets
    ``Conventions`` and a ``history`` line; ``<var>_std`` variables are described as standard
    deviations. Pint quantities become plain values with a ``units`` attribute, and stale
    encodings (chunks, scale factors of the store the data came from) are dropped.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 2)), {"units": "degC"})},
        ...                 coords={"lat": [1.0, 0.0], "lon": [0.0, 1.0]})
        >>> out = cf_attributes(ds)
        >>> out.lat.attrs["standard_name"], out.lon.attrs["units"], out.attrs["Conventions"]
        ('latitude', 'degrees_east', 'CF-1.8')
        >>> out.t2m.attrs["units"], ds.lat.attrs
        ('degC', {})
    """
    ds = dequantify(_as_dataset(data)).copy()
    ds = ds.drop_encoding()
    try:
        lat, lon, _ = find_lat_lon(ds)
    except ValueError:  # no lat/lon (e.g. a table of scores): nothing to mark
        lat = lon = None
    for name, key in ((lat, "latitude"), (lon, "longitude")):
        if name is None:
            continue
        attrs = dict(ds[name].attrs)
        for attr, value in _AXES[key].items():
            if attr == "axis" and name not in ds.dims:
                continue  # CF axis is for coordinate variables (a grid's), not station lat/lon
            attrs.setdefault(attr, value)
        ds[name].attrs = attrs
    for name in ds.data_vars:
        text = str(name)
        if text.endswith("_std") and text[:-4] in ds.data_vars:
            attrs = dict(ds[name].attrs)
            attrs.setdefault("long_name", f"standard deviation of {text[:-4]}")
            attrs.setdefault("cell_methods", "area: point (predictive standard deviation)")
            ds[name].attrs = attrs
    from vamoh._version import __version__

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{stamp}: written by vamoh {__version__} (vamoh_climate)"
    history = str(ds.attrs.get("history", "")).strip()
    ds.attrs = {
        **ds.attrs,
        "Conventions": ds.attrs.get("Conventions", _CONVENTIONS),
        "history": f"{history}\n{line}" if history else line,
    }
    return ds


def _netcdf_safe(attrs: dict[str, Any]) -> dict[str, Any]:
    """netCDF attributes are strings, numbers or arrays of them: drop None, turn bools into ints."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        elif isinstance(value, dict):
            value = str(value)
        out[key] = value
    return out


def to_zarr(
    data: xr.Dataset | xr.DataArray,
    path: str | Path,
    *,
    overwrite: bool = False,
    **kwargs: Any,
) -> Path:
    """Write ``data`` to a Zarr store with CF attrs (see :func:`cf_attributes`); returns the path.

    Lazy (dask) data are computed chunk by chunk while writing. The store is written beside
    ``path`` and renamed into place, so an interrupted write never leaves half a store. Extra keyword arguments go to
    ``xarray.Dataset.to_zarr`` (e.g. ``zarr_format=2``, ``encoding``).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.

    Example:
        >>> import tempfile, xarray as xr
        >>> from vamoh_climate.synthetic import global_field
        >>> path = to_zarr(global_field(2, 4, 8), tempfile.mkdtemp() + "/t2m.zarr")
        >>> back = xr.open_zarr(path)
        >>> back.t2m.attrs["units"], back.attrs["Conventions"]
        ('K', 'CF-1.8')
        >>> try:
        ...     to_zarr(global_field(2, 4, 8), path)
        ... except FileExistsError as error:
        ...     print(str(error).split("; ")[1][:47])
        pass overwrite=True (on the command line: --ove
    """
    target = check_new_output(path, overwrite, hint=_HINT)
    ds = cf_attributes(data)
    # a fresh store beside the name, renamed into place: an interrupted write never leaves half
    # a store, and no file of a replaced store's variables survives in the new one
    with atomic_output(target, overwrite=overwrite, hint=_HINT) as partial:
        with warnings.catch_warnings():
            # consolidated metadata makes opening fast and quiet; zarr 3 only notes it is an
            # extension of the v3 spec, which is not actionable here
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            ds.to_zarr(partial, mode="w-", **kwargs)
    return target


def to_netcdf(
    data: xr.Dataset | xr.DataArray,
    path: str | Path,
    *,
    overwrite: bool = False,
    **kwargs: Any,
) -> Path:
    """Write ``data`` to a netCDF-4 file with CF attrs (see :func:`cf_attributes`).

    The file is written next to its final name and moved into place, so a failed write never
    leaves half a file. Extra keyword arguments go to ``xarray.Dataset.to_netcdf``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.

    Example:
        >>> import tempfile, xarray as xr
        >>> from vamoh_climate.synthetic import stations
        >>> path = to_netcdf(stations(3, 4), tempfile.mkdtemp() + "/tas.nc")
        >>> with xr.open_dataset(path) as back:
        ...     back.tas.attrs["units"], back.lat.attrs["standard_name"]
        ('degC', 'latitude')
    """
    target = check_new_output(path, overwrite, hint=_HINT)
    ds = cf_attributes(data)
    ds.attrs = _netcdf_safe(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _netcdf_safe(ds[name].attrs)
    with atomic_output(target, overwrite=overwrite, hint=_HINT) as partial:
        ds.to_netcdf(partial, **kwargs)
    return target
