"""Which variables become channels and which dims are samples, checked before any training.

A DataArray is a one-variable Dataset (its name is the variable). By default every numeric data
variable that spans the spatial dims is a channel, and every other dim is a sample dim (several
are stacked: ``(time, member)`` gives ``time * member`` samples).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from vamoh.validation import check_not_empty
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
    other_grids: Collection[str] = (),
) -> Selection:
    """Check and resolve ``variables`` and ``sample_dim`` against ``ds``.

    ``other_grids`` are the dims of latitude/longitude coordinates other than the chosen ones
    (:func:`vamoh_climate.grid.other_grid_dims`): a data variable on them means the dataset
    mixes grids, which one model cannot take.

    Raises:
        VariableError: unknown variables, variables without the spatial dims, none at all,
            variables that do not share their dims, a dataset that mixes grids, or values still
            packed as stored (``scale_factor``/``_FillValue`` attributes: not decoded).
        SampleDimError: a ``sample_dim`` that is not a dim of the variables, is spatial, or
            leaves other dims unaccounted for; a sample dim of size 0 or with repeated labels.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset({"t": (("time", "lat", "lon"), np.zeros((2, 3, 4)))})
        >>> select(ds, ("lat", "lon"))
        Selection(variables=('t',), sample_dims=('time',))
    """
    if variables is None:
        names = _default_variables(ds, spatial)
        _refuse_mixed_grids(ds, spatial, names, other_grids)
        if not names:
            not_numbers = {
                str(k): str(v.dtype)
                for k, v in ds.data_vars.items()
                if set(spatial) <= set(v.dims) and v.dtype.kind not in "fiub"
            }
            if not_numbers:
                first = next(iter(not_numbers))
                raise VariableError(
                    f"variable {first!r} holds {not_numbers[first]} values, not numbers "
                    f"({len(not_numbers)} such variable{'s' if len(not_numbers) > 1 else ''} on "
                    f"the grid: {not_numbers}); convert them, e.g. "
                    f"ds[{first!r}] = ds[{first!r}].astype('float32'), or pass other "
                    f"variables=[...]."
                )
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
    for n in names:
        _refuse_packed(ds[n], n)
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
        return _checked_samples(ds, Selection(tuple(names), tuple(other)))
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
    return _checked_samples(ds, Selection(tuple(names), tuple(wanted)))


def _checked_samples(ds: xr.Dataset, selection: Selection) -> Selection:
    """Refuse sample dims of size 0 and sample labels that repeat (e.g. a time step twice)."""
    first = selection.variables[0]
    check_not_empty(
        {d: ds.sizes[d] for d in selection.sample_dims}, f"variable {first!r}", SampleDimError
    )
    for d in selection.sample_dims:
        if d not in ds.indexes:
            continue
        index = ds.indexes[d]
        if index.has_duplicates:
            repeated = index[index.duplicated()]
            raise SampleDimError(
                f"variable {first!r}: sample dim {d!r} repeats {len(repeated)} label"
                f"{'s' if len(repeated) > 1 else ''} (e.g. {repeated[0]}); each sample must "
                f"appear once. Keep the first of each with ds.drop_duplicates({d!r}), or average "
                f"them with ds.groupby({d!r}).mean()."
            )
    return selection


# attributes that xarray's CF decoding moves into .encoding: in .attrs, the values are still
# stored integers or carry fill values that would be modelled as data
_PACKING_ATTRS = ("scale_factor", "add_offset", "_FillValue", "missing_value")


def _refuse_packed(variable: xr.DataArray, name: str) -> None:
    packing = {k: variable.attrs[k] for k in _PACKING_ATTRS if k in variable.attrs}
    if packing:
        described = ", ".join(f"{k}={v!r}" for k, v in packing.items())
        raise VariableError(
            f"variable {name!r} still has its packing attributes ({described}): its "
            f"{variable.size} values are as stored ({variable.dtype}), not decoded, so scale "
            f"factors and fill values would be modelled as data. Decode them with "
            f"ds = xr.decode_cf(ds), or open the file without decode_cf=False / "
            f"mask_and_scale=False."
        )


def _refuse_mixed_grids(
    ds: xr.Dataset, spatial: tuple[str, ...], names: list[str], other_grids: Collection[str]
) -> None:
    if not other_grids:
        return
    bounds = {str(v.attrs.get("bounds")) for v in ds.variables.values() if "bounds" in v.attrs}
    elsewhere = [
        str(n)
        for n, var in ds.data_vars.items()
        if str(n) not in names
        and str(n) not in bounds
        and var.dtype.kind in "fiub"
        and set(map(str, var.dims)) & set(other_grids)
    ]
    if elsewhere:
        on = {n: tuple(map(str, ds[n].dims)) for n in elsewhere}
        raise VariableError(
            f"this dataset mixes grids: {names or 'no variable'} on {spatial} and {on} on "
            f"another latitude/longitude grid; one model takes one grid. Pass "
            f"variables={names or elsewhere[:1]} to choose, or regrid first, e.g. "
            f"ds[{elsewhere[0]!r}].interp(...) onto {spatial}."
        )
