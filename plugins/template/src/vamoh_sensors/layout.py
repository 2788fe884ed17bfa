"""What ``from_points`` needs to rebuild the user's xarray object from a point set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import xarray as xr

from vamoh_sensors.timespan import TimeSpan

__all__ = ["SensorLayout"]


@dataclass(frozen=True)
class SensorLayout:
    """The shape of a sensor dataset, kept in ``PointSet.layout``.

    Attributes:
        time_dim: name of the time dimension.
        sample_dim: name of the series dimension, or ``None`` for a single record.
        n_samples: length of ``sample_dim`` (1 without one).
        variables: data variable names, one per channel, in channel order.
        dims: each variable's dims, in the user's order.
        attrs: each variable's attrs (units included).
        dataset_attrs: the dataset's attrs.
        coords: a data-less dataset holding every coordinate along time, the series dim, or none.
        from_dataarray: the input was a DataArray (its name is ``variables[0]``).
        span: the time span that mapped the time stamps to model coordinates.

    Example:
        >>> import numpy as np, xarray as xr
        >>> layout = SensorLayout(
        ...     time_dim="time", sample_dim=None, n_samples=1, variables=("temp",),
        ...     dims={"temp": ("time",)}, attrs={"temp": {"units": "degC"}}, dataset_attrs={},
        ...     coords=xr.Dataset(coords={"time": np.arange(3.0)}), from_dataarray=True,
        ...     span=TimeSpan(start=0.0, stop=2.0, kind="numeric"))
        >>> layout.base_variable("temp_std")
        'temp'
    """

    time_dim: str
    sample_dim: str | None
    n_samples: int
    variables: tuple[str, ...]
    dims: dict[str, tuple[str, ...]]
    attrs: dict[str, dict[str, Any]]
    dataset_attrs: dict[str, Any]
    coords: xr.Dataset
    from_dataarray: bool
    span: TimeSpan

    def base_variable(self, channel: str) -> str | None:
        """The input variable a channel belongs to: itself, or the longest ``<var>_`` prefix."""
        if channel in self.variables:
            return channel
        prefixed = [v for v in self.variables if channel.startswith(f"{v}_")]
        return max(prefixed, key=len) if prefixed else None
