"""Image quality metrics: PSNR as the paper defines it, SSIM, and bits per dimension.

PSNR (paper, eqs. 19-20): with ``D`` pixels and ``y_d`` the vector of a pixel's channels,

    RMSE = sqrt( (1 / D) * sum_d ||y_d - y~_d||_2^2 ),    PSNR = 20 log10(255 / RMSE).

The squared norm sums the channels of a pixel, so for RGB this is 10 log10(3) = 4.77 dB below
the more common convention that averages over every channel value (scikit-image's
``peak_signal_noise_ratio``); ``channel_reduction="mean"`` gives that one. The two agree for
grey images. ``255`` is the ``data_range`` of 8-bit data; pass 1.0 for images in [0, 1].

FID is not offered: it needs pretrained Inception weights that this package does not ship.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import xarray as xr

from vamoh_images.arrays import CHANNEL_DIM, CHANNEL_DIMS, X_DIM, Y_DIM, image_array

__all__ = ["bits_per_dim", "psnr", "ssim"]


def _paired(reference: Any, estimate: Any, variable: str | None) -> tuple[Any, ...]:
    """(reference, estimate) as float64 ``(S, H, W, C)``, the sample dims, the reference array."""
    ref = image_array(reference, variable)
    if variable is None and isinstance(estimate, xr.Dataset) and ref.name in estimate.data_vars:
        variable = str(ref.name)  # a model's output holds `<name>` beside `<name>_std`
    est = image_array(estimate, variable)
    arrays, sample_dims = [], None
    for da in (ref, est):
        chan = [d for d in da.dims if d in CHANNEL_DIMS]
        if not chan:
            da = da.expand_dims(CHANNEL_DIM, axis=da.ndim)
            chan = [CHANNEL_DIM]
        samples = [d for d in da.dims if d not in (Y_DIM, X_DIM, *chan)]
        if sample_dims is None:
            sample_dims = samples
        da = da.transpose(*samples, Y_DIM, X_DIM, chan[0])
        arrays.append(np.asarray(da.values, dtype=np.float64).reshape(-1, *da.shape[-3:]))
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(
            f"reference and estimate differ in shape ({arrays[0].shape} vs {arrays[1].shape} as "
            f"(images, y, x, channel)); compare images on the same pixel grid."
        )
    return arrays[0], arrays[1], sample_dims, ref


def _wrap(values: np.ndarray, reference: Any, ref: xr.DataArray, sample_dims: list[str]) -> Any:
    if not isinstance(reference, (xr.Dataset, xr.DataArray)):
        return values
    shape = [ref.sizes[d] for d in sample_dims]
    coords = {c: v for c, v in ref.coords.items() if set(v.dims) <= set(sample_dims)}
    return xr.DataArray(values.reshape(shape), dims=sample_dims, coords=coords)


def psnr(
    reference: Any,
    estimate: Any,
    *,
    data_range: float = 255.0,
    channel_reduction: Literal["sum", "mean"] = "sum",
    where: Any = None,
    variable: str | None = None,
) -> Any:
    """Peak signal-to-noise ratio in dB per image (paper eqs. 19-20; see the module docstring).

    Args:
        reference, estimate: images (xarray with ``y``/``x`` dims, or arrays as accepted by
            :func:`vamoh_images.from_array`) on the same grid.
        data_range: the peak value, 255 for 8-bit intensities.
        channel_reduction: ``"sum"`` (the paper: squared error summed over a pixel's channels)
            or ``"mean"`` (averaged over every value, as scikit-image does).
        where: optional boolean ``(y, x)`` or ``(images, y, x)`` selection of the pixels to
            score, e.g. the hidden patch of an in-painting task.
        variable: which image variable of a dataset.

    Returns:
        PSNR per image: an ``xr.DataArray`` over the sample dims for xarray input, else numpy.

    Example:
        >>> import numpy as np
        >>> clean = np.full((1, 4, 4, 3), 100, np.uint8)
        >>> noisy = clean.astype(float) + 5.0  # every channel off by 5
        >>> psnr(clean, noisy, channel_reduction="mean").round(2).tolist()  # 20 log10(255 / 5)
        [34.15]
        >>> psnr(clean, noisy).round(2).tolist()  # paper: RMSE = sqrt(3) * 5
        [29.38]
    """
    ref, est, sample_dims, ref_da = _paired(reference, estimate, variable)
    squared = (ref - est) ** 2  # (S, H, W, C)
    if channel_reduction == "sum":
        per_pixel = squared.sum(axis=-1)
    elif channel_reduction == "mean":
        per_pixel = squared.mean(axis=-1)
    else:
        raise ValueError(f"channel_reduction must be 'sum' or 'mean'; got {channel_reduction!r}.")
    if where is None:
        weights = np.ones(per_pixel.shape)
    else:
        weights = np.broadcast_to(np.asarray(where, dtype=bool), per_pixel.shape).astype(float)
    if np.isnan(per_pixel[weights > 0]).any():
        raise ValueError(
            "NaN pixels among the scored ones; score only observed pixels with where=, or fill "
            "the estimate (model.impute) first."
        )
    counts = weights.sum(axis=(1, 2))
    if (counts == 0).any():
        raise ValueError("where= selects no pixel in at least one image; nothing to score.")
    mse = np.where(weights > 0, per_pixel, 0.0).sum(axis=(1, 2)) / counts
    with np.errstate(divide="ignore"):
        values = 20.0 * np.log10(data_range / np.sqrt(mse))
    return _wrap(values, reference, ref_da, sample_dims)


def ssim(
    reference: Any, estimate: Any, *, data_range: float = 255.0, variable: str | None = None
) -> Any:
    """Structural similarity per image (scikit-image, channels averaged), in [-1, 1].

    The 7x7 window shrinks to the largest odd size that fits images smaller than 7 pixels.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> img = rng.integers(0, 256, (2, 16, 16), dtype=np.uint8)
        >>> ssim(img, img).tolist()
        [1.0, 1.0]
        >>> bool((ssim(img, 255 - img) < 0.1).all())
        True
    """
    from skimage.metrics import structural_similarity

    ref, est, sample_dims, ref_da = _paired(reference, estimate, variable)
    side = min(ref.shape[1], ref.shape[2])
    if side < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels; got {ref.shape[1:3]}.")
    window = min(7, side if side % 2 == 1 else side - 1)
    # an evaluation metric over a handful of test images, not a training hot path
    values = np.array(
        [
            structural_similarity(r, e, data_range=data_range, channel_axis=-1, win_size=window)
            for r, e in zip(ref, est)
        ]
    )
    return _wrap(values, reference, ref_da, sample_dims)


def bits_per_dim(elbo: Any, n_dims: int, *, dequantised_range: float | None = None) -> Any:
    """Bits per dimension from an ELBO (a lower bound on log p, in nats): ``-elbo / (n ln 2)``.

    Args:
        elbo: ELBO per image in nats (a float or an array).
        n_dims: values per image, ``height * width * channels``.
        dequantised_range: ``None`` when the ELBO scores 8-bit values with a probability *mass*
            over 256 bins (the discretised logistic, as here), which already gives bits per
            8-bit subpixel. When the ELBO is a continuous *density* of uniformly dequantised
            8-bit data rescaled onto an interval of this length (1.0 for [0, 1], 2.0 for
            [-1, 1]), each bin has width ``range / 256`` and ``log2(256 / range)`` bits per
            dimension are added, the usual convention for comparing such models.

    Example:
        >>> import math
        >>> bits_per_dim(-784 * math.log(2), 784)
        1.0
        >>> bits_per_dim(0.0, 784, dequantised_range=1.0)
        8.0
    """
    if n_dims < 1:
        raise ValueError(f"n_dims must be positive; got {n_dims}.")
    bpd = -np.asarray(elbo, dtype=np.float64) / (n_dims * math.log(2.0))
    if dequantised_range is not None:
        if dequantised_range <= 0:
            raise ValueError(f"dequantised_range must be positive; got {dequantised_range}.")
        bpd = bpd + math.log2(256.0 / dequantised_range)
    return float(bpd) if bpd.ndim == 0 else bpd
