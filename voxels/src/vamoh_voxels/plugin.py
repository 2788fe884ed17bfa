"""Entry point of the vamoh_voxels plugin: its hook implementations.

Example:
    >>> import vamoh
    >>> "voxels" in vamoh.plugins.modalities(), "binvox" in vamoh.plugins.readers()
    (True, True)
"""

from __future__ import annotations

import vamoh.plugins
from vamoh.modality import Modality, Reader
from vamoh_voxels.binvox import BinvoxReader
from vamoh_voxels.meshes import MeshReader
from vamoh_voxels.modality import VoxelModality
from vamoh_voxels.numpy_files import OccupancyArrayReader
from vamoh_voxels.shapenet import ShapeNetReader

__all__ = ["vamoh_modalities", "vamoh_readers"]


@vamoh.plugins.hookimpl
def vamoh_modalities() -> list[Modality]:
    """The ``voxels`` modality."""
    return [VoxelModality()]


@vamoh.plugins.hookimpl
def vamoh_readers() -> list[Reader]:
    """Readers for binvox files, ShapeNet folders, occupancy arrays and meshes."""
    return [BinvoxReader(), ShapeNetReader(), OccupancyArrayReader(), MeshReader()]
