"""Checks of station data (a station dim with lat/lon along it), run before anything trains.

:meth:`ClimateModality.to_points` calls them, so ``vamoh.fit``, ``model.impute`` and
``model.predict`` refuse bad station data with an error naming the problem, the count and the
fix; the station baselines (:mod:`vamoh_climate.station_baselines`) run the same checks.

* no latitude/longitude on data with a station dimension: :class:`MissingStationLocationError`;
* a NaN or infinite latitude/longitude: :class:`StationLocationError` (raised while locating);
* repeated station ids (labels of the station dim): :class:`DuplicateStationError`;
* two stations at exactly the same lat/lon are refused while locating (a ``GridError`` from
  :func:`vamoh_climate.grid.geometry_of`: a field has one value per place), with the fix.

A station dim is a dim named like one of :data:`STATION_DIM_NAMES`, or whose coordinate has the
CF attribute ``cf_role: timeseries_id``, or any dim of a dataset with ``featureType: timeSeries``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from vamoh_climate.errors import (
    DuplicateStationError,
    MissingLatLonError,
    MissingStationLocationError,
)
from vamoh_climate.grid import Geometry, find_lat_lon

__all__ = ["STATION_DIM_NAMES", "check_station_latlon", "check_stations", "station_dim"]

STATION_DIM_NAMES = (
    "station",
    "stations",
    "location",
    "locations",
    "site",
    "sites",
    "station_id",
    "stid",
)
_EXAMPLES = 3  # ids quoted in a message


def station_dim(ds: xr.Dataset) -> str | None:
    """The dim of ``ds`` that holds stations, or None (see the module docstring for the rules).

    Example:
        >>> import xarray as xr
        >>> station_dim(xr.Dataset({"t": (("time", "site"), [[1.0, 2.0]])}))
        'site'
        >>> station_dim(xr.Dataset({"t": (("time", "x"), [[1.0, 2.0]])})) is None
        True
    """
    for variable in ds.variables.values():
        if variable.attrs.get("cf_role") == "timeseries_id" and variable.ndim == 1:
            return str(variable.dims[0])
    for dim in ds.dims:
        if str(dim).lower() in STATION_DIM_NAMES:
            return str(dim)
    if str(ds.attrs.get("featureType", "")).lower() == "timeseries":
        not_time = [str(d) for d in ds.dims if str(d) != "time"]
        if len(not_time) == 1:
            return not_time[0]
    return None


def _quote(labels: np.ndarray) -> str:
    shown = ", ".join(repr(label.item() if hasattr(label, "item") else label) for label in labels)
    return shown + (", ..." if labels.size > _EXAMPLES else "")


def check_station_latlon(ds: xr.Dataset) -> None:
    """Raise :class:`MissingStationLocationError` when station data have no lat/lon.

    Data without a station dim are left to the generic :class:`MissingLatLonError`.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"tmax": (("station", "time"), np.zeros((2, 3)))},
        ...                 coords={"station": ["A", "B"]})
        >>> try:
        ...     check_station_latlon(ds)
        ... except MissingStationLocationError as error:
        ...     print(str(error)[:64])
        station data without locations: dim 'station' (2 stations) has n
    """
    try:
        find_lat_lon(ds)
    except MissingLatLonError as error:
        dim = station_dim(ds)
        if dim is None:
            return
        count = ds.sizes[dim]
        raise MissingStationLocationError(
            f"station data without locations: dim {dim!r} ({count} stations) has no latitude/"
            f"longitude coordinates ({error}). Add one lat and one lon per station, e.g. "
            f"ds.assign_coords(lat=({dim!r}, lats), lon=({dim!r}, lons)) with {count} values "
            f"each in degrees."
        ) from None


def check_stations(ds: xr.Dataset, geometry: Geometry) -> None:
    """Refuse repeated station ids; warn about stations that share a location.

    Only data whose points lie along one dim (stations) are checked; grids and curvilinear
    grids pass through. NaN/inf locations are refused earlier, by ``locate``.

    Raises:
        DuplicateStationError: the station dim's labels repeat (count, examples and the fix).

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate.modality import locate
        >>> ds = xr.Dataset(coords={"station": ["a", "b"], "lat": ("station", [45.0, 46.0]),
        ...                         "lon": ("station", [7.0, 8.0])})
        >>> check_stations(ds, locate(ds))  # two distinct stations: nothing to say
    """
    if geometry.kind != "points" or len(geometry.dims) != 1:
        return
    dim = geometry.dims[0]
    if dim in ds.indexes:
        index = ds.indexes[dim]
        repeated = index.duplicated()
        if repeated.any():
            ids = pd.unique(np.asarray(index[repeated]))
            noun = "station id appears" if ids.size == 1 else "station ids appear"
            raise DuplicateStationError(
                f"{ids.size} {noun} more than once along {dim!r} ({int(repeated.sum())} extra "
                f"rows; e.g. {_quote(ids[:_EXAMPLES])}): each station must appear once. Merge "
                f"the rows of a station, or keep the first with ds.drop_duplicates({dim!r})."
            )
