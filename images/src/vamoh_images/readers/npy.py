"""``.npy`` arrays of images, memory-mapped so a large stack is read only where it is used."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_images.arrays import check_pixel_dtype, from_array
from vamoh_images.errors import CorruptImageError, existing_path

__all__ = ["NumpyImageReader", "looks_like_images"]

_CHANNEL_COUNTS = (1, 3, 4)


def looks_like_images(shape: tuple[int, ...]) -> bool:
    """Whether an array shape plausibly holds images rather than, say, voxel grids.

    2-D arrays are one image; 3-D stacks qualify unless all three sides are equal (a voxel cube);
    4-D arrays need a channel axis of 1, 3 or 4 entries (last or second).

    Example:
        >>> looks_like_images((100, 28, 28)), looks_like_images((32, 32, 32))
        (True, False)
        >>> looks_like_images((10, 32, 32, 32)), looks_like_images((10, 3, 64, 64))
        (False, True)
    """
    if len(shape) == 2:
        return True
    if len(shape) == 3:
        return len(set(shape)) > 1
    if len(shape) == 4:
        return shape[-1] in _CHANNEL_COUNTS or shape[1] in _CHANNEL_COUNTS
    return False


def _peek_shape(path: Path) -> tuple[int, ...] | None:
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, _ = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, _ = np.lib.format.read_array_header_2_0(fh)
            return tuple(shape)
    except Exception:
        return None


class NumpyImageReader(Reader):
    """Opens ``.npy`` image stacks (shape rules as in :func:`vamoh_images.from_array`).

    Example:
        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "digits.npy"
        >>> np.save(path, np.zeros((10, 8, 8), np.uint8))
        >>> NumpyImageReader().guess_can_open(path)
        True
        >>> dict(NumpyImageReader().open(path)["pixels"].sizes)
        {'image': 10, 'y': 8, 'x': 8, 'channel': 1}
    """

    name: ClassVar[str] = "numpy_images"
    extensions: ClassVar[tuple[str, ...]] = (".npy",)
    description: ClassVar[str] = "a .npy array of images (N, H, W[, C]), memory-mapped"

    def guess_can_open(self, path: Any) -> bool:
        """``.npy`` files whose header shape looks like images (unreadable ones too, to report)."""
        if not super().guess_can_open(path):
            return False
        shape = _peek_shape(Path(path))
        return shape is None or looks_like_images(shape)

    def open(  # type: ignore[override]
        self,
        path: Any,
        *,
        dims: Sequence[str] | None = None,
        labels: Any = None,
        mmap: bool = True,
    ) -> xr.Dataset:
        """Read ``path`` as ``(image, y, x, channel)``; ``dims``/``labels`` as in ``from_array``."""
        p = existing_path(path, ".npy file")
        try:
            array = np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptImageError(
                f"cannot read numpy file {str(p)!r} ({exc}); it must be a .npy array saved with "
                f"numpy.save (no pickled objects)."
            ) from exc
        check_pixel_dtype(array.dtype, str(p))
        ds = from_array(array, dims=dims, labels=labels)
        ds.attrs["source"] = str(p)
        return ds
