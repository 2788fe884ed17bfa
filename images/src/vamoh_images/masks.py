"""Missing-pixel patterns for in-painting, out-painting, completion and random missingness.

A mask is a boolean ``xr.DataArray`` over ``(y, x)`` (the same pattern for every image) or over
``(<sample dims>, y, x)`` (one pattern per image), True where a pixel is hidden. The engine knows
nothing of masks: :func:`apply_mask` sets hidden pixels to NaN (in every channel), and
``model.impute`` fills the NaNs.

Example:
    >>> import numpy as np
    >>> from vamoh_images import from_array
    >>> ds = from_array(np.full((2, 4, 4), 200, np.uint8))
    >>> hidden = apply_mask(ds, centre_patch_mask(ds, size=2))
    >>> int(hidden["pixels"].isnull().sum()), hidden["pixels"].attrs["pixel_dtype"]
    (8, 'uint8')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from vamoh_images.arrays import (
    CHANNEL_DIMS,
    PIXEL_DTYPE_ATTR,
    X_DIM,
    Y_DIM,
    as_image_dataset,
    image_variables,
    pixel_dtype,
)
from vamoh_images.errors import ImageShapeError

__all__ = [
    "apply_mask",
    "centre_patch_mask",
    "half_mask",
    "mask_as_data",
    "outpaint_mask",
    "patch_mask",
    "random_pixel_mask",
]

Side = Literal["top", "bottom", "left", "right"]


def _empty(ds: xr.Dataset) -> xr.DataArray:
    """An all-visible ``(y, x)`` mask carrying the data's y/x coordinates."""
    image_variables(ds, required=True)
    coords = {d: ds[d] for d in (Y_DIM, X_DIM) if d in ds.coords}
    shape = (ds.sizes[Y_DIM], ds.sizes[X_DIM])
    return xr.DataArray(np.zeros(shape, bool), dims=(Y_DIM, X_DIM), coords=coords, name="mask")


def _pair(value: float | Sequence[float], name: str) -> tuple[float, float]:
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a (height, width) pair; got {value!r}.")
    return float(pair[0]), float(pair[1])


def _pixels(value: float, total: int) -> int:
    """A size given as a fraction (< 1) of ``total`` or as a pixel count (>= 1)."""
    return round(value * total) if 0 < value < 1 else int(value)


def patch_mask(data: Any, *, top: int, left: int, height: int, width: int) -> xr.DataArray:
    """Hide the ``height`` x ``width`` box whose top-left pixel is (``top``, ``left``).

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> patch_mask(from_array(np.zeros((3, 4))), top=1, left=2, height=5, width=1).values.astype(int).tolist()
        [[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]
    """
    mask = _empty(as_image_dataset(data)[0])
    if min(height, width) < 0 or top < 0 or left < 0:
        raise ValueError("patch_mask needs non-negative top, left, height and width.")
    mask.values[top : top + height, left : left + width] = True
    return mask


def centre_patch_mask(data: Any, size: float | Sequence[float] = 0.5) -> xr.DataArray:
    """Hide a centred patch (in-painting): ``size`` as a fraction of each side (below 1) or in
    pixels (1 and above), one number for both sides or ``(height, width)``.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> centre_patch_mask(from_array(np.zeros((4, 4))), 0.5).values.astype(int).tolist()
        [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    ds = as_image_dataset(data)[0]
    height, width = ds.sizes[Y_DIM], ds.sizes[X_DIM]
    size_h, size_w = _pair(size, "size")
    patch_h, patch_w = _pixels(size_h, height), _pixels(size_w, width)
    return patch_mask(
        ds, top=(height - patch_h) // 2, left=(width - patch_w) // 2, height=patch_h, width=patch_w
    )


def outpaint_mask(data: Any, keep: float | Sequence[float] = 0.5) -> xr.DataArray:
    """Hide everything outside a centred box (out-painting); ``keep`` as in ``centre_patch_mask``.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> outpaint_mask(from_array(np.zeros((4, 4))), 0.5).values.astype(int).tolist()
        [[1, 1, 1, 1], [1, 0, 0, 1], [1, 0, 0, 1], [1, 1, 1, 1]]
    """
    inner = centre_patch_mask(data, keep)
    return ~inner


def half_mask(data: Any, side: Side = "bottom") -> xr.DataArray:
    """Hide one half of the image (completion from the other half).

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> half_mask(from_array(np.zeros((2, 4))), "right").values.astype(int).tolist()
        [[0, 0, 1, 1], [0, 0, 1, 1]]
    """
    mask = _empty(as_image_dataset(data)[0])
    height, width = mask.shape
    if side == "top":
        mask.values[: height // 2] = True
    elif side == "bottom":
        mask.values[height - height // 2 :] = True
    elif side == "left":
        mask.values[:, : width // 2] = True
    elif side == "right":
        mask.values[:, width - width // 2 :] = True
    else:
        raise ValueError(f"side must be 'top', 'bottom', 'left' or 'right'; got {side!r}.")
    return mask


def random_pixel_mask(
    data: Any, fraction: float, *, seed: int = 0, per_image: bool = True
) -> xr.DataArray:
    """Hide each pixel independently with probability ``fraction``.

    Args:
        fraction: probability in [0, 1] that a pixel is hidden.
        seed: for ``numpy.random.default_rng``.
        per_image: a different pattern per image (dims ``(<sample dims>, y, x)``) or one shared
            ``(y, x)`` pattern.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> mask = random_pixel_mask(from_array(np.zeros((3, 50, 50))), 0.3)
        >>> mask.dims, round(float(mask.mean()), 1)
        (('image', 'y', 'x'), 0.3)
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction}.")
    ds = as_image_dataset(data)[0]
    base = _empty(ds)
    rng = np.random.default_rng(seed)
    if not per_image:
        return base.copy(data=rng.random(base.shape) < fraction)
    first = ds[image_variables(ds, required=True)[0]]
    sample_dims = [d for d in first.dims if d not in (Y_DIM, X_DIM, *CHANNEL_DIMS)]
    shape = [first.sizes[d] for d in sample_dims] + list(base.shape)
    coords = {
        c: v for c, v in first.coords.items() if set(v.dims) <= set(sample_dims) | {Y_DIM, X_DIM}
    }
    return xr.DataArray(
        rng.random(shape) < fraction, dims=(*sample_dims, Y_DIM, X_DIM), coords=coords, name="mask"
    )


def _checked(ds: xr.Dataset, mask: xr.DataArray) -> xr.DataArray:
    """``mask`` as bool, checked against the images' size, without y/x coordinates to align."""
    hidden = xr.DataArray(mask).astype(bool)
    if Y_DIM not in hidden.dims or X_DIM not in hidden.dims:
        raise ImageShapeError(f"a mask needs 'y' and 'x' dims; got {hidden.dims}.")
    if (hidden.sizes[Y_DIM], hidden.sizes[X_DIM]) != (ds.sizes[Y_DIM], ds.sizes[X_DIM]):
        raise ImageShapeError(
            f"the mask is {hidden.sizes[Y_DIM]}x{hidden.sizes[X_DIM]} but the images are "
            f"{ds.sizes[Y_DIM]}x{ds.sizes[X_DIM]}; build it from the same data."
        )
    return hidden.drop_vars([c for c in hidden.coords if c in (Y_DIM, X_DIM)])


def apply_mask(data: Any, mask: xr.DataArray) -> Any:
    """A copy of ``data`` with hidden pixels set to NaN in every channel of every image variable.

    8-bit and boolean images become float32 with ``pixel_dtype`` recorded in their attrs, so the
    images modality still models them as 8-bit (or binary) data and returns results in that type.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> ds = from_array(np.ones((1, 2, 2), np.uint8))
        >>> apply_mask(ds, half_mask(ds, "left"))["pixels"][0, :, :, 0].values.tolist()
        [[nan, 1.0], [nan, 1.0]]
    """
    ds = as_image_dataset(data)[0]
    hidden = _checked(ds, mask)
    out = ds.copy()
    for name in image_variables(ds, required=True):
        var = ds[name]
        source_type = pixel_dtype(var)
        float_type = var.dtype if np.issubdtype(var.dtype, np.floating) else np.float32
        masked = var.astype(float_type).where(~hidden).transpose(*var.dims)
        attrs = dict(var.attrs)
        if not np.issubdtype(source_type, np.floating):
            attrs[PIXEL_DTYPE_ATTR] = str(source_type)
        out[name] = masked.assign_attrs(attrs)
    if isinstance(data, xr.DataArray):
        return out[next(iter(image_variables(ds, required=True)))]
    return out


def mask_as_data(data: Any, mask: xr.DataArray) -> Any:
    """``mask`` in the shape of ``data``'s image variables: uint8, 1 where hidden.

    This is the form ``model.evaluate(data, mask=...)`` takes: it hides those pixels, predicts
    them from the rest and scores the prediction there.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> ds = from_array(np.zeros((2, 2, 3, 3), np.uint8))
        >>> as_data = mask_as_data(ds, half_mask(ds, "left"))
        >>> as_data["pixels"].dims, as_data["pixels"].dtype, int(as_data["pixels"].sum())
        (('image', 'y', 'x', 'channel'), dtype('uint8'), 12)
    """
    ds = as_image_dataset(data)[0]
    hidden = _checked(ds, mask)
    names = image_variables(ds, required=True)
    out = ds[names].copy()
    for name in names:
        var = ds[name]
        spread = (xr.zeros_like(var, dtype=np.uint8) + hidden.astype(np.uint8)).transpose(*var.dims)
        out[name] = spread.astype(np.uint8).assign_attrs({})
    if isinstance(data, xr.DataArray):
        return out[names[0]]
    return out
