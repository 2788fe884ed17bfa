"""The voxel grid convention: where voxel centres sit in model coordinates, and finer grids.

Voxel ``i`` of an axis with ``n`` voxels sits at the paper's grid coordinate
``2 * (i / (n - 1) - 0.5)``: the first and last voxel centres are at -1 and 1, so every grid,
whatever its resolution, spans the same cube ``[-1, 1]^3`` of model coordinates.

Refinement keeps every original voxel centre. A uniform grid over the same span that contains all
``n`` centres needs ``k * (n - 1) + 1`` points (``k - 1`` new points between each pair of
neighbours), so ``factor=2`` turns 32 voxels into 63, not 64: a 64-point grid holding the 32
centres would have to reach half a voxel beyond the last centre, outside the trained cube, on one
side only. ``to=m`` gives exactly ``m`` points over the same span; they contain the original
centres only when ``m - 1`` is a multiple of ``n - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vamoh.coordinates import grid_axis

__all__ = ["SPATIAL_DIMS", "downsample_occupancy", "refine_axis", "resample_axis", "voxel_axis"]

# The spatial dims of every voxel grid, in the order of the model's coordinate columns.
SPATIAL_DIMS: tuple[str, str, str] = ("x", "y", "z")


def voxel_axis(n: int) -> np.ndarray:
    """Model coordinates of ``n`` voxel centres along one axis, from -1 to 1 (float32).

    Example:
        >>> voxel_axis(5).tolist()
        [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    return grid_axis(n)


def refine_axis(axis: Sequence[float] | np.ndarray, factor: int) -> np.ndarray:
    """``factor - 1`` evenly spaced points inserted between each pair of neighbouring centres.

    Every original coordinate is kept bit for bit, so the finer grid contains the original points;
    ``n`` centres become ``factor * (n - 1) + 1``.

    Example:
        >>> refine_axis([-1.0, 0.0, 1.0], 2).tolist()
        [-1.0, -0.5, 0.0, 0.5, 1.0]
        >>> len(refine_axis(voxel_axis(32), 2))
        63
    """
    if int(factor) != factor or factor < 1:
        raise ValueError(f"refinement factor must be a positive integer; got {factor!r}.")
    factor = int(factor)
    original = np.asarray(axis)
    values = original.astype(np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(
            f"refinement needs an axis of at least 2 voxel centres; got shape {values.shape}."
        )
    fractions = np.arange(factor, dtype=np.float64) / factor  # (k,)
    steps = np.diff(values)  # (n - 1,)
    inserted = values[:-1, None] + steps[:, None] * fractions[None, :]  # (n - 1, k)
    refined = np.concatenate([inserted.ravel(), values[-1:]]).astype(original.dtype)
    # the fraction-0 points are the originals: copy them in so no rounding can move them
    refined[::factor] = original
    return refined


def resample_axis(axis: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    """``size`` evenly spaced centres over the span of ``axis`` (nested in it where possible).

    When ``size - 1`` is a multiple of ``len(axis) - 1`` this is :func:`refine_axis`, so the
    original centres are kept exactly.

    Example:
        >>> resample_axis([-1.0, 1.0], 3).tolist()
        [-1.0, 0.0, 1.0]
        >>> [round(float(v), 4) for v in resample_axis(voxel_axis(3), 4)]
        [-1.0, -0.3333, 0.3333, 1.0]
    """
    original = np.asarray(axis)
    if original.ndim != 1 or original.size < 2:
        raise ValueError(
            f"resampling needs an axis of at least 2 voxel centres; got shape {original.shape}."
        )
    if int(size) != size or size < 2:
        raise ValueError(f"a voxel axis needs at least 2 centres; got to={size!r}.")
    size = int(size)
    intervals = original.size - 1
    if (size - 1) % intervals == 0:
        return refine_axis(original, (size - 1) // intervals)
    first, last = float(original[0]), float(original[-1])
    return np.linspace(first, last, size).astype(original.dtype)


def downsample_occupancy(grids: np.ndarray, resolution: int) -> np.ndarray:
    """Coarsen ``(..., D, H, W)`` occupancy to ``resolution`` voxels per axis (a block is occupied
    when any voxel in it is), e.g. ShapeNetCore's 128^3 solids to 32^3.

    Example:
        >>> import numpy as np
        >>> g = np.zeros((4, 4, 4), bool); g[0, 0, 0] = True
        >>> downsample_occupancy(g, 2).astype(int)[..., 0].tolist()
        [[1, 0], [0, 0]]
    """
    grids = np.asarray(grids)
    spatial = grids.shape[-3:]
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2; got {resolution!r}.")
    resolution = int(resolution)
    if any(size % resolution for size in spatial):
        raise ValueError(
            f"cannot downsample a {spatial} grid to {resolution}^3: each axis must be a multiple "
            f"of the resolution (e.g. 128 -> 64, 32 or 16)."
        )
    lead = grids.shape[:-3]
    blocks = grids.reshape(
        *lead, *(x for size in spatial for x in (resolution, size // resolution))
    )  # (..., r, bD, r, bH, r, bW)
    axes = tuple(len(lead) + i for i in (1, 3, 5))
    return blocks.any(axis=axes)
