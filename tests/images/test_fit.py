"""End to end: a tiny fit on 32 synthetic 16x16 images, then every operation on images.

Two epochs teach the model little, so these tests check what must hold for any model: dims,
dtypes, value ranges, observed pixels kept, templates on the right grid.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh_images import ImageModality, from_array
from vamoh_images.grids import save_grid
from vamoh_images.masks import (
    apply_mask,
    centre_patch_mask,
    half_mask,
    mask_as_data,
    random_pixel_mask,
)
from vamoh_images.metrics import psnr
from vamoh_images.render import entropy_rgb, segmentation_rgb

from .conftest import shapes_images


@pytest.fixture(scope="module")
def images() -> xr.Dataset:
    return from_array(shapes_images(32, 16), labels=np.arange(32) % 2)


@pytest.fixture(scope="module")
def model(images: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> vamoh.Model:
    folder = tmp_path_factory.mktemp("checkpoints")
    return vamoh.fit(
        images, max_epochs=2, progress=False, config={"batch_size": 8}, checkpoint_dir=folder
    )


@pytest.fixture(scope="module")
def few(images: xr.Dataset) -> xr.Dataset:
    return images.isel(image=slice(0, 4))


def _in_8bit_range(values: xr.DataArray) -> bool:
    return values.dtype == np.uint8 or bool(((values >= 0) & (values <= 255)).all())


def test_fit_picks_the_image_defaults(model: vamoh.Model) -> None:
    assert model.modality.name == "images"
    assert model.config.likelihood == "discretised_logistic"
    assert model.modality.normalisation == "uint8"
    assert max(model.config.encoder_centroids) <= 16 * 16
    assert model.channels == ("pixels",)


def test_reconstruct(model: vamoh.Model, few: xr.Dataset) -> None:
    recon = model.reconstruct(few)
    assert recon["pixels"].dims == few["pixels"].dims
    assert recon["pixels"].dtype == np.uint8
    assert recon["pixels_std"].dtype == np.float32
    assert (recon["pixels_std"] >= 0).all() and (recon["pixels_std"] <= 255).all()
    assert recon["label"].values.tolist() == few["label"].values.tolist()
    assert np.isfinite(psnr(few, recon)).all()


def test_super_resolve_x2(model: vamoh.Model, few: xr.Dataset) -> None:
    fine = model.super_resolve(few, factor=2)
    assert dict(fine["pixels"].sizes) == {"image": 4, "y": 32, "x": 32, "channel": 1}
    assert fine["pixels"].dtype == np.uint8
    template = ImageModality().refine(few, factor=2)
    np.testing.assert_allclose(fine["y"], template["y"])
    assert "pixel_dtype" in fine["pixels"].attrs  # the template's marker, kept in the result
    any_size = model.super_resolve(few, to=(20, 24))
    assert any_size["pixels"].shape == (4, 20, 24, 1)


@pytest.mark.parametrize(
    "make_mask",
    [
        lambda d: centre_patch_mask(d, 0.25),  # in-painting
        lambda d: ~centre_patch_mask(d, 0.5),  # out-painting
        lambda d: half_mask(d, "bottom"),  # completion from the top half
        lambda d: random_pixel_mask(d, 0.5),  # random missingness
    ],
    ids=["patch", "outpaint", "half", "random"],
)
def test_impute_keeps_observed_pixels(model: vamoh.Model, few: xr.Dataset, make_mask) -> None:
    mask = make_mask(few)
    hidden = apply_mask(few, mask)
    filled = model.impute(hidden)
    assert filled["pixels"].dtype == np.uint8
    assert filled["pixels"].dims == few["pixels"].dims
    observed = ~hidden["pixels"].isnull()
    np.testing.assert_array_equal(filled["pixels"].values[observed], few["pixels"].values[observed])
    assert (filled["pixels_std"].values[observed] == 0).all()
    assert (filled["pixels_std"].values[~observed] > 0).all()
    assert np.isfinite(psnr(few, filled, where=mask)).all()


def test_evaluate_scores_a_hidden_patch(model: vamoh.Model, few: xr.Dataset) -> None:
    scores = model.evaluate(few, mask=mask_as_data(few, centre_patch_mask(few, 0.25)))
    assert 0 < scores["rmse"] < 255


def test_sample(model: vamoh.Model, few: xr.Dataset) -> None:
    draws = model.sample(3, like=few.isel(image=[0]), seed=1)
    assert draws["pixels"].dims == ("sample", "y", "x", "channel")
    assert draws.sizes["sample"] == 3 and _in_8bit_range(draws["pixels"])
    bigger = model.sample(2, like=ImageModality().refine(few.isel(image=[0]), factor=2), seed=1)
    assert bigger["pixels"].shape == (2, 32, 32, 1)


def test_segment_and_render(model: vamoh.Model, few: xr.Dataset, tmp_path: Path) -> None:
    parts = model.segment(few)
    k = model.config.n_components
    assert parts["component"].dims == ("image", "y", "x")
    assert set(np.unique(parts["component"])) <= set(range(k))
    assert (parts["entropy"] >= -1e-6).all() and (parts["entropy"] <= math.log(k) + 1e-6).all()
    rows = {
        "input": few,
        "reconstruction": model.reconstruct(few),
        "super-resolution": model.super_resolve(few, factor=2),
        "segmentation": segmentation_rgb(parts["component"], n_components=k),
        "entropy": entropy_rgb(parts["entropy"], max_entropy=math.log(k)),
    }
    assert save_grid(rows, tmp_path / "fig10.png", n_images=4).stat().st_size > 0


def test_save_and_load(model: vamoh.Model, few: xr.Dataset, tmp_path: Path) -> None:
    path = model.save(tmp_path / "shapes.vamoh")
    loaded = vamoh.load(path)
    assert loaded.modality.normalisation == "uint8"
    assert loaded.reconstruct(few)["pixels"].dtype == np.uint8


def test_rgb_fit(tmp_path: Path) -> None:
    rgb = from_array(shapes_images(16, 8, rgb=True, seed=2))
    model = vamoh.fit(
        rgb, max_epochs=1, progress=False, config={"batch_size": 8}, checkpoint_dir=tmp_path
    )
    assert model.channels == ("pixels_r", "pixels_g", "pixels_b")
    recon = model.reconstruct(rgb.isel(image=[0, 1]))
    assert recon["pixels"].shape == (2, 8, 8, 3) and recon["pixels"].dtype == np.uint8
    assert recon["pixels_std"].dims == ("image", "y", "x", "channel")


@pytest.mark.parametrize(
    ("dtype", "likelihood", "normalisation"),
    [(np.float32, "continuous_bernoulli", "minmax"), (bool, "bernoulli", "none")],
)
def test_float_and_binary_images_fit(
    tmp_path: Path, dtype: type, likelihood: str, normalisation: str
) -> None:
    grey = shapes_images(16, 8, seed=3)
    values = grey / 255.0 if dtype is np.float32 else grey > 100
    data = from_array(values.astype(dtype))
    model = vamoh.fit(
        data, max_epochs=1, progress=False, config={"batch_size": 8}, checkpoint_dir=tmp_path
    )
    assert (model.config.likelihood, model.modality.normalisation) == (likelihood, normalisation)
    recon = model.reconstruct(data.isel(image=[0, 1]))["pixels"]
    assert recon.dtype == np.float32  # a probability or a continuous mean, never rounded
    assert bool(((recon >= -1e-6) & (recon <= 1 + 1e-6)).all())
