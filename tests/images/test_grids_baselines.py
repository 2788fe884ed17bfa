"""Rendering (display, segmentation, entropy), PNG grids and the classical baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from vamoh_images import ImageModality, from_array
from vamoh_images.baselines import bicubic_upsample, mean_fill, nearest_fill
from vamoh_images.grids import image_grid, save_grid
from vamoh_images.masks import apply_mask, centre_patch_mask, random_pixel_mask
from vamoh_images.render import entropy_rgb, segmentation_rgb, to_display

# -- rendering -------------------------------------------------------------------------------------


def test_to_display_scales_each_pixel_type(grey_images: xr.Dataset) -> None:
    shown = to_display(grey_images)
    assert shown.shape == (8, 16, 16, 3) and shown.max() <= 1.0
    np.testing.assert_allclose(shown[..., 0], grey_images["pixels"].values[..., 0] / 255)
    wide = to_display(np.array([[[-2.0, 0.0, 2.0]]]))
    np.testing.assert_allclose(wide[0, 0, :, 0], [0.0, 0.5, 1.0])
    hidden = to_display(apply_mask(grey_images, centre_patch_mask(grey_images, 4)))
    assert np.isnan(hidden).sum() == 8 * 16 * 3


def test_segmentation_and_entropy_maps() -> None:
    component = xr.DataArray(
        np.array([[[0, 1], [2, 3]]], float), dims=("image", "y", "x"), coords={"image": [7]}
    )
    seg = segmentation_rgb(component, n_components=4)
    assert seg.dims == ("image", "y", "x", "channel") and seg.dtype == np.uint8
    assert len({tuple(c) for c in seg.values.reshape(-1, 3)}) == 4
    assert seg["image"].values.tolist() == [7]
    ent = entropy_rgb(component * 0.1, max_entropy=np.log(4))
    assert ent.shape == (1, 2, 2, 3)
    assert to_display(seg).shape == (1, 2, 2, 3)
    many = segmentation_rgb(np.arange(25.0).reshape(5, 5))
    assert len({tuple(c) for c in many.values.reshape(-1, 3)}) == 25


def test_grid_png_with_rows_of_different_resolution(
    tmp_path: Path, grey_images: xr.Dataset
) -> None:
    hidden = apply_mask(grey_images, random_pixel_mask(grey_images, 0.5))
    fine = bicubic_upsample(grey_images, factor=2)
    segmentation = segmentation_rgb(grey_images["pixels"].isel(channel=0) > 100, n_components=2)
    path = save_grid(
        {
            "input": grey_images,
            "masked": hidden,
            "super-resolution": fine,
            "segmentation": segmentation,
        },
        tmp_path / "grid.png",
        n_images=4,
    )
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (480, 480)  # 4 x 4 cells of 1.2 in at 100 dpi
    fig = image_grid([grey_images], n_images=20)
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="at least one row"):
        image_grid({})


def test_modality_plot(grey_images: xr.Dataset) -> None:
    assert len(ImageModality().plot(grey_images, n_images=3).axes) == 3


# -- baselines -------------------------------------------------------------------------------------


def test_bicubic_reproduces_cubic_images_on_the_refined_grid() -> None:
    yy, xx = np.meshgrid(np.arange(6.0), np.arange(9.0), indexing="ij")
    image = 0.1 * yy**3 - xx**2 + yy * xx
    ds = from_array(np.stack([image, 2 * image]))
    fine = bicubic_upsample(ds, factor=2)
    template = ImageModality().refine(ds, factor=2)
    np.testing.assert_allclose(fine["y"], template["y"])
    y, x = np.meshgrid(fine["y"], fine["x"], indexing="ij")
    truth = 0.1 * y**3 - x**2 + y * x
    np.testing.assert_allclose(fine["pixels"].values[0, ..., 0], truth, atol=1e-9)
    np.testing.assert_allclose(fine["pixels"].values[1, ..., 0], 2 * truth, atol=1e-9)
    assert "pixel_dtype" not in fine["pixels"].attrs


def test_bicubic_keeps_8bit_and_any_size(grey_images: xr.Dataset) -> None:
    fine = bicubic_upsample(grey_images, to=(20, 30))
    assert fine["pixels"].dtype == np.uint8 and fine["pixels"].shape == (8, 20, 30, 1)
    np.testing.assert_array_equal(fine["pixels"][:, 0, 0], grey_images["pixels"][:, 0, 0])
    same = bicubic_upsample(grey_images["pixels"], factor=1)
    np.testing.assert_array_equal(same, grey_images["pixels"])
    with pytest.raises(ValueError, match="NaN"):
        bicubic_upsample(apply_mask(grey_images, centre_patch_mask(grey_images)), factor=2)


def test_mean_and_nearest_fill(grey_images: xr.Dataset) -> None:
    hidden = apply_mask(grey_images, centre_patch_mask(grey_images, 0.25))
    filled = mean_fill(hidden)
    assert filled["pixels"].dtype == np.uint8 and "pixel_dtype" not in filled["pixels"].attrs
    patch = centre_patch_mask(grey_images, 0.25).values
    means = np.nanmean(hidden["pixels"].values, axis=(1, 2))  # (image, channel)
    np.testing.assert_array_equal(
        filled["pixels"].values[:, patch, 0], np.rint(means[:, None, 0]).repeat(patch.sum(), 1)
    )
    near = nearest_fill(hidden)
    assert near["pixels"].dtype == np.uint8
    assert not np.isnan(near["pixels"].values.astype(float)).any()
    # nearest neighbours come from the same image: a constant image stays constant
    constant = from_array(np.stack([np.full((6, 6), 10.0), np.full((6, 6), 200.0)]))
    gappy = apply_mask(constant, random_pixel_mask(constant, 0.6))
    np.testing.assert_array_equal(nearest_fill(gappy)["pixels"], constant["pixels"])
    empty = apply_mask(constant, centre_patch_mask(constant, 6))
    with pytest.raises(ValueError, match="no observed pixel"):
        nearest_fill(empty)
