"""Masks for in/out-painting and completion; PSNR (paper eqs. 19-20), SSIM and bits per dim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from skimage.metrics import peak_signal_noise_ratio

from vamoh_images import ImageShapeError, from_array
from vamoh_images.masks import (
    apply_mask,
    centre_patch_mask,
    half_mask,
    outpaint_mask,
    patch_mask,
    random_pixel_mask,
)
from vamoh_images.metrics import bits_per_dim, psnr, ssim

# -- masks -----------------------------------------------------------------------------------------


def test_patch_masks_count_pixels(grey_images: xr.Dataset) -> None:
    assert int(patch_mask(grey_images, top=2, left=3, height=4, width=5).sum()) == 20
    assert int(centre_patch_mask(grey_images, 0.5).sum()) == 64
    assert int(centre_patch_mask(grey_images, (4, 2)).sum()) == 8
    assert int(outpaint_mask(grey_images, 0.5).sum()) == 256 - 64
    for side in ("top", "bottom", "left", "right"):
        assert int(half_mask(grey_images, side).sum()) == 128
    with pytest.raises(ValueError, match="side"):
        half_mask(grey_images, "middle")
    with pytest.raises(ValueError, match="non-negative"):
        patch_mask(grey_images, top=-1, left=0, height=1, width=1)


def test_random_masks(grey_images: xr.Dataset) -> None:
    per_image = random_pixel_mask(grey_images, 0.5, seed=3)
    assert per_image.dims == ("image", "y", "x")
    assert not (per_image[0] == per_image[1]).all()
    assert "label" in per_image.coords
    shared = random_pixel_mask(grey_images, 0.5, per_image=False)
    assert shared.dims == ("y", "x")
    np.testing.assert_array_equal(random_pixel_mask(grey_images, 0.5, seed=3), per_image)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        random_pixel_mask(grey_images, 1.5)


def test_apply_mask_hides_every_channel(rgb_images: xr.Dataset) -> None:
    mask = random_pixel_mask(rgb_images, 0.3)
    hidden = apply_mask(rgb_images, mask)
    assert hidden["pixels"].dims == rgb_images["pixels"].dims
    assert hidden["pixels"].dtype == np.float32
    assert hidden["pixels"].attrs["pixel_dtype"] == "uint8"
    missing = hidden["pixels"].isnull()
    np.testing.assert_array_equal(missing.all("channel"), mask)
    np.testing.assert_array_equal(missing.any("channel"), mask)
    kept = ~mask.values[..., None].repeat(3, axis=-1)
    np.testing.assert_array_equal(hidden["pixels"].values[kept], rgb_images["pixels"].values[kept])
    assert rgb_images["pixels"].dtype == np.uint8  # the input is untouched


def test_apply_mask_to_dataarray_and_floats(grey_images: xr.Dataset) -> None:
    floats = grey_images["pixels"].astype(np.float64) / 255
    hidden = apply_mask(floats, half_mask(floats))
    assert isinstance(hidden, xr.DataArray) and hidden.dtype == np.float64
    assert "pixel_dtype" not in hidden.attrs


def test_mask_of_another_size_is_rejected(grey_images: xr.Dataset) -> None:
    small = from_array(np.zeros((1, 4, 4), np.uint8))
    with pytest.raises(ImageShapeError, match="same data"):
        apply_mask(grey_images, half_mask(small))


# -- PSNR ------------------------------------------------------------------------------------------


def test_psnr_paper_definition_against_a_hand_computation() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (3, 8, 8, 3)).astype(np.uint8)
    est = np.clip(ref + rng.normal(0, 10, ref.shape), 0, 255)
    ours = psnr(ref, est)
    diff = ref.astype(float) - est
    rmse = np.sqrt((diff**2).sum(axis=-1).mean(axis=(1, 2)))  # eq. 19: ||.||^2 over channels
    np.testing.assert_allclose(ours, 20 * np.log10(255 / rmse))  # eq. 20
    # the common convention (mean over channels) is 10 log10(3) dB higher for RGB
    mean_convention = psnr(ref, est, channel_reduction="mean")
    np.testing.assert_allclose(mean_convention - ours, 10 * np.log10(3))
    expected = [peak_signal_noise_ratio(r, e, data_range=255) for r, e in zip(ref, est)]
    np.testing.assert_allclose(mean_convention, expected)


def test_psnr_on_xarray_keeps_sample_coords(grey_images: xr.Dataset) -> None:
    noisy = grey_images["pixels"].astype(float) + 3.0
    values = psnr(grey_images, noisy)
    assert values.dims == ("image",) and "label" in values.coords
    np.testing.assert_allclose(values, 20 * np.log10(255 / 3))
    assert np.isinf(psnr(grey_images, grey_images)).all()


def test_psnr_where_scores_only_the_patch(grey_images: xr.Dataset) -> None:
    patch = centre_patch_mask(grey_images, 0.25)
    est = grey_images["pixels"].astype(float).where(~patch, 0.0)
    est = est.transpose(*grey_images["pixels"].dims)
    inside = psnr(grey_images, est, where=patch)
    outside = psnr(grey_images, est, where=~patch)
    assert np.isinf(outside).all() and np.isfinite(inside).all()
    with pytest.raises(ValueError, match="no pixel"):
        psnr(grey_images, est, where=np.zeros((16, 16), bool))


def test_psnr_errors(grey_images: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="same pixel grid"):
        psnr(grey_images, grey_images.isel(x=slice(0, 8)))
    with pytest.raises(ValueError, match="NaN"):
        psnr(grey_images, apply_mask(grey_images, half_mask(grey_images)))
    with pytest.raises(ValueError, match="channel_reduction"):
        psnr(grey_images, grey_images, channel_reduction="max")
    two = grey_images.assign(other=grey_images["pixels"])
    with pytest.raises(ValueError, match="variable="):
        psnr(two, two)
    assert np.isinf(psnr(two, two, variable="other")).all()


# -- SSIM and bits per dim ------------------------------------------------------------------------


def test_ssim_matches_scikit_image_and_orders_quality(rgb_images: xr.Dataset) -> None:
    from skimage.metrics import structural_similarity

    ref = rgb_images["pixels"].values
    rng = np.random.default_rng(1)
    slight = np.clip(ref + rng.normal(0, 5, ref.shape), 0, 255)
    heavy = np.clip(ref + rng.normal(0, 60, ref.shape), 0, 255)
    good, bad = ssim(rgb_images, slight), ssim(rgb_images, heavy)
    assert (good > bad).all() and good.dims == ("image",)
    direct = structural_similarity(
        ref[0].astype(float), slight[0], data_range=255, channel_axis=-1, win_size=7
    )
    np.testing.assert_allclose(float(good[0]), direct)


def test_ssim_small_images() -> None:
    tiny = np.random.default_rng(0).integers(0, 255, (2, 4, 5)).astype(np.uint8)
    np.testing.assert_allclose(ssim(tiny, tiny), 1.0)
    with pytest.raises(ValueError, match="3x3"):
        ssim(tiny[:, :2], tiny[:, :2])


def test_bits_per_dim() -> None:
    n = 28 * 28
    assert bits_per_dim(-n * math.log(2) * 3.5, n) == pytest.approx(3.5)
    np.testing.assert_allclose(bits_per_dim(np.array([0.0, -n * math.log(2)]), n), [0.0, 1.0])
    # a density on [0, 1] and the same data's mass over 256 bins differ by log2(256) = 8 bits
    assert bits_per_dim(-n * math.log(2), n, dequantised_range=1.0) == pytest.approx(9.0)
    assert bits_per_dim(0.0, n, dequantised_range=2.0) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="n_dims"):
        bits_per_dim(1.0, 0)
    with pytest.raises(ValueError, match="dequantised_range"):
        bits_per_dim(1.0, 3, dequantised_range=-1.0)
