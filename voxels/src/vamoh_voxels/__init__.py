"""vamoh_voxels: the first-party vamoh plugin for 3-D occupancy grids.

It brings the ``voxels`` modality (occupancy over ``(shape, x, y, z)``, Bernoulli likelihood,
voxel centres in [-1, 1]^3), readers for ``.binvox`` files, ShapeNet folders, ``.npy``/``.npy.gz``
arrays and OBJ/PLY/STL/OFF meshes, and the tools around them: :mod:`vamoh_voxels.mesh`
(marching cubes to OBJ/PLY/GLB), :mod:`vamoh_voxels.render` (matplotlib pictures) and
:mod:`vamoh_voxels.metrics` (IoU, Chamfer distance, PSNR).

Example:
    >>> import numpy as np, vamoh_voxels
    >>> ds = vamoh_voxels.occupancy_dataset(np.ones((1, 3, 3, 3)))
    >>> vamoh_voxels.VoxelModality().can_handle(ds)
    1.0
"""

from __future__ import annotations

from vamoh_voxels.arrays import check_occupancy, occupancy_dataset
from vamoh_voxels.binvox import BinvoxReader, read_binvox, write_binvox
from vamoh_voxels.datasets import load_modelnet_split
from vamoh_voxels.errors import (
    BinvoxFormatError,
    EmptyShapeError,
    MeshFormatError,
    MissingVoxelFileError,
    OccupancyArrayError,
    VoxelError,
)
from vamoh_voxels.grid import refine_axis, voxel_axis
from vamoh_voxels.meshes import MeshReader, voxelize_mesh
from vamoh_voxels.modality import VoxelModality
from vamoh_voxels.numpy_files import OccupancyArrayReader
from vamoh_voxels.shapenet import ShapeNetReader

__all__ = [
    "BinvoxFormatError",
    "BinvoxReader",
    "EmptyShapeError",
    "MeshFormatError",
    "MeshReader",
    "MissingVoxelFileError",
    "OccupancyArrayError",
    "OccupancyArrayReader",
    "ShapeNetReader",
    "VoxelError",
    "VoxelModality",
    "check_occupancy",
    "load_modelnet_split",
    "occupancy_dataset",
    "read_binvox",
    "refine_axis",
    "voxel_axis",
    "voxelize_mesh",
    "write_binvox",
]
