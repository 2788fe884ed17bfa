"""In-memory occupancy arrays as the voxel xarray form: ``occupancy`` over ``(shape, x, y, z)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from vamoh_voxels.errors import EmptyShapeError, OccupancyArrayError
from vamoh_voxels.grid import SPATIAL_DIMS, voxel_axis

__all__ = ["EmptyPolicy", "check_occupancy", "occupancy_dataset"]

EmptyPolicy = Literal["error", "drop", "keep"]

OCCUPANCY_ATTRS: dict[str, str] = {
    "long_name": "voxel occupancy",
    "description": "1 where the voxel is inside the shape, 0 where it is empty",
}


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def check_occupancy(
    array: Any, *, source: str | None = None, empty: EmptyPolicy = "error"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate an occupancy array and bring it to ``(N, D, H, W)`` float32.

    Accepts ``(N, D, H, W)``, ``(N, 1, D, H, W)`` (a singleton channel axis, as in the ModelNet
    arrays) and a single grid ``(D, H, W)``. Values must be 0 or 1 (bool is fine).

    Args:
        array: the occupancy values.
        source: the file they came from, named in every error.
        empty: what to do with all-zero shapes: ``"error"`` (default), ``"drop"`` or ``"keep"``.

    Returns:
        The ``(N', D, H, W)`` float32 grids and the ``(N',)`` indices of the kept shapes.

    Example:
        >>> import numpy as np
        >>> grids, kept = check_occupancy(np.ones((2, 1, 3, 3, 3)))
        >>> grids.shape, kept.tolist()
        ((2, 3, 3, 3), [0, 1])
    """
    where = _where(source)
    values = np.asarray(array)
    if values.dtype.kind not in "biuf":
        raise OccupancyArrayError(
            f"{where}occupancy must be numeric (0/1 or bool); got dtype {values.dtype}."
        )
    if values.ndim == 5 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim == 3:
        values = values[None]
    if values.ndim != 4:
        raise OccupancyArrayError(
            f"{where}occupancy must be shaped (N, D, H, W), (N, 1, D, H, W) or (D, H, W); got "
            f"{values.shape}. Reshape it, e.g. array.reshape(-1, D, H, W)."
        )
    if min(values.shape[1:]) < 2 or values.shape[0] < 1:
        raise OccupancyArrayError(
            f"{where}occupancy grids need at least one shape and 2 voxels per axis; got shape "
            f"{values.shape}."
        )
    binary = (values == 0) | (values == 1)
    if not binary.all():
        bad = values[~binary]
        raise OccupancyArrayError(
            f"{where}occupancy must be binary (0 or 1); found {bad.size} other values such as "
            f"{bad.ravel()[0]!r}. Threshold soft occupancies first, e.g. (array > 0.5)."
        )
    occupied = values.reshape(values.shape[0], -1).any(axis=1)  # (N,)
    kept = np.arange(values.shape[0])
    if not occupied.all():
        if empty == "error":
            rows = np.flatnonzero(~occupied)
            raise EmptyShapeError(
                f"{where}{rows.size} shape(s) are empty (all zeros), e.g. shape {rows[0]}. "
                f"Pass empty='drop' to skip them or empty='keep' to keep them."
            )
        if empty == "drop":
            kept = kept[occupied]
            values = values[occupied]
            if values.shape[0] == 0:
                raise EmptyShapeError(f"{where}every shape is empty (all zeros); nothing to load.")
        elif empty != "keep":
            raise ValueError(f"empty must be 'error', 'drop' or 'keep'; got {empty!r}.")
    return values.astype(np.float32, copy=False), kept


def occupancy_dataset(
    array: Any,
    *,
    labels: Sequence[Any] | np.ndarray | None = None,
    variable: str = "occupancy",
    source: str | None = None,
    empty: EmptyPolicy = "error",
    shape_coords: dict[str, Sequence[Any] | np.ndarray] | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap a numpy occupancy array ``(N, D, H, W)`` as the voxel xarray form.

    The result has ``variable`` (float32, 0/1) over ``(shape, x, y, z)``, voxel-centre
    coordinates from -1 to 1 on ``x``, ``y``, ``z`` (see :mod:`vamoh_voxels.grid`) and ``labels``
    on ``shape`` (default: the row numbers).

    Args:
        array: ``(N, D, H, W)``, ``(N, 1, D, H, W)`` or ``(D, H, W)``, values 0/1.
        labels: one label per input shape (e.g. model ids or file names).
        variable: name of the occupancy variable.
        source: where the array came from; named in errors and kept in ``attrs["source"]``.
        empty: all-zero shapes are an error (default), dropped (``"drop"``) or kept (``"keep"``).
        shape_coords: more per-shape coordinates (e.g. ``{"synset": [...]}``), one entry per
            input shape.
        attrs: extra dataset attributes.

    Example:
        >>> import numpy as np
        >>> cube = np.zeros((1, 4, 4, 4)); cube[0, 1:3, 1:3, 1:3] = 1
        >>> ds = occupancy_dataset(cube, labels=["cube"])
        >>> dict(ds.sizes), ds.occupancy.dtype.name, ds.x.values.tolist()[0]
        ({'shape': 1, 'x': 4, 'y': 4, 'z': 4}, 'float32', -1.0)
    """
    grids, kept = check_occupancy(array, source=source, empty=empty)
    n_total = 1 if np.ndim(array) == 3 else int(np.shape(array)[0])
    for name, values in {"labels": labels, **(shape_coords or {})}.items():
        if values is not None and len(values) != n_total:
            raise OccupancyArrayError(
                f"{_where(source)}got {len(values)} {name} for {n_total} shapes; give one per shape."
            )
    label_values = np.arange(n_total)[kept] if labels is None else np.asarray(labels)[kept]
    coords: dict[str, Any] = {"shape": ("shape", label_values)}
    for name, values in (shape_coords or {}).items():
        coords[name] = ("shape", np.asarray(values)[kept])
    for dim, size in zip(SPATIAL_DIMS, grids.shape[1:]):
        coords[dim] = (dim, voxel_axis(size), {"long_name": f"{dim} voxel centre (model units)"})
    dataset_attrs: dict[str, Any] = {"up_axis": "z"}
    if source:
        dataset_attrs["source"] = source
    dataset_attrs.update(attrs or {})
    return xr.Dataset(
        {variable: (("shape", *SPATIAL_DIMS), grids, dict(OCCUPANCY_ATTRS))},
        coords=coords,
        attrs=dataset_attrs,
    )
