"""Small synthetic climate data with real-world metadata, for examples, tests and demos.

The fields are smooth on the sphere (a pole-to-equator gradient plus a few travelling waves), so
interpolation and learning behave as on real temperature fields, with no download.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["global_field", "stations"]


def _temperature(lat: np.ndarray, lon: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """``(S, ...)`` smooth 2 m temperatures in kelvin at broadcast ``lat``/``lon`` degrees."""
    la, lo = np.radians(lat)[None], np.radians(lon)[None]
    p = phase.reshape(-1, *([1] * lat.ndim))
    return (
        250.0
        + 40.0 * np.cos(la) ** 2
        + 3.0 * np.cos(la) * np.sin(2.0 * lo + p)
        + 1.5 * np.sin(3.0 * la) * np.cos(lo - 2.0 * p)
    )


def global_field(
    n_samples: int = 8,
    n_lat: int = 16,
    n_lon: int = 32,
    *,
    seed: int = 0,
    name: str = "t2m",
    longitudes: str = "0..360",
) -> xr.Dataset:
    """A global ERA5-like Dataset ``name(time, latitude, longitude)`` in K, latitude descending.

    Cell-centred latitudes (no grid point on a pole); ``longitudes="-180..180"`` gives the other
    convention for the same points.

    Example:
        >>> ds = global_field(4, 8, 16)
        >>> ds["t2m"].dims, ds["t2m"].attrs["units"], float(ds.latitude[0]) > 0
        (('time', 'latitude', 'longitude'), 'K', True)
    """
    rng = np.random.default_rng(seed)
    lat = 90.0 - (np.arange(n_lat) + 0.5) * 180.0 / n_lat
    lon = np.arange(n_lon) * 360.0 / n_lon
    if longitudes == "-180..180":
        lon = lon - 180.0
    elif longitudes != "0..360":
        raise ValueError(f"longitudes must be '0..360' or '-180..180'; got {longitudes!r}.")
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    values = _temperature(lat2, lon2, rng.uniform(0, 2 * np.pi, n_samples))
    values = values + rng.normal(0.0, 0.05, values.shape)
    time = pd.date_range("2000-01-01", periods=n_samples, freq="6h")
    return xr.Dataset(
        {
            name: (
                ("time", "latitude", "longitude"),
                values.astype(np.float32),
                {"units": "K", "long_name": "2 metre temperature"},
            )
        },
        coords={
            "time": time,
            "latitude": (
                "latitude",
                lat,
                {"units": "degrees_north", "standard_name": "latitude"},
            ),
            "longitude": (
                "longitude",
                lon,
                {"units": "degrees_east", "standard_name": "longitude"},
            ),
        },
        attrs={"source": "vamoh_climate.synthetic.global_field"},
    )


def stations(n_stations: int = 12, n_days: int = 30, *, seed: int = 0) -> xr.Dataset:
    """Daily station series ``tas(location, time)`` in degC with lat/lon along ``location``
    and a few NaN gaps.

    Example:
        >>> ds = stations(5, 10)
        >>> ds["tas"].dims, ds["lat"].dims, bool(ds["tas"].isnull().any())
        (('location', 'time'), ('location',), True)
    """
    rng = np.random.default_rng(seed)
    lat = rng.uniform(35.0, 65.0, n_stations)
    lon = rng.uniform(-130.0, -60.0, n_stations)
    kelvin = _temperature(lat, lon, rng.uniform(0, 2 * np.pi, n_days))  # (time, location)
    values = (kelvin - 273.15).T + rng.normal(0.0, 0.3, (n_stations, n_days))
    values[rng.random(values.shape) < 0.05] = np.nan
    return xr.Dataset(
        {
            "tas": (
                ("location", "time"),
                values.astype(np.float32),
                {"units": "degC", "standard_name": "air_temperature"},
            )
        },
        coords={
            "location": [f"station_{i:02d}" for i in range(n_stations)],
            "time": pd.date_range("1990-01-01", periods=n_days, freq="D"),
            "lat": ("location", lat.astype(np.float32), {"units": "degree_north"}),
            "lon": ("location", lon.astype(np.float32), {"units": "degree_east"}),
        },
        attrs={"title": "synthetic stations"},
    )
