"""Quality of voxel predictions: IoU, Chamfer distance between surfaces, and the paper's PSNR.

Every metric scores each shape separately and returns one value per shape (a float for a
single grid). Voxels that are NaN in either input (unobserved) are left out of IoU and PSNR, so
scoring only the hidden half of an imputation is a matter of masking the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from vamoh_voxels.mesh import occupancy_mesh
from vamoh_voxels.selection import VoxelGrids, as_grids

__all__ = ["chamfer_distance", "chamfer_distance_points", "iou", "psnr"]


def _pair(target: Any, prediction: Any, variable: str | None) -> tuple[VoxelGrids, VoxelGrids]:
    truth, guess = as_grids(target, variable), as_grids(prediction, variable)
    if truth.values.shape != guess.values.shape:
        raise ValueError(
            f"target and prediction grids differ in shape: {truth.values.shape} vs "
            f"{guess.values.shape} (shapes, x, y, z). Score on the same grid (use "
            f"model.predict(data, at=target) for a prediction on the target's voxels)."
        )
    return truth, guess


def _result(values: np.ndarray, single: bool) -> Any:
    return float(values[0]) if single else values


def iou(
    target: Any, prediction: Any, *, threshold: float = 0.5, variable: str | None = None
) -> Any:
    """Intersection over union of the occupied voxels (``value > threshold``) per shape.

    Two empty shapes agree perfectly (IoU 1).

    Example:
        >>> import numpy as np
        >>> a = np.zeros((4, 4, 4)); a[:2] = 1          # 32 voxels
        >>> b = np.zeros((4, 4, 4)); b[1:3] = 1         # 32 voxels, 16 shared
        >>> iou(a, b)                                   # 16 / 48
        0.3333333333333333
    """
    truth, guess = _pair(target, prediction, variable)
    observed = ~(np.isnan(truth.values) | np.isnan(guess.values))
    inside_truth = (truth.values > threshold) & observed
    inside_guess = (guess.values > threshold) & observed
    spatial = (1, 2, 3)
    intersection = (inside_truth & inside_guess).sum(axis=spatial)
    union = (inside_truth | inside_guess).sum(axis=spatial)
    scores = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
    return _result(scores, truth.single)


def psnr(target: Any, prediction: Any, *, peak: float = 1.0, variable: str | None = None) -> Any:
    """Peak signal-to-noise ratio per shape, eq. (19)-(20) of the paper.

    ``RMSE = sqrt(mean_d (y_d - y~_d)^2)`` over the observed voxels and
    ``PSNR = 20 log10(peak / RMSE)``. The paper's ``peak`` is 255 for 8-bit images; occupancy
    lives in [0, 1], so the peak here is 1. A perfect prediction scores ``inf``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((2, 2, 2)); b = a.copy(); b[0, 0, 0] = 1    # MSE 1/8
        >>> round(psnr(a, b), 4)                                     # 20 log10(sqrt(8))
        9.0309
    """
    truth, guess = _pair(target, prediction, variable)
    squared = (truth.values - guess.values) ** 2
    mse = np.nanmean(squared.reshape(squared.shape[0], -1), axis=1)
    with np.errstate(divide="ignore"):
        scores = 20.0 * np.log10(peak / np.sqrt(mse))
    return _result(scores, truth.single)


def chamfer_distance_points(first: np.ndarray, second: np.ndarray) -> float:
    """Symmetric Chamfer-L1 distance between two point sets (Mescheder et al., 2019).

    ``0.5 * (mean_a min_b |a - b| + mean_b min_a |a - b|)`` with Euclidean distances.

    Example:
        >>> import numpy as np
        >>> a = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
        >>> b = np.array([[0.0, 0.0, 0.0]])
        >>> chamfer_distance_points(a, b)   # 0.5 * ((0 + 1) / 2 + 0)
        0.25
    """
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if len(first) == 0 or len(second) == 0:
        raise ValueError("Chamfer distance needs two non-empty point sets.")
    to_second, _ = cKDTree(second).query(first)
    to_first, _ = cKDTree(first).query(second)
    return float(0.5 * (to_second.mean() + to_first.mean()))


def chamfer_distance(
    target: Any,
    prediction: Any,
    *,
    n_points: int = 4096,
    level: float = 0.5,
    seed: int = 0,
    variable: str | None = None,
) -> Any:
    """Chamfer-L1 distance between the marching-cubes surfaces of target and prediction.

    ``n_points`` points are drawn uniformly by area from each surface (seeded, so repeated
    calls agree) and compared with :func:`chamfer_distance_points`; distances are in model
    coordinates, where the grid spans [-1, 1]. Two empty shapes score 0; one empty shape
    scores ``inf``.

    Example:
        >>> import numpy as np
        >>> g = np.zeros((8, 8, 8)); g[2:6, 2:6, 2:6] = 1
        >>> chamfer_distance(g, g) < 0.05
        True
    """
    truth, guess = _pair(target, prediction, variable)
    scores = np.empty(truth.values.shape[0])
    for index, (a, b) in enumerate(zip(truth.values, guess.values)):  # a surface per shape
        surfaces = []
        for grid, axes in ((a, truth.axes), (b, guess.axes)):
            filled = np.nan_to_num(grid, nan=0.0)
            if not (filled > level).any():
                surfaces.append(None)
                continue
            mesh = occupancy_mesh(filled, level=level, axes=axes)
            points, _ = trimesh.sample.sample_surface(mesh, n_points, seed=seed)
            surfaces.append(points)
        if surfaces[0] is None or surfaces[1] is None:
            scores[index] = 0.0 if surfaces[0] is None and surfaces[1] is None else np.inf
        else:
            scores[index] = chamfer_distance_points(surfaces[0], surfaces[1])
    return _result(scores, truth.single)
