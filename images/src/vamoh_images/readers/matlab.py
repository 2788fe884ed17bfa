"""MATLAB ``.mat`` files (v4 to v7.2, via ``scipy.io.loadmat``), e.g. the Olivetti faces.

MATLAB stores arrays column-major and flattens an image with ``img(:)``, column after column.
``olivettifaces.mat`` holds ``faces`` of shape 4096 x 400: one flattened 64x64 face per column,
so image ``n`` is ``faces[:, n].reshape(64, 64).T``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_images.arrays import CHANNEL_DIM, IMAGE_DIM, X_DIM, Y_DIM, check_pixel_dtype, from_array
from vamoh_images.errors import (
    CorruptImageError,
    ImageDataError,
    ImageShapeError,
    existing_path,
)

__all__ = ["MatlabImageReader", "matlab_images"]

Layout = Literal["columns", "rows", "stack", "image"]


def _square_side(n: int) -> int | None:
    side = math.isqrt(n)
    return side if side * side == n and side > 1 else None


def _guess_layout(shape: tuple[int, ...]) -> Layout:
    if len(shape) == 2:
        if shape[0] == shape[1]:
            return "image"
        if _square_side(shape[0]) and shape[0] > shape[1]:
            return "columns"
        if _square_side(shape[1]) and shape[1] > shape[0]:
            return "rows"
        return "image"
    if len(shape) == 3:
        return "image" if shape[-1] in (1, 3, 4) else "stack"
    if len(shape) == 4:
        return "stack"
    raise ImageShapeError(f"a MATLAB array of shape {shape} is not an image or image stack.")


def matlab_images(
    array: np.ndarray,
    *,
    layout: Layout | None = None,
    image_shape: Sequence[int] | None = None,
) -> np.ndarray:
    """Rearrange a MATLAB image array into ``(N, H, W[, C])``.

    Args:
        array: as ``scipy.io.loadmat`` returns it.
        layout: ``"columns"`` (``(H*W, N)``: one ``img(:)`` per column), ``"rows"``
            (``(N, H*W)``: one ``img(:)'`` per row), ``"stack"`` (``(H, W, N)`` or
            ``(H, W, C, N)``) or ``"image"`` (one ``(H, W)`` or ``(H, W, C)`` image). Guessed
            when omitted: square 2-D arrays are one image; a 2-D array whose longer side is a
            perfect square holds flattened images along the other; 3-D arrays with 1, 3 or 4
            trailing entries are one image, other 3-D and 4-D arrays are stacks.
        image_shape: ``(H, W)`` of flattened images (default: square).

    Example:
        >>> import numpy as np
        >>> img = np.arange(6).reshape(2, 3)
        >>> flat = img.reshape(-1, 1, order="F")  # MATLAB's img(:)
        >>> matlab_images(flat, layout="columns", image_shape=(2, 3))[0].tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    array = np.asarray(array)
    layout = layout or _guess_layout(array.shape)
    if layout in ("columns", "rows"):
        if array.ndim != 2:
            raise ImageShapeError(f"layout={layout!r} needs a 2-D array; got {array.shape}.")
        flat = array.T if layout == "columns" else array  # (N, H*W)
        n_pixels = flat.shape[1]
        if image_shape is None:
            side = _square_side(n_pixels)
            if side is None:
                raise ImageShapeError(
                    f"{n_pixels} pixels per image is not a square; pass image_shape=(h, w)."
                )
            image_shape = (side, side)
        height, width = (int(v) for v in image_shape)
        if height * width != n_pixels:
            raise ImageShapeError(
                f"image_shape={tuple(image_shape)} has {height * width} pixels but each image "
                f"has {n_pixels}."
            )
        # column-major within each image: reshape to (N, W, H) and swap the pixel axes
        return flat.reshape(flat.shape[0], width, height).transpose(0, 2, 1)
    if layout == "stack":
        if array.ndim not in (3, 4):
            raise ImageShapeError(
                f"layout='stack' needs (H, W, N) or (H, W, C, N); got {array.shape}."
            )
        return np.moveaxis(array, -1, 0)
    if layout == "image":
        if array.ndim not in (2, 3):
            raise ImageShapeError(f"layout='image' needs (H, W) or (H, W, C); got {array.shape}.")
        return array[None]
    raise ValueError(f"layout must be 'columns', 'rows', 'stack' or 'image'; got {layout!r}.")


class MatlabImageReader(Reader):
    """Opens images from a ``.mat`` file (see :func:`matlab_images` for the layouts).

    Example:
        >>> import tempfile, numpy as np, scipy.io
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "faces.mat"
        >>> faces = np.arange(16 * 5, dtype=np.uint8).reshape(16, 5)  # five 4x4 faces, img(:)
        >>> scipy.io.savemat(path, {"faces": faces})
        >>> ds = MatlabImageReader().open(path)
        >>> dict(ds["pixels"].sizes), ds["pixels"][0, :, 0, 0].values.tolist()
        ({'image': 5, 'y': 4, 'x': 4, 'channel': 1}, [0, 5, 10, 15])
    """

    name: ClassVar[str] = "matlab_images"
    extensions: ClassVar[tuple[str, ...]] = (".mat",)
    description: ClassVar[str] = "images in MATLAB .mat files (e.g. the Olivetti faces)"

    def open(  # type: ignore[override]
        self,
        path: Any,
        *,
        variable: str | None = None,
        layout: Layout | None = None,
        image_shape: Sequence[int] | None = None,
    ) -> xr.Dataset:
        """Read one array of ``path`` as ``(image, y, x, channel)``.

        Args:
            variable: the MATLAB variable; default the only numeric array with 2+ dims.
            layout: as in :func:`matlab_images`.
            image_shape: as in :func:`matlab_images`.
        """
        import scipy.io

        p = existing_path(path, "MATLAB file")
        try:
            content = scipy.io.loadmat(p)
        except NotImplementedError as exc:
            raise ImageDataError(
                f"{str(p)!r} is a MATLAB v7.3 file (HDF5 inside), which scipy cannot read; open "
                f"it with h5py, or re-save it in MATLAB with save(..., '-v7')."
            ) from exc
        except Exception as exc:  # scipy raises anything from IndexError to MatReadError
            raise CorruptImageError(f"cannot read MATLAB file {str(p)!r} ({exc}).") from exc
        arrays = {
            k: v
            for k, v in content.items()
            if not k.startswith("__")
            and isinstance(v, np.ndarray)
            and v.ndim >= 2
            and v.dtype.kind in "uifb"
        }
        if variable is None:
            if len(arrays) != 1:
                raise ImageDataError(
                    f"cannot tell which variable of {str(p)!r} holds the images (numeric arrays: "
                    f"{sorted(arrays) or 'none'}); pass variable='name'."
                )
            variable = next(iter(arrays))
        elif variable not in arrays:
            raise ImageDataError(
                f"{str(p)!r} has no numeric array {variable!r}; it holds {sorted(arrays)}."
            )
        check_pixel_dtype(arrays[variable].dtype, f"{str(p)!r} variable {variable!r}")
        images = matlab_images(arrays[variable], layout=layout, image_shape=image_shape)
        dims = (IMAGE_DIM, Y_DIM, X_DIM, CHANNEL_DIM)[: images.ndim]
        ds = from_array(images, dims=dims)
        ds.attrs["source"] = str(p)
        ds.attrs["variable"] = variable
        return ds
