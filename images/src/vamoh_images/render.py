"""Turning model outputs into pictures: display RGB, segmentation maps and entropy maps.

``model.segment(images)`` returns per-pixel ``component`` (the MAP mixture component) and
``entropy`` (of the posterior over components); the paper shows them as a colour-coded
segmentation and an entropy heat map (Figs. 10 and 25). :func:`segmentation_rgb` and
:func:`entropy_rgb` render them as 8-bit RGB images with the same dims plus ``channel``, ready for
:func:`vamoh_images.grids.image_grid` or saving as PNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from vamoh_images.arrays import CHANNEL_DIM, CHANNEL_DIMS, X_DIM, Y_DIM, image_array, pixel_dtype

__all__ = ["entropy_rgb", "segmentation_rgb", "to_display"]

_MISSING_RGB = (128, 128, 128)


def to_display(data: Any, *, variable: str | None = None) -> np.ndarray:
    """Images as ``(S, H, W, 3)`` floats in [0, 1] for display; NaN marks hidden pixels.

    8-bit data are divided by 255; float data already in [0, 1] are kept and other floats are
    min-max scaled over all images together (so their relative brightness stays comparable).
    Grey images are repeated to RGB, alpha is dropped, and any other channel count shows the
    first channel. Sample dims are flattened in order.

    Example:
        >>> import numpy as np
        >>> to_display(np.array([[[0, 255]]], np.uint8))[0, 0].tolist()
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    """
    da = image_array(data, variable, unique=False)
    chan = [d for d in da.dims if d in CHANNEL_DIMS]
    if not chan:
        da = da.expand_dims(CHANNEL_DIM, axis=da.ndim)
        chan = [CHANNEL_DIM]
    samples = [d for d in da.dims if d not in (Y_DIM, X_DIM, chan[0])]
    da = da.transpose(*samples, Y_DIM, X_DIM, chan[0])
    values = np.asarray(da.values, dtype=np.float64).reshape(-1, *da.shape[-3:])
    kind = pixel_dtype(da)
    if kind == np.uint8:
        values = values / 255.0
    elif np.issubdtype(kind, np.floating):
        finite = values[np.isfinite(values)]
        if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
            low, high = finite.min(), finite.max()
            values = (values - low) / (high - low if high > low else 1.0)
    n_channels = values.shape[-1]
    if n_channels in (3, 4):
        values = values[..., :3]
    else:
        values = np.repeat(values[..., :1], 3, axis=-1)
    return np.clip(values, 0.0, 1.0, where=np.isfinite(values), out=values)


def _as_rgb_array(source: xr.DataArray, rgb: np.ndarray) -> xr.DataArray:
    """Attach ``rgb`` ``(*source.shape, 3)`` uint8 to the source's dims and coords."""
    coords = {c: v for c, v in source.coords.items() if set(v.dims) <= set(source.dims)}
    coords[CHANNEL_DIM] = ["r", "g", "b"]
    return xr.DataArray(rgb, dims=(*source.dims, CHANNEL_DIM), coords=coords)


def _colour_table(n: int) -> np.ndarray:
    """``(n, 3)`` uint8 distinct colours: tab10 for up to 10 components, tab20 up to 20."""
    from matplotlib import colormaps

    if n <= 10:
        colours = colormaps["tab10"](np.arange(n))
    elif n <= 20:
        colours = colormaps["tab20"](np.arange(n))
    else:
        colours = colormaps["hsv"](np.linspace(0.0, 1.0, n, endpoint=False))
    return np.round(colours[:, :3] * 255).astype(np.uint8)


def segmentation_rgb(component: Any, n_components: int | None = None) -> xr.DataArray:
    """A colour per mixture component (paper Fig. 10, bottom row); NaN pixels grey.

    Args:
        component: per-pixel component index (``model.segment(...)["component"]``), any dims.
        n_components: K, so colours stay the same across calls (default: max index + 1).

    Example:
        >>> import numpy as np, xarray as xr
        >>> seg = xr.DataArray(np.array([[0.0, 1.0], [1.0, np.nan]]), dims=("y", "x"))
        >>> rgb = segmentation_rgb(seg, n_components=2)
        >>> rgb.dims, rgb.dtype, rgb.values[1, 1].tolist()
        (('y', 'x', 'channel'), dtype('uint8'), [128, 128, 128])
    """
    da = component if isinstance(component, xr.DataArray) else xr.DataArray(np.asarray(component))
    values = np.asarray(da.values, dtype=np.float64)
    finite = np.isfinite(values)
    if n_components is None:
        n_components = int(values[finite].max()) + 1 if finite.any() else 1
    index = np.clip(np.where(finite, np.rint(values), 0), 0, n_components - 1).astype(int)
    rgb = _colour_table(n_components)[index]
    rgb[~finite] = _MISSING_RGB
    return _as_rgb_array(da, rgb)


def entropy_rgb(
    entropy: Any, max_entropy: float | None = None, cmap: str = "viridis"
) -> xr.DataArray:
    """An entropy heat map (paper Fig. 10, middle row); dark = one component is sure.

    Args:
        entropy: per-pixel entropy in nats (``model.segment(...)["entropy"]``), any dims.
        max_entropy: the value shown brightest; ``log(K)`` makes maps comparable across
            images and models (default: the largest entropy present).
        cmap: a matplotlib colormap name.

    Example:
        >>> import numpy as np
        >>> rgb = entropy_rgb(np.array([[0.0, np.log(4)]]), max_entropy=np.log(4))
        >>> rgb.shape, rgb.values[0, 0].tolist() != rgb.values[0, 1].tolist()
        ((1, 2, 3), True)
    """
    from matplotlib import colormaps

    da = entropy if isinstance(entropy, xr.DataArray) else xr.DataArray(np.asarray(entropy))
    values = np.asarray(da.values, dtype=np.float64)
    finite = np.isfinite(values)
    top = (
        max_entropy if max_entropy is not None else (values[finite].max() if finite.any() else 1.0)
    )
    scaled = np.clip(np.where(finite, values, 0.0) / (top if top > 0 else 1.0), 0.0, 1.0)
    rgb = np.round(colormaps[cmap](scaled)[..., :3] * 255).astype(np.uint8)
    rgb[~finite] = _MISSING_RGB
    return _as_rgb_array(da, rgb)
