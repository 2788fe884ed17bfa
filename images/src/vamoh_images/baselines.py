"""Classical baselines, so the model's numbers can be compared honestly.

* :func:`bicubic_upsample`: super-resolution by tensor-product cubic spline interpolation,
  evaluated at exactly the pixel positions :meth:`ImageModality.refine` produces (first and last
  pixel centres kept, as the model sees the same [-1, 1] box), so both are scored on one grid.
* :func:`mean_fill`: in-painting with each image's per-channel mean of the observed pixels.
* :func:`nearest_fill`: in-painting with the nearest observed pixel of the same image.

All keep the input's dims, coordinates and attrs, and return 8-bit images as ``uint8``.
"""

from __future__ import annotations

from typing import Any

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
    restore_pixel_dtype,
)

__all__ = ["bicubic_upsample", "mean_fill", "nearest_fill"]


def _finish(out: xr.Dataset, source: xr.Dataset, from_dataarray: bool) -> Any:
    for name in image_variables(source):
        var = out[name]
        target = pixel_dtype(source[name])
        attrs = dict(source[name].attrs)
        values = restore_pixel_dtype(var.values, target)
        if values.dtype == target:
            attrs.pop(PIXEL_DTYPE_ATTR, None)
        out[name] = xr.Variable(var.dims, values, attrs=attrs)
    return out[image_variables(source)[0]] if from_dataarray else out


def _cubic_along(values: np.ndarray, old: np.ndarray, new: np.ndarray, axis: int) -> np.ndarray:
    from scipy.interpolate import make_interp_spline

    if old.size == 1:
        return np.repeat(values, new.size, axis=axis)
    order = min(3, old.size - 1)
    ascending = old[-1] > old[0]
    knots = old if ascending else old[::-1]
    ordered = values if ascending else np.flip(values, axis=axis)
    spline = make_interp_spline(knots, ordered, k=order, axis=axis)
    return spline(np.clip(new, knots[0], knots[-1]))


def bicubic_upsample(data: Any, *, factor: Any = None, to: Any = None) -> Any:
    """Cubic spline super-resolution onto the grid of ``ImageModality().refine(data, ...)``.

    Args:
        data: complete images (no NaN).
        factor, to: as in :meth:`vamoh_images.ImageModality.refine`.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> yy, xx = np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij")
        >>> fine = bicubic_upsample(from_array(yy**3 - 2 * xx**2), factor=2)
        >>> y, x = np.meshgrid(fine["y"], fine["x"], indexing="ij")
        >>> bool(np.allclose(fine["pixels"][0, :, :, 0], y**3 - 2 * x**2))  # exact for cubics
        True
    """
    from vamoh_images.modality import ImageModality

    ds, from_dataarray = as_image_dataset(data)
    template = ImageModality().refine(ds, factor=factor, to=to)
    template_ds = template if isinstance(template, xr.Dataset) else template.to_dataset()
    old_y = (
        ds[Y_DIM].values.astype(np.float64)
        if Y_DIM in ds.coords
        else np.arange(ds.sizes[Y_DIM], dtype=np.float64)
    )
    old_x = (
        ds[X_DIM].values.astype(np.float64)
        if X_DIM in ds.coords
        else np.arange(ds.sizes[X_DIM], dtype=np.float64)
    )
    new_y, new_x = template_ds[Y_DIM].values, template_ds[X_DIM].values
    out = template_ds.copy()
    for name in image_variables(ds, required=True):
        var = ds[name]
        values = np.asarray(var.values, dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError(
                f"variable {name!r} has NaN pixels; upsample complete images (fill gaps first, "
                f"e.g. with nearest_fill)."
            )
        axis_y, axis_x = var.dims.index(Y_DIM), var.dims.index(X_DIM)
        fine = _cubic_along(values, old_y, new_y, axis_y)
        fine = _cubic_along(fine, old_x, new_x, axis_x)
        out[name] = xr.Variable(var.dims, fine, attrs=dict(template_ds[name].attrs))
    return _finish(out, ds, from_dataarray)


def _sample_axes(var: xr.DataArray) -> tuple[str, ...]:
    return tuple(d for d in var.dims if d not in (Y_DIM, X_DIM, *CHANNEL_DIMS))


def mean_fill(data: Any) -> Any:
    """Fill NaN pixels with the mean of the same image's observed pixels, per channel.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> filled = mean_fill(from_array(np.array([[[1.0, np.nan], [3.0, 5.0]]])))
        >>> filled["pixels"][0, :, :, 0].values.tolist()
        [[1.0, 3.0], [3.0, 5.0]]
    """
    ds, from_dataarray = as_image_dataset(data)
    out = ds.copy()
    for name in image_variables(ds, required=True):
        var = ds[name]
        means = var.mean(dim=(Y_DIM, X_DIM), skipna=True)
        out[name] = var.fillna(means).transpose(*var.dims)
    return _finish(out, ds, from_dataarray)


def nearest_fill(data: Any) -> Any:
    """Fill NaN pixels with the nearest observed pixel of the same image and channel.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> filled = nearest_fill(from_array(np.array([[[1.0, np.nan, np.nan, 4.0]]])))
        >>> filled["pixels"][0, 0, :, 0].values.tolist()
        [1.0, 1.0, 4.0, 4.0]
    """
    from scipy.ndimage import distance_transform_edt

    ds, from_dataarray = as_image_dataset(data)
    out = ds.copy()
    for name in image_variables(ds, required=True):
        var = ds[name]
        others = [d for d in var.dims if d not in (Y_DIM, X_DIM)]
        ordered = var.transpose(*others, Y_DIM, X_DIM)
        values = np.asarray(ordered.values, dtype=np.float64)
        stack = values.reshape(-1, *values.shape[-2:])  # (S*C, H, W)
        missing = np.isnan(stack)
        empty = missing.all(axis=(1, 2))
        if empty.any():
            raise ValueError(f"variable {name!r} has an image with no observed pixel to copy from.")
        # a huge spacing along the stacked axis keeps every image's nearest pixel inside itself
        spacing = (float(stack.shape[1] + stack.shape[2]) ** 2, 1.0, 1.0)
        _, index = distance_transform_edt(missing, sampling=spacing, return_indices=True)
        filled = stack[index[0], index[1], index[2]].reshape(values.shape)
        out[name] = xr.DataArray(filled, dims=ordered.dims).transpose(*var.dims).variable
    return _finish(out, ds, from_dataarray)
