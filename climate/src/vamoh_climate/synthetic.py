"""Small synthetic climate data with real-world metadata, for examples, tests and demos.

The fields are smooth on the sphere (a pole-to-equator gradient plus a few travelling waves), so
interpolation and learning behave as on real temperature fields, with no download.
:func:`station_network` is a mountain station network whose temperatures depend strongly on
elevation, for station gap-filling and prediction at unseen sites with covariates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["global_field", "station_network", "stations"]


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


# -- a mountain station network ---------------------------------------------------------------
NETWORK_BOX = (45.0, 48.0, 6.0, 14.0)  # south, north, west, east: an Alps-sized region
LAPSE_RATE = -6.5  # K per km, the annual mean; steeper in summer, shallower in winter
_ROUGHNESS_M = 500.0  # std of the rough terrain on top of the main ridge
_OFFSET_K = 0.8  # std of the fixed offset of each station (siting, slope aspect)
_KM_PER_DEGREE = 111.195


def _fourier_field(
    rng: np.random.Generator, n_modes: int, wavelength_km: tuple[float, float], slope: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random plane waves: (wave vectors (K, 2) in rad/km, phases (K,), amplitudes (K,))."""
    low, high = np.log(wavelength_km[0]), np.log(wavelength_km[1])
    wavelength = np.exp(rng.uniform(low, high, n_modes))
    angle = rng.uniform(0.0, np.pi, n_modes)
    k = 2.0 * np.pi / wavelength
    vectors = np.stack([k * np.cos(angle), k * np.sin(angle)], axis=1)
    amplitude = wavelength**slope
    return (
        vectors,
        rng.uniform(0.0, 2.0 * np.pi, n_modes),
        amplitude / np.sqrt(np.sum(amplitude**2)),
    )


def _km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(N, 2) local east/north kilometres from the network box's centre."""
    south, north, west, east = NETWORK_BOX
    centre_lat, centre_lon = 0.5 * (south + north), 0.5 * (west + east)
    x = (lon - centre_lon) * _KM_PER_DEGREE * np.cos(np.radians(centre_lat))
    y = (lat - centre_lat) * _KM_PER_DEGREE
    return np.stack([x, y], axis=1)


def _terrain(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Elevation in m: a main ridge across the box plus rough terrain down to valley scale."""
    south, north, _, _ = NETWORK_BOX
    middle = 0.5 * (south + north)
    vectors, phases, amplitude = _fourier_field(rng, 300, (8.0, 300.0), 1.0)
    rough = np.sqrt(2.0) * (np.cos(_km(lat, lon) @ vectors.T + phases) @ amplitude)
    ridge = 1300.0 * np.exp(-(((lat - middle) / 0.9) ** 2))
    return np.clip(500.0 + ridge + _ROUGHNESS_M * rough, 50.0, None)


def station_network(
    n_stations: int = 300,
    n_months: int = 1000,
    missing: float = 0.6,
    *,
    seed: int = 0,
) -> xr.Dataset:
    """A mountain station network: monthly ``tmax(station, time)`` in degC with ``elev``.

    Stations lie in an Alps-sized box (45-48 N, 6-14 E) on synthetic terrain (a main ridge plus
    rough terrain down to 10 km scales, 50 to about 2500 m), more of them in valleys than on
    summits, as real networks are. Each monthly mean daily maximum temperature is

    * a seasonal cycle (18 degC annual mean at sea level, +-10 degC) and a 0.2 K/decade trend,
    * plus the elevation times a lapse rate of -6.5 K/km on average (-7.5 in July, -5.5 in
      January),
    * plus -0.6 K per degree of latitude,
    * plus a smooth anomaly field (300-1500 km scales, 1.5 K std) that evolves from month to
      month (AR(1), correlation 0.6),
    * plus a fixed offset per station (0.8 K std: siting, slope aspect) and 0.3 K noise.

    Elevation explains most of the differences between nearby stations, so kriging on
    elevation (regression kriging) has about half the error of ordinary kriging (see the
    ``stations_quality`` benchmark). ``missing`` of the records are NaN at random; the values do
    not depend on ``missing``, so ``missing=0`` with the same seed is the complete truth.

    Example:
        >>> ds = station_network(20, 24, missing=0.5, seed=3)
        >>> ds["tmax"].dims, ds["tmax"].attrs["units"], ds["elev"].attrs["units"]
        (('station', 'time'), 'degC', 'm')
        >>> truth = station_network(20, 24, missing=0.0, seed=3)
        >>> bool(truth["tmax"].where(ds["tmax"].notnull()).equals(ds["tmax"]))
        True
    """
    if not 0.0 <= missing < 1.0:
        raise ValueError(f"missing must be a fraction in [0, 1); got {missing}.")
    if n_stations < 1 or n_months < 1:
        raise ValueError(
            f"station_network needs at least one station and one month; got {n_stations} "
            f"stations and {n_months} months."
        )
    terrain_rng, place_rng, weather_rng, mask_rng = (
        np.random.default_rng([seed, part]) for part in range(4)
    )
    south, north, west, east = NETWORK_BOX
    # candidate sites on the terrain; valleys are more likely to host a station
    pool = 20 * n_stations
    cand_lat = place_rng.uniform(south, north, pool)
    cand_lon = place_rng.uniform(west, east, pool)
    terrain = _terrain(terrain_rng, cand_lat, cand_lon)
    preference = np.exp(-terrain / 1200.0)
    chosen = place_rng.choice(pool, n_stations, replace=False, p=preference / preference.sum())
    lat, lon, elev = cand_lat[chosen], cand_lon[chosen], terrain[chosen]

    month = np.arange(n_months)
    season = -np.cos(2.0 * np.pi * (month % 12 + 0.5) / 12.0)  # -1 in January, +1 in July
    lapse = LAPSE_RATE - 1.0 * season  # K/km, per month
    climate = 18.0 + 10.0 * season + 0.02 * month / 12.0  # sea-level tmax, degC
    vectors, phases, amplitude = _fourier_field(weather_rng, 40, (300.0, 1500.0), 0.0)
    basis = np.sqrt(2.0) * np.cos(_km(lat, lon) @ vectors.T + phases) * amplitude  # (N, K)
    shocks = weather_rng.normal(0.0, 1.0, (n_months, vectors.shape[0]))
    rho = 0.6
    coefficients = np.empty_like(shocks)
    coefficients[0] = shocks[0]
    for step in range(1, n_months):  # AR(1) in time: one vectorised update per month
        coefficients[step] = rho * coefficients[step - 1] + np.sqrt(1 - rho**2) * shocks[step]
    anomaly = 1.5 * coefficients @ basis.T  # (T, N)
    offset = weather_rng.normal(0.0, _OFFSET_K, n_stations)
    noise = weather_rng.normal(0.0, 0.3, (n_months, n_stations))
    tmax = (
        climate[:, None]
        + lapse[:, None] * elev[None, :] / 1000.0
        - 0.6 * (lat[None, :] - 0.5 * (south + north))
        + anomaly
        + offset[None, :]
        + noise
    ).T  # (station, time)
    tmax = np.where(mask_rng.random(tmax.shape) < missing, np.nan, tmax)
    return xr.Dataset(
        {
            "tmax": (
                ("station", "time"),
                tmax.astype(np.float32),
                {
                    "units": "degC",
                    "standard_name": "air_temperature",
                    "long_name": "monthly mean of daily maximum near-surface air temperature",
                    "cell_methods": "time: maximum within days time: mean over days",
                },
            )
        },
        coords={
            "station": [f"ST{i:04d}" for i in range(n_stations)],
            "time": pd.date_range("1940-01-01", periods=n_months, freq="MS"),
            "lat": ("station", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("station", lon, {"units": "degrees_east", "standard_name": "longitude"}),
            "elev": (
                "station",
                elev,
                {"units": "m", "standard_name": "surface_altitude", "long_name": "elevation"},
            ),
        },
        attrs={
            "title": "synthetic mountain station network",
            "source": f"vamoh_climate.synthetic.station_network(seed={seed})",
        },
    )
