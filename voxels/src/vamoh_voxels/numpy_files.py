"""Occupancy arrays stored as ``.npy`` or gzip-compressed ``.npy.gz`` files.

Arrays are ``(N, D, H, W)`` or ``(N, 1, D, H, W)`` (the ModelNet10 32^3 files) with values 0/1.
Shapes are labelled ``<file stem>/<row>`` and keep their row number in a ``row`` coordinate, so
splits by position stay reproducible after empty rows are dropped.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_voxels.arrays import EmptyPolicy, occupancy_dataset
from vamoh_voxels.errors import OccupancyArrayError, existing_path

__all__ = ["OccupancyArrayReader", "array_file_stem", "looks_like_voxels", "read_array_file"]

_SUFFIXES = (".npy.gz", ".npy")
# Channel counts of image arrays ((N, H, W, C) or (N, C, H, W)): 4-D arrays with such an axis
# are left to image readers, so the two never claim the same file.
_IMAGE_CHANNELS = (1, 3, 4)


def array_file_stem(path: str | Path) -> str:
    """The file name without ``.npy`` / ``.npy.gz``.

    Example:
        >>> array_file_stem("data/modelnet10_chair_32.npy.gz")
        'modelnet10_chair_32'
    """
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _header_shape(path: Path) -> tuple[int, ...] | None:
    try:
        with _open(path) as stream:
            major, _ = np.lib.format.read_magic(stream)
            read = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(stream)
    except (OSError, ValueError, EOFError, zlib.error):
        return None
    return tuple(shape) if dtype.kind in "biuf" else ()


def looks_like_voxels(shape: tuple[int, ...]) -> bool:
    """Whether an array shape holds voxel grids: ``(N, 1, D, H, W)``, or ``(N, D, H, W)``
    without an image channel axis (1, 3 or 4 entries) first or last.

    Example:
        >>> looks_like_voxels((890, 1, 32, 32, 32)), looks_like_voxels((10, 32, 32, 32))
        (True, True)
        >>> looks_like_voxels((10, 28, 28, 3)), looks_like_voxels((10, 28, 28))
        (False, False)
    """
    if len(shape) == 5:
        return shape[1] == 1
    if len(shape) == 4:
        return shape[1] not in _IMAGE_CHANNELS and shape[-1] not in _IMAGE_CHANNELS
    return False


def read_array_file(path: str | Path) -> np.ndarray:
    """Load a ``.npy`` / ``.npy.gz`` array; a corrupt or truncated file names itself.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npy")
        >>> np.save(path, np.ones((1, 2, 2, 2)))
        >>> read_array_file(path).shape
        (1, 2, 2, 2)
    """
    path = existing_path(path, "occupancy array file")
    try:
        with _open(path) as stream:
            return np.load(stream, allow_pickle=False)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise OccupancyArrayError(
            f"{path}: not a readable .npy array ({type(exc).__name__}: {exc}). The file may be "
            f"truncated; re-create it with numpy.save (and gzip for .npy.gz)."
        ) from exc


class OccupancyArrayReader(Reader):
    """Opens occupancy arrays in ``.npy`` / ``.npy.gz`` files as ``(shape, x, y, z)`` occupancy.

    It claims a file only when its header holds a numeric array that :func:`looks_like_voxels`
    (image stacks are left to image readers). ``open`` takes ``empty`` (``"error"``, ``"drop"``,
    ``"keep"``).

    Example:
        >>> import numpy as np, tempfile, os, vamoh
        >>> grids = np.zeros((3, 5, 5, 5)); grids[:, 1:4, 1:4, 1:4] = 1
        >>> path = os.path.join(tempfile.mkdtemp(), "cubes.npy")
        >>> np.save(path, grids)
        >>> ds = vamoh.open_dataset(path)
        >>> ds.shape.values.tolist(), ds.row.values.tolist()
        (['cubes/0', 'cubes/1', 'cubes/2'], [0, 1, 2])
    """

    name: ClassVar[str] = "occupancy-array"
    extensions: ClassVar[tuple[str, ...]] = _SUFFIXES
    description: ClassVar[str] = "(N, D, H, W) 0/1 occupancy arrays in .npy or .npy.gz files"

    def guess_can_open(self, path: Any) -> bool:
        if not super().guess_can_open(path):
            return False
        candidate = Path(str(path))
        if not candidate.is_file():
            # nothing to peek at: a missing .npy.gz is ours to report; a missing .npy is left to
            # the image reader, so exactly one reader names the missing file
            return candidate.name.lower().endswith(".npy.gz")
        shape = _header_shape(candidate)
        if shape is None:
            # an unreadable .npy.gz is ours to report; a bare .npy is left to the image reader
            return candidate.name.lower().endswith(".npy.gz")
        return looks_like_voxels(shape)

    def open(self, path: Any, *, empty: EmptyPolicy = "error", **kwargs: Any) -> xr.Dataset:
        if kwargs:
            raise TypeError(f"occupancy-array reader got unknown options {sorted(kwargs)}.")
        path = Path(path)
        array = read_array_file(path)
        stem = array_file_stem(path)
        n_shapes = array.shape[0] if array.ndim >= 4 else 1
        rows = np.arange(n_shapes)
        return occupancy_dataset(
            array,
            labels=[f"{stem}/{row}" for row in rows],
            source=str(path),
            empty=empty,
            shape_coords={"row": rows},
        )
