"""Which variables become channels and which dims are samples, checked before any training.

A DataArray is a one-variable Dataset (its name is the variable). By default every numeric data
variable that spans the spatial dims is a channel, and every other dim is a sample dim (several
are stacked: ``(time, member)`` gives ``time * member`` samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from vamoh_climate.errors import (
    ClimateDataError,
    SampleDimError,
    UnnamedDataError,
    VariableError,
)
from vamoh_climate.units import dequantify

__all__ = ["Selection", "as_dataset", "select"]


def as_dataset(data: Any) -> xr.Dataset:
    """``data`` as a Dataset (never a copy of the values), pint quantities turned into attrs.

    Raises:
        UnnamedDataError: a DataArray without a name.
        ClimateDataError: anything that is not xarray (e.g. the images or voxels given to a
            climate model).

    Example:
        >>> import xarray as xr
        >>> list(as_dataset(xr.DataArray([1.0], dims="x", name="t2m")).data_vars)
        ['t2m']
    """
    if isinstance(data, xr.DataArray):
        if data.name is None:
            raise UnnamedDataError(
                "this DataArray has no name, and the name becomes the variable (channel) name; "
                "give it one with da.rename('t2m') or pass a Dataset."
            )
        data = data.to_dataset(name=str(data.name), promote_attrs=False)
    if not isinstance(data, xr.Dataset):
        raise ClimateDataError(
            f"climate data must be an xarray Dataset or DataArray; got {type(data).__name__}. "
            f"Open files with vamoh.open_dataset(path) or xarray.open_dataset; a model trained "
            f"on climate data takes lat/lon fields only (is it the right model for this data?)."
        )
    return dequantify(data)


@dataclass(frozen=True)
class Selection:
    """The variables (channels) and sample dims of a dataset, in order.

    Example:
        >>> Selection(variables=("t2m",), sample_dims=("time", "member")).sample_dims
        ('time', 'member')
    """

    variables: tuple[str, ...]
    sample_dims: tuple[str, ...]


def _default_variables(ds: xr.Dataset, spatial: tuple[str, ...]) -> list[str]:
    # bounds variables (lat_bnds, time_bnds) span a vertex dim, not a field: skip them
    bounds = {str(v.attrs.get("bounds")) for v in ds.variables.values() if "bounds" in v.attrs}
    return [
        str(name)
        for name, var in ds.data_vars.items()
        if set(spatial) <= set(var.dims) and var.dtype.kind in "fiub" and str(name) not in bounds
    ]


def select(
    ds: xr.Dataset,
    spatial: tuple[str, ...],
    variables: str | Sequence[str] | None = None,
    sample_dim: str | Sequence[str] | None = None,
) -> Selection:
    """Check and resolve ``variables`` and ``sample_dim`` against ``ds``.

    Raises:
        VariableError: unknown variables, variables without the spatial dims, none at all, or
            variables that do not share their dims.
        SampleDimError: a ``sample_dim`` that is not a dim of the variables, is spatial, or
            leaves other dims unaccounted for.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"t": (("time", "lat", "lon"), np.zeros((2, 3, 4)))})
        >>> select(ds, ("lat", "lon"))
        Selection(variables=('t',), sample_dims=('time',))
    """
    if variables is None:
        names = _default_variables(ds, spatial)
        if not names:
            raise VariableError(
                f"no numeric data variable spans the spatial dims {spatial}; data variables: "
                f"{ {str(k): v.dims for k, v in ds.data_vars.items()} }. Pass variables=[...]."
            )
    else:
        names = [variables] if isinstance(variables, str) else [str(v) for v in variables]
        missing = [n for n in names if n not in ds.data_vars]
        if missing:
            raise VariableError(
                f"variables {missing} not found; data variables are "
                f"{sorted(map(str, ds.data_vars))}. Pass existing names in variables=[...]."
            )
        if not names:
            raise VariableError("variables=[] selects nothing; name at least one variable.")
        for n in names:
            if not set(spatial) <= set(ds[n].dims):
                raise VariableError(
                    f"variable {n!r} has dims {ds[n].dims}, which lack the spatial dims "
                    f"{spatial}; choose variables defined on the grid or stations."
                )
            if ds[n].dtype.kind not in "fiub":
                raise VariableError(
                    f"variable {n!r} has dtype {ds[n].dtype}, not numbers; leave it out of "
                    f"variables=[...]."
                )
    dim_sets = {n: set(ds[n].dims) for n in names}
    first = names[0]
    differing = [n for n in names if dim_sets[n] != dim_sets[first]]
    if differing:
        raise VariableError(
            f"variables {[first, *differing]} do not share their dims "
            f"({ {n: ds[n].dims for n in [first, *differing]} }); channels need the same dims. "
            f"Pass variables=[...] with matching dims, or select with .isel/.sel first."
        )
    other = [str(d) for d in ds[first].dims if d not in spatial]
    if sample_dim is None:
        return Selection(tuple(names), tuple(other))
    wanted = [sample_dim] if isinstance(sample_dim, str) else [str(d) for d in sample_dim]
    for d in wanted:
        if d in spatial:
            raise SampleDimError(
                f"sample_dim {d!r} is a spatial dim; samples must be another dim such as "
                f"'time' (the variables' dims: {ds[first].dims})."
            )
        if d not in other:
            raise SampleDimError(
                f"sample_dim {d!r} is not a dimension of {list(names)}; their dims are "
                f"{ds[first].dims}. Use one of {other or 'none (leave sample_dim=None)'}."
            )
    leftover = [d for d in other if d not in wanted]
    if leftover:
        raise SampleDimError(
            f"dims {leftover} are neither spatial nor in sample_dim={wanted}; pick one value "
            f"with .isel({leftover[0]}=0), or add them to sample_dim=[...] to stack them."
        )
    return Selection(tuple(names), tuple(wanted))
