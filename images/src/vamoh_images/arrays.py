"""In-memory arrays as images: ``from_array`` and the pixel-type rules every reader shares.

Every reader and :func:`from_array` return an ``xr.Dataset`` with one variable (``pixels`` by
default; ``image`` is the sample dim and a variable cannot share its name) of dims ``(image, y, x, channel)``: integer ``image``, ``y`` and ``x`` coordinates
(pixel indices), ``channel`` labels (``grey``; ``r, g, b``; ``r, g, b, a``; else ``c0, c1...``),
and labels, when known, as coordinates along ``image``.

Pixel types: ``uint8`` (8-bit intensities, modelled with the discretised logistic), floating point
(continuous values) and ``bool`` (binary images). Anything else is an
:class:`~vamoh_images.errors.UnsupportedDtypeError`: converting 16-bit or signed data to one of
these is a decision about its range that only the user can make.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from vamoh_images.errors import ImageShapeError, UnsupportedDtypeError

__all__ = [
    "CHANNEL_DIM",
    "CHANNEL_DIMS",
    "IMAGE_DIM",
    "PIXEL_DTYPE_ATTR",
    "X_DIM",
    "Y_DIM",
    "as_image_dataset",
    "channel_labels",
    "check_pixel_dtype",
    "from_array",
    "image_array",
    "image_variables",
    "pixel_dtype",
    "restore_pixel_dtype",
]

IMAGE_DIM = "image"
Y_DIM = "y"
X_DIM = "x"
CHANNEL_DIM = "channel"
CHANNEL_DIMS = (CHANNEL_DIM, "band")  # "band" as in rasters read with rioxarray
# Set on float copies of 8-bit images (NaN-masked inputs, templates) so results come back as uint8.
PIXEL_DTYPE_ATTR = "pixel_dtype"

_CHANNEL_COUNTS = (1, 3, 4)
_KNOWN_DIMS = (IMAGE_DIM, Y_DIM, X_DIM, CHANNEL_DIM)


def check_pixel_dtype(dtype: Any, where: str = "the data") -> np.dtype:
    """The dtype if images of it can be modelled (uint8, bool, float), else a clear error.

    Example:
        >>> check_pixel_dtype("uint8")
        dtype('uint8')
        >>> check_pixel_dtype("int16", "x.npy")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        vamoh_images.errors.UnsupportedDtypeError: x.npy has pixels of type int16, which ...
    """
    dt = np.dtype(dtype)
    if dt == np.uint8 or dt == np.bool_ or np.issubdtype(dt, np.floating):
        return dt
    raise UnsupportedDtypeError(
        f"{where} has pixels of type {dt}, which the images modality cannot model. Convert it "
        f"first: `.astype('uint8')` if the values are 8-bit intensities 0..255, or "
        f"`.astype('float32')` for continuous values."
    )


def pixel_dtype(var: xr.DataArray) -> np.dtype:
    """The pixel type a variable stands for: its ``pixel_dtype`` attribute, else its dtype.

    A NaN-masked float copy of an 8-bit image keeps ``pixel_dtype="uint8"`` so the model treats it
    as 8-bit data and returns 8-bit results.

    Example:
        >>> import numpy as np, xarray as xr
        >>> pixel_dtype(xr.DataArray(np.zeros(2), attrs={"pixel_dtype": "uint8"}))
        dtype('uint8')
    """
    return np.dtype(var.attrs.get(PIXEL_DTYPE_ATTR, var.dtype))


def restore_pixel_dtype(values: np.ndarray, dtype: np.dtype, *, round_uint8: bool = True) -> Any:
    """Cast model output back to the input's pixel type where that loses nothing meaningful.

    * ``uint8``: rounded and clipped to 0..255 when every value is finite and ``round_uint8``
      (a posterior mean of 8-bit data is displayed and scored as 8-bit data); otherwise float32.
    * ``bool``: only when every value is exactly 0 or 1 (so a round trip is exact; predicted
      probabilities stay float32).
    * floating types: that type.

    Example:
        >>> import numpy as np
        >>> restore_pixel_dtype(np.array([0.4, 254.6, 300.0]), np.dtype("uint8")).tolist()
        [0, 255, 255]
        >>> restore_pixel_dtype(np.array([np.nan, 1.0]), np.dtype("uint8")).dtype
        dtype('float32')
    """
    values = np.asarray(values)
    if dtype == np.uint8:
        if round_uint8 and np.isfinite(values).all():
            return np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return values.astype(np.float32)
    if dtype == np.bool_:
        if np.isin(values, (0.0, 1.0)).all():
            return values.astype(bool)
        return values.astype(np.float32)
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    return values.astype(np.float32)


def channel_labels(n: int) -> list[str]:
    """Default ``channel`` labels for ``n`` channels.

    Example:
        >>> channel_labels(1), channel_labels(3), channel_labels(2)
        (['grey'], ['r', 'g', 'b'], ['c0', 'c1'])
    """
    if n == 1:
        return ["grey"]
    if n == 3:
        return ["r", "g", "b"]
    if n == 4:
        return ["r", "g", "b", "a"]
    return [f"c{i}" for i in range(n)]


def _as_array(array: Any) -> tuple[Any, bool]:
    """(numpy or dask array, whether it came from torch, whose convention is channels-first)."""
    if hasattr(array, "detach") and hasattr(array, "cpu"):
        return array.detach().cpu().numpy(), True
    if hasattr(array, "chunks") and hasattr(array, "compute"):
        return array, False
    return np.asarray(array), False


def _guess_dims(shape: tuple[int, ...], channels_first: bool) -> tuple[str, ...]:
    ndim = len(shape)
    if ndim == 2:
        return (Y_DIM, X_DIM)
    if ndim == 3:
        if channels_first and shape[0] in _CHANNEL_COUNTS:
            return (CHANNEL_DIM, Y_DIM, X_DIM)
        if (
            not channels_first
            and shape[-1] in _CHANNEL_COUNTS
            and min(shape[0], shape[1]) > max(_CHANNEL_COUNTS)
        ):
            return (Y_DIM, X_DIM, CHANNEL_DIM)
        return (IMAGE_DIM, Y_DIM, X_DIM)
    if ndim == 4:
        first, last = shape[1] in _CHANNEL_COUNTS, shape[-1] in _CHANNEL_COUNTS
        if (channels_first and first) or (first and not last):
            return (IMAGE_DIM, CHANNEL_DIM, Y_DIM, X_DIM)
        return (IMAGE_DIM, Y_DIM, X_DIM, CHANNEL_DIM)
    raise ImageShapeError(
        f"an array of shape {shape} is not an image stack: give 2-D (y, x), 3-D (image, y, x) "
        f"or (y, x, channel), or 4-D (image, y, x, channel) data, or name the axes with dims=."
    )


def from_array(
    array: Any,
    *,
    dims: Sequence[str] | None = None,
    name: str = "pixels",
    labels: Any = None,
    channel_names: Sequence[str] | None = None,
) -> xr.Dataset:
    """Wrap a numpy, dask or torch array of images as an ``(image, y, x, channel)`` dataset.

    Args:
        array: 2-D to 4-D pixel values (uint8, bool or float); dask stays lazy.
        dims: names of the array's axes, a subset of ``image, y, x, channel`` containing ``y``
            and ``x``. Guessed when omitted: 2-D is ``(y, x)``; 3-D is ``(image, y, x)`` unless
            the last axis has 1, 3 or 4 entries and the first two more than 4 each
            (``(y, x, channel)``);
            4-D is channels-last unless only axis 1 has 1, 3 or 4 entries. Torch tensors are
            taken as channels-first (``(C, H, W)``, ``(N, C, H, W)``) when axis 0/1 allows.
        name: the variable name.
        labels: one label per image, stored as a ``label`` coordinate.
        channel_names: ``channel`` labels (default from :func:`channel_labels`).

    Example:
        >>> import numpy as np
        >>> ds = from_array(np.zeros((5, 28, 28), np.uint8), labels=np.arange(5) % 2)
        >>> dict(ds["pixels"].sizes), ds["label"].values.tolist()
        ({'image': 5, 'y': 28, 'x': 28, 'channel': 1}, [0, 1, 0, 1, 0])
        >>> from_array(np.zeros((2, 3, 8, 6), np.float32))["pixels"].shape  # (N, C, H, W)
        (2, 8, 6, 3)
    """
    values, from_torch = _as_array(array)
    dtype = check_pixel_dtype(values.dtype, "the array")
    if dtype == np.float16:
        values = values.astype(np.float32)
    if dims is None:
        dims = _guess_dims(tuple(values.shape), channels_first=from_torch)
    dims = tuple(dims)
    if len(dims) != values.ndim or len(set(dims)) != len(dims):
        raise ImageShapeError(
            f"dims={dims} must name each of the array's {values.ndim} axes once "
            f"(shape {tuple(values.shape)})."
        )
    if not set(dims) <= set(_KNOWN_DIMS) or Y_DIM not in dims or X_DIM not in dims:
        raise ImageShapeError(
            f"dims={dims} must contain 'y' and 'x' and otherwise only 'image' and 'channel'."
        )
    da = xr.DataArray(values, dims=dims, name=name)
    for missing in (IMAGE_DIM, CHANNEL_DIM):
        if missing not in dims:
            da = da.expand_dims(missing, axis=0 if missing == IMAGE_DIM else da.ndim)
    da = da.transpose(*_KNOWN_DIMS)
    n_images, height, width, n_channels = da.shape
    names = list(channel_names) if channel_names is not None else channel_labels(n_channels)
    if len(names) != n_channels:
        raise ImageShapeError(
            f"channel_names has {len(names)} entries but the images have {n_channels} channels."
        )
    coords: dict[str, Any] = {
        IMAGE_DIM: np.arange(n_images),
        Y_DIM: np.arange(height),
        X_DIM: np.arange(width),
        CHANNEL_DIM: names,
    }
    if labels is not None:
        label_values, _ = _as_array(labels)
        label_values = np.asarray(label_values)
        if label_values.shape != (n_images,):
            raise ImageShapeError(
                f"labels must hold one entry per image ({n_images}); got shape "
                f"{label_values.shape}."
            )
        coords["label"] = (IMAGE_DIM, label_values)
    return da.assign_coords(coords).to_dataset()


def _variable_name(da: xr.DataArray) -> str:
    """The DataArray's name, or ``pixels`` when it has none or shares a dim or coordinate's."""
    if da.name is None or da.name in da.coords or da.name in da.dims:
        return "pixels"
    return str(da.name)


def as_image_dataset(data: Any) -> tuple[xr.Dataset, bool]:
    """``data`` as a Dataset, and whether it was a DataArray; arrays go through ``from_array``.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds, was_array = as_image_dataset(xr.DataArray(np.zeros((2, 2)), dims=("y", "x")))
        >>> list(ds.data_vars), was_array
        (['pixels'], True)
    """
    if isinstance(data, xr.Dataset):
        return data, False
    if isinstance(data, xr.DataArray):
        return data.to_dataset(name=_variable_name(data)), True
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return from_array(data), False
    raise ImageShapeError(
        f"images come as xarray objects or arrays, not {type(data).__name__}; wrap arrays "
        f"with vamoh_images.from_array(...)."
    )


def image_variables(ds: xr.Dataset, *, required: bool = False) -> list[str]:
    """Names of the variables with both ``y`` and ``x`` dims (an error if ``required`` and none).

    Example:
        >>> import numpy as np
        >>> ds = from_array(np.zeros((1, 2, 2))).assign(n=("image", [1]))
        >>> image_variables(ds)
        ['pixels']
    """
    names = [str(n) for n, v in ds.data_vars.items() if Y_DIM in v.dims and X_DIM in v.dims]
    if required and not names:
        raise ImageShapeError(
            f"no variable has both 'y' and 'x' dims (variables: {list(ds.data_vars)}, dims: "
            f"{dict(ds.sizes)}); rename the pixel axes to 'y' and 'x', e.g. "
            f".rename({{'row': 'y', 'col': 'x'}})."
        )
    return names


def image_array(data: Any, variable: str | None = None, *, unique: bool = True) -> xr.DataArray:
    """One image variable of ``data``: ``variable``, else the only one (or the first).

    Args:
        data: a Dataset, DataArray or array.
        variable: the variable to take from a Dataset.
        unique: with several image variables and no ``variable``, raise instead of taking
            the first.

    Example:
        >>> import numpy as np
        >>> image_array(np.zeros((1, 3, 3), np.uint8)).dims
        ('image', 'y', 'x', 'channel')
    """
    if isinstance(data, xr.DataArray):
        return data
    ds, _ = as_image_dataset(data)
    if variable is not None:
        return ds[variable]
    names = image_variables(ds, required=True)
    if unique and len(names) > 1:
        raise ValueError(f"the dataset has image variables {names}; choose one with variable=.")
    return ds[names[0]]
