"""Grids out of any voxel input (xarray or numpy), for the mesh, render and metric tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from vamoh_voxels.grid import SPATIAL_DIMS, voxel_axis

__all__ = ["VoxelGrids", "as_grids"]


@dataclass(frozen=True)
class VoxelGrids:
    """Occupancy grids in memory.

    Attributes:
        values: ``(S, X, Y, Z)`` float64 values (NaN where unobserved).
        axes: the x, y and z voxel-centre coordinates.
        labels: one label per grid (the sample coordinate, or its position).
        single: the input was one grid without a sample dim.
        up: the axis that points up in the shapes (``attrs["up_axis"]``, default ``"z"``).

    Example:
        >>> import numpy as np
        >>> as_grids(np.zeros((3, 3, 3))).single
        True
    """

    values: np.ndarray
    axes: tuple[np.ndarray, np.ndarray, np.ndarray]
    labels: list[str]
    single: bool
    up: str


def _pick_variable(dataset: xr.Dataset, variable: str | None) -> xr.DataArray:
    if variable is not None:
        if variable not in dataset.data_vars:
            raise ValueError(
                f"variable {variable!r} is not in the data; variables: {list(dataset.data_vars)}."
            )
        return dataset[variable]
    candidates = [
        str(n)
        for n, v in dataset.data_vars.items()
        if set(SPATIAL_DIMS) <= set(v.dims) and not str(n).endswith("_std")
    ]
    if "occupancy" in candidates:
        return dataset["occupancy"]
    if len(candidates) != 1:
        raise ValueError(
            f"cannot tell which variable holds occupancy among {candidates or 'none'}; pass "
            f"variable='name'."
        )
    return dataset[candidates[0]]


def as_grids(data: Any, variable: str | None = None) -> VoxelGrids:
    """Bring a Dataset, DataArray or numpy array of voxel grids into ``(S, X, Y, Z)`` form.

    numpy input is ``(X, Y, Z)`` or ``(S, X, Y, Z)`` on the default voxel axes. xarray input
    has dims ``x``, ``y``, ``z`` and at most one more (the sample dim).

    Example:
        >>> import numpy as np
        >>> grids = as_grids(np.zeros((2, 3, 3, 3)))
        >>> grids.values.shape, grids.labels, grids.single
        ((2, 3, 3, 3), ['0', '1'], False)
    """
    up = "z"
    if isinstance(data, xr.Dataset):
        up = str(data.attrs.get("up_axis", up))
        data = _pick_variable(data, variable)
    if isinstance(data, xr.DataArray):
        up = str(data.attrs.get("up_axis", up))
        missing = [d for d in SPATIAL_DIMS if d not in data.dims]
        extra = [d for d in data.dims if d not in SPATIAL_DIMS]
        if missing or len(extra) > 1:
            raise ValueError(
                f"voxel grids need dims x, y, z and at most one sample dim; got {data.dims}."
            )
        ordered = data.transpose(*extra, *SPATIAL_DIMS)
        values = np.asarray(ordered.values, dtype=np.float64)
        axes = tuple(
            np.asarray(data[d].values, dtype=np.float64)
            if d in data.coords
            else voxel_axis(data.sizes[d]).astype(np.float64)
            for d in SPATIAL_DIMS
        )
        if extra:
            dim = extra[0]
            names = data[dim].values if dim in data.coords else range(values.shape[0])
            labels = [str(v) for v in names]
            return VoxelGrids(values, axes, labels, False, up)  # type: ignore[arg-type]
        return VoxelGrids(values[None], axes, ["0"], True, up)  # type: ignore[arg-type]
    values = np.asarray(data, dtype=np.float64)
    if values.ndim not in (3, 4):
        raise ValueError(f"voxel grids are (X, Y, Z) or (S, X, Y, Z); got shape {values.shape}.")
    single = values.ndim == 3
    values = values[None] if single else values
    axes = tuple(voxel_axis(n).astype(np.float64) for n in values.shape[1:])
    return VoxelGrids(values, axes, [str(i) for i in range(values.shape[0])], single, "z")  # type: ignore[arg-type]
