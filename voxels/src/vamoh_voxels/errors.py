"""The errors bad voxel input raises: each a ``ValueError`` whose message names the file and the fix."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

__all__ = [
    "BinvoxFormatError",
    "EmptyShapeError",
    "MeshFormatError",
    "MissingVoxelFileError",
    "OccupancyArrayError",
    "VoxelError",
    "existing_path",
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


class MissingVoxelFileError(FileNotFoundError, VoxelError):
    """A path given to a voxel reader does not exist.

    Both a ``FileNotFoundError`` and a :class:`VoxelError` (hence a ``ValueError``); its
    ``filename`` is the path.

    Example:
        >>> error = MissingVoxelFileError(2, "no such binvox file", "chair.binvox")
        >>> isinstance(error, FileNotFoundError), isinstance(error, ValueError), error.filename
        (True, True, 'chair.binvox')
    """


def existing_path(path: Any, what: str = "voxel file") -> Path:
    """``path`` as a ``Path`` when it exists, else a :class:`MissingVoxelFileError` naming it.

    Example:
        >>> existing_path("/no/such/chair.binvox", "binvox file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        vamoh_voxels.errors.MissingVoxelFileError: [Errno 2] no such binvox file ...
    """
    candidate = Path(path)
    if not candidate.exists():
        raise MissingVoxelFileError(
            errno.ENOENT,
            f"no such {what} (check the spelling; relative paths start at {Path.cwd()})",
            str(candidate),
        )
    return candidate
