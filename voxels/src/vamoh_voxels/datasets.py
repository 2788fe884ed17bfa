"""Honest train/test splits of real voxel collections, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from vamoh_voxels.numpy_files import OccupancyArrayReader

__all__ = ["load_modelnet_split"]


def load_modelnet_split(path: str | Path, *, n_train: int = 800) -> tuple[xr.Dataset, xr.Dataset]:
    """The ModelNet10 32^3 arrays split by position: the first ``n_train`` real shapes train,
    the rest test.

    All-zero placeholder rows (row 0 of the ModelNet files) are dropped before splitting, so
    ``n_train=800`` on ``modelnet10_chair_32.npy.gz`` gives 800 training and 89 test chairs.
    Shapes keep their file row in the ``row`` coordinate.

    Example:
        >>> import numpy as np, tempfile, os
        >>> grids = np.ones((5, 1, 4, 4, 4)); grids[0] = 0
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.npy")
        >>> np.save(path, grids)
        >>> train, test = load_modelnet_split(path, n_train=3)
        >>> train.row.values.tolist(), test.row.values.tolist()
        ([1, 2, 3], [4])
    """
    dataset = OccupancyArrayReader().open(path, empty="drop")
    n_shapes = dataset.sizes["shape"]
    if not 0 < n_train < n_shapes:
        raise ValueError(
            f"{path}: n_train must leave shapes on both sides of the split; the file has "
            f"{n_shapes} non-empty shapes, got n_train={n_train}."
        )
    return dataset.isel(shape=slice(0, n_train)), dataset.isel(shape=slice(n_train, None))
