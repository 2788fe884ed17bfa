"""Small synthetic sensor records: for tests, the conformance suite and the README."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["invalid_records", "synthetic_records"]


def synthetic_records(
    n_series: int = 4,
    n_times: int = 48,
    *,
    gap_fraction: float = 0.2,
    seed: int = 0,
) -> xr.Dataset:
    """Temperature and humidity from ``n_series`` sensors at irregular hourly stamps, with gaps.

    Each sensor sees a daily cycle with its own phase and offset plus noise; humidity falls as
    temperature rises. A fraction ``gap_fraction`` of the values is NaN.

    Example:
        >>> ds = synthetic_records(n_series=3, n_times=20)
        >>> ds["temperature"].dims, ds["temperature"].attrs["units"], ds.sizes["time"]
        (('sensor', 'time'), 'degC', 20)
    """
    rng = np.random.default_rng(seed)
    hours = np.sort(rng.choice(np.arange(n_times * 3), size=n_times, replace=False))
    time = np.datetime64("2021-06-01T00:00", "ns") + hours.astype("timedelta64[h]")
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_series, 1))
    offset = rng.normal(15.0, 2.0, size=(n_series, 1))
    daily = np.sin(2.0 * np.pi * hours[None, :] / 24.0 + phase)  # (S, N)
    temperature = offset + 5.0 * daily + rng.normal(0.0, 0.3, size=(n_series, n_times))
    humidity = 70.0 - 2.0 * (temperature - offset) + rng.normal(0.0, 1.0, size=temperature.shape)
    temperature[rng.random(temperature.shape) < gap_fraction] = np.nan
    humidity[rng.random(humidity.shape) < gap_fraction] = np.nan
    dims = ("sensor", "time")
    return xr.Dataset(
        {
            "temperature": (dims, temperature, {"units": "degC", "long_name": "air temperature"}),
            "humidity": (dims, humidity, {"units": "%", "long_name": "relative humidity"}),
        },
        coords={
            "sensor": [f"s{i}" for i in range(n_series)],
            "time": time,
            "mast_height": ("sensor", np.linspace(2.0, 10.0, n_series), {"units": "m"}),
        },
        attrs={"title": "synthetic sensor records"},
    )


def invalid_records() -> list[xr.Dataset | xr.DataArray | object]:
    """Inputs the sensors modality must reject, one per documented rule.

    Example:
        >>> len(invalid_records()) >= 5
        True
    """
    good = synthetic_records(n_series=2, n_times=6)
    temperature = good["temperature"]
    nat_times = good["time"].values.copy()
    nat_times[2] = np.datetime64("NaT")
    repeated = good["time"].values.copy()
    repeated[3] = repeated[2]
    return [
        np.zeros((2, 6)),  # not xarray
        temperature.rename(time="obs").drop_vars("obs"),  # no time dimension
        temperature.expand_dims(level=[1, 2]),  # a third dim
        temperature.assign_coords(time=nat_times),  # missing time stamps
        temperature.assign_coords(time=repeated),  # repeated time stamps
        temperature.isel(time=[0]),  # one stamp: no time span
        temperature.astype(str),  # not numbers
        temperature.assign_coords(time=temperature["time"].values.astype(str)),  # text times
    ]
