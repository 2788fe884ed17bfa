"""Reading the user's xarray object as sensor records: which dim is time, which are the series.

Every rule a record must follow is checked here, before any training starts, and each failure
raises :class:`~vamoh_sensors.errors.SensorDataError` naming the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from vamoh_sensors.errors import SensorDataError
from vamoh_sensors.timespan import time_kind

__all__ = ["SensorRecords", "looks_spatial", "parse_records"]

# Names recognised as the time dimension when its coordinate is numeric rather than datetime64.
TIME_NAMES = ("time", "t", "date", "datetime", "timestamp")
# Dims that mean the data is a spatial field, which other modalities model better.
SPATIAL_NAMES = frozenset({"lat", "latitude", "lon", "longitude", "x", "y", "z"})


@dataclass(frozen=True)
class SensorRecords:
    """A validated view of sensor data.

    Attributes:
        dataset: the data as a Dataset (a DataArray becomes its only variable).
        variables: the numeric variables along time, one per channel.
        time_dim: the time dimension.
        sample_dim: the series dimension, or ``None`` for a single record.
        from_dataarray: whether the user passed a DataArray.

    Example:
        >>> import numpy as np, xarray as xr
        >>> da = xr.DataArray(np.zeros((2, 3)), dims=("sensor", "time"),
        ...                   coords={"time": [0.0, 1.0, 5.0]}, name="temp")
        >>> records = parse_records(da)
        >>> records.time_dim, records.sample_dim, records.variables
        ('time', 'sensor', ('temp',))
    """

    dataset: xr.Dataset
    variables: tuple[str, ...]
    time_dim: str
    sample_dim: str | None
    from_dataarray: bool

    @property
    def times(self) -> np.ndarray:
        return np.asarray(self.dataset[self.time_dim].values)

    @property
    def n_samples(self) -> int:
        return 1 if self.sample_dim is None else int(self.dataset.sizes[self.sample_dim])


def _as_dataset(data: Any) -> tuple[xr.Dataset, bool]:
    if isinstance(data, xr.DataArray):
        name = data.name if data.name is not None else "value"
        return data.to_dataset(name=name), True
    if isinstance(data, xr.Dataset):
        return data, False
    raise SensorDataError(
        f"sensor data must be an xarray Dataset or DataArray; got {type(data).__name__}. Wrap "
        f"arrays as xr.DataArray(values, dims=('series', 'time'), coords={{'time': times}}), or "
        f"read a CSV file with vamoh.open_dataset('records.csv')."
    )


def _is_time_dim(ds: xr.Dataset, dim: str) -> bool:
    if dim not in ds.coords:
        return dim.lower() in TIME_NAMES
    coord = ds.coords[dim]
    if coord.dtype.kind in "Mm":
        return True
    is_cf_time = coord.attrs.get("axis") == "T" or coord.attrs.get("standard_name") == "time"
    return is_cf_time or dim.lower() in TIME_NAMES


def _is_numeric(da: xr.DataArray) -> bool:
    return da.dtype.kind in "biuf"


def _sample_dim_argument(sample_dim: str | Sequence[str] | None) -> str | None:
    if sample_dim is None or isinstance(sample_dim, str):
        return sample_dim
    dims = list(sample_dim)
    if len(dims) == 1:
        return dims[0]
    raise SensorDataError(
        f"the sensors modality takes one series dimension; got sample_dim={dims}. Stack them "
        f"into one first: data.stack(series={dims})."
    )


def _find_time_dim(ds: xr.Dataset, names: Sequence[str], sample_dim: str | None) -> str:
    dims = {d for name in names for d in ds[name].dims} - {sample_dim}
    candidates = sorted(d for d in dims if _is_time_dim(ds, d))
    if not candidates:
        raise SensorDataError(
            f"no time dimension among the data's dims {sorted(dims)}: sensor records need a "
            f"dimension called 'time' or one with a datetime64 coordinate. Rename yours, e.g. "
            f"data.rename({{'{sorted(dims)[0] if dims else 'obs'}': 'time'}})."
        )
    if len(candidates) > 1:
        if "time" in candidates:
            return "time"
        raise SensorDataError(
            f"several dims look like time: {candidates}. Rename the one that is to 'time'."
        )
    return candidates[0]


def _select_variables(ds: xr.Dataset, variables: Sequence[str] | None) -> list[str]:
    if variables is None:
        return list(ds.data_vars)
    names = [variables] if isinstance(variables, str) else list(variables)
    missing = [v for v in names if v not in ds.data_vars]
    if missing:
        raise SensorDataError(
            f"variables {missing} are not in the data; it has {sorted(map(str, ds.data_vars))}."
        )
    if not names:
        raise SensorDataError("variables=[] selects nothing; name at least one variable.")
    return names


def parse_records(
    data: Any,
    *,
    variables: Sequence[str] | None = None,
    sample_dim: str | Sequence[str] | None = None,
) -> SensorRecords:
    """Validate ``data`` as sensor records; nothing is loaded, dask stays lazy.

    Args:
        data: Dataset or DataArray with dims ``(time)`` or ``(series, time)`` in any order.
        variables: the variables to model (default: every numeric variable along time).
        sample_dim: the series dimension (default: the one dim besides time, if any).

    Raises:
        SensorDataError: for anything that is not a set of numeric records along one time axis
            with unique, non-missing time stamps.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"level": (("t", "well"), np.zeros((3, 2)))}, coords={"t": [0, 5, 9]})
        >>> records = parse_records(ds)
        >>> records.time_dim, records.sample_dim, records.n_samples
        ('t', 'well', 2)
    """
    ds, from_dataarray = _as_dataset(data)
    sample = _sample_dim_argument(sample_dim)
    if sample is not None and sample not in ds.dims:
        raise SensorDataError(
            f"sample_dim={sample!r} is not a dimension of the data; its dims are "
            f"{sorted(map(str, ds.dims))}."
        )
    explicit = variables is not None
    names = _select_variables(ds, variables)
    if not names:
        raise SensorDataError("the dataset has no data variables; there is nothing to model.")
    time_dim = _find_time_dim(ds, names, sample)
    if explicit:
        for name in names:
            if time_dim not in ds[name].dims or not _is_numeric(ds[name]):
                raise SensorDataError(
                    f"variable {name!r} (dims {ds[name].dims}, dtype {ds[name].dtype}) is not a "
                    f"numeric record along {time_dim!r}; choose numeric variables along time."
                )
    else:
        names = [n for n in names if time_dim in ds[n].dims and _is_numeric(ds[n])]
        if not names:
            raise SensorDataError(
                f"no numeric variable runs along {time_dim!r}; sensor values must be numbers."
            )

    other_dims = sorted({d for n in names for d in ds[n].dims} - {time_dim})
    if sample is None and len(other_dims) > 1:
        raise SensorDataError(
            f"sensor records have dims (series, time) but the data also has {other_dims}. Select "
            f"one series dimension (data.isel({other_dims[-1]}=0)) or stack them: "
            f"data.stack(series={other_dims})."
        )
    if sample is not None and set(other_dims) - {sample}:
        raise SensorDataError(
            f"besides time ({time_dim!r}) and series ({sample!r}) the data has dims "
            f"{sorted(set(other_dims) - {sample})}; select or stack them away first."
        )
    if sample is None and other_dims:
        sample = other_dims[0]
    if sample is not None:
        lacking = [n for n in names if sample not in ds[n].dims]
        if lacking:
            raise SensorDataError(
                f"variables {lacking} lack the series dimension {sample!r} the others have; "
                f"broadcast them (data[{lacking[0]!r}].broadcast_like(data)) or model them apart."
            )

    if time_dim not in ds.coords:
        raise SensorDataError(
            f"dimension {time_dim!r} has no coordinate, so the time stamps are unknown; assign "
            f"them with data.assign_coords({time_dim}=times)."
        )
    times = np.asarray(ds[time_dim].values)
    kind = time_kind(times)
    if times.size == 0:
        raise SensorDataError(f"the time dimension {time_dim!r} is empty; pass a record.")
    missing = np.isnat(times) if kind != "numeric" else ~np.isfinite(times.astype(np.float64))
    if missing.any():
        raise SensorDataError(
            f"{int(missing.sum())} time stamps of {time_dim!r} are missing (NaT/NaN); drop them: "
            f"data.isel({time_dim}=data[{time_dim!r}].notnull().values)."
        )
    if np.unique(times).size != times.size:
        raise SensorDataError(
            f"the time coordinate {time_dim!r} has repeated time stamps; combine them first, "
            f"e.g. data.groupby({time_dim!r}).mean()."
        )
    return SensorRecords(
        dataset=ds,
        variables=tuple(names),
        time_dim=time_dim,
        sample_dim=sample,
        from_dataarray=from_dataarray,
    )


def looks_spatial(records: SensorRecords) -> bool:
    """Whether the series carry spatial dims or lat/lon coordinates (stations on a map).

    Example:
        >>> import numpy as np, xarray as xr
        >>> da = xr.DataArray(np.zeros((2, 3)), dims=("station", "time"), name="t",
        ...     coords={"time": [0.0, 1.0, 2.0], "lat": ("station", [50.0, 51.0])})
        >>> looks_spatial(parse_records(da))
        True
    """
    ds = records.dataset
    names = {str(n).lower() for n in ds.coords} | {str(d).lower() for d in ds.dims}
    return bool(names & SPATIAL_NAMES)
