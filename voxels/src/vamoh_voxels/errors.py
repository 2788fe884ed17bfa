"""The errors bad voxel input raises: each a ``ValueError`` whose message names the file and the fix."""

from __future__ import annotations

__all__ = [
    "BinvoxFormatError",
    "EmptyShapeError",
    "MeshFormatError",
    "OccupancyArrayError",
    "VoxelError",
]


class VoxelError(ValueError):
    """Base class of every voxel input error.

    Example:
        >>> issubclass(BinvoxFormatError, ValueError)
        True
    """


class BinvoxFormatError(VoxelError):
    """A ``.binvox`` file is unreadable, truncated or has an inconsistent header.

    Example:
        >>> str(BinvoxFormatError("chair.binvox: truncated"))
        'chair.binvox: truncated'
    """


class OccupancyArrayError(VoxelError):
    """An occupancy array is not binary or not shaped ``(N, D, H, W)``.

    Example:
        >>> isinstance(OccupancyArrayError("bad"), VoxelError)
        True
    """


class EmptyShapeError(VoxelError):
    """A shape has no occupied voxel at all (an all-zero grid).

    Example:
        >>> isinstance(EmptyShapeError("empty"), VoxelError)
        True
    """


class MeshFormatError(VoxelError):
    """A mesh file has an unknown format, or holds no triangles to voxelise.

    Example:
        >>> isinstance(MeshFormatError("cube.xyz"), VoxelError)
        True
    """
