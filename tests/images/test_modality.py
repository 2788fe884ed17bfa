"""The images modality: detection, pixel coordinates, exact round trips, engine outputs, refine."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from vamoh.config import VaMoHConfig
from vamoh.coordinates import grid_axis
from vamoh.detection import detect_modality
from vamoh.pointset import PointSet
from vamoh.testing import check_modality
from vamoh_images import (
    ImageModality,
    ImageShapeError,
    UnsupportedDtypeError,
    from_array,
)

from .conftest import shapes_images

IMAGES = ImageModality()


# -- detection ------------------------------------------------------------------------------------


def test_scores(grey_images: xr.Dataset) -> None:
    assert IMAGES.can_handle(grey_images) == 0.95
    assert IMAGES.can_handle(grey_images["pixels"].astype(np.float32)) == 0.9
    video = xr.DataArray(np.zeros((2, 4, 4)), dims=("time", "y", "x"))
    assert IMAGES.can_handle(video) == 0.7
    views = xr.DataArray(np.zeros((2, 3, 4, 4)), dims=("scene", "view", "y", "x"))
    assert IMAGES.can_handle(views) == 0.5
    assert IMAGES.can_handle(video.assign_attrs(units="K")) == 0.3
    assert IMAGES.can_handle(video.astype(np.int16)) == 0.2
    assert IMAGES.can_handle(np.zeros((3, 4, 4), np.uint8)) == 0.3


@pytest.mark.parametrize(
    "data",
    [
        xr.DataArray(np.zeros((2, 4, 4, 4)), dims=("shape", "x", "y", "z")),
        xr.DataArray(np.zeros((2, 4, 4)), dims=("time", "latitude", "longitude")),
        xr.DataArray(np.zeros((2, 4, 4)), dims=("time", "lat", "y")),
        xr.Dataset({"t": ("time", np.zeros(3))}),
        np.zeros((3, 4)),
        object(),
    ],
)
def test_other_data_scores_zero(data: object) -> None:
    assert IMAGES.can_handle(data) == 0.0


def test_fit_detects_images(grey_images: xr.Dataset) -> None:
    assert detect_modality(grey_images).name == "images"


# -- coordinates --------------------------------------------------------------------------------


def test_square_images_use_the_paper_grid() -> None:
    points = IMAGES.to_points(from_array(np.zeros((1, 28, 28), np.uint8)))
    axis = grid_axis(28)
    np.testing.assert_allclose(points.coords[:28, 1], axis, atol=1e-6)  # first row, along x
    np.testing.assert_allclose(points.coords[::28, 0], axis, atol=1e-6)  # first column, along y


def test_aspect_ratio_is_kept() -> None:
    points = IMAGES.to_points(from_array(np.zeros((1, 10, 20), np.uint8)))
    np.testing.assert_allclose(points.coords[:, 1].min(), -1.0)
    np.testing.assert_allclose(points.coords[:, 1].max(), 1.0)
    np.testing.assert_allclose(points.coords[:, 0].max(), 9 / 19, rtol=1e-6)
    steps_y = np.diff(np.unique(points.coords[:, 0]))
    steps_x = np.diff(np.unique(points.coords[:, 1]))
    np.testing.assert_allclose(steps_y, steps_x[0], rtol=1e-5)  # square pixels


def test_descending_coordinates_keep_row_order() -> None:
    ds = from_array(np.zeros((1, 3, 3), np.uint8)).assign_coords(y=[30.0, 20.0, 10.0])
    points = IMAGES.to_points(ds)
    assert points.coords[0, 0] == -1.0 and points.coords[-1, 0] == 1.0


def test_non_monotonic_coordinates_are_rejected() -> None:
    ds = from_array(np.zeros((1, 3, 3), np.uint8)).assign_coords(y=[0, 2, 1])
    with pytest.raises(ImageShapeError, match="sortby"):
        IMAGES.to_points(ds)


# -- round trips ----------------------------------------------------------------------------------


def _round_trip(data: xr.Dataset | xr.DataArray) -> xr.Dataset:
    return IMAGES.from_points(IMAGES.to_points(data))


def test_grey_round_trip_is_identical(grey_images: xr.Dataset) -> None:
    ds = grey_images.assign_attrs(title="shapes")
    ds["pixels"].attrs.update(long_name="intensity")
    assert _round_trip(ds).identical(ds)


def test_rgb_round_trip_and_channel_names(rgb_images: xr.Dataset) -> None:
    points = IMAGES.to_points(rgb_images)
    assert points.channels == ("pixels_r", "pixels_g", "pixels_b")
    assert _round_trip(rgb_images).identical(rgb_images)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, bool])
def test_other_pixel_types_round_trip(dtype: type) -> None:
    values = np.random.default_rng(0).random((3, 5, 6)) > 0.5
    ds = from_array(values.astype(dtype))
    out = _round_trip(ds)
    assert out["pixels"].dtype == np.dtype(dtype)
    assert out.identical(ds)


def test_unusual_dims_order_and_no_channel_dim() -> None:
    da = xr.DataArray(
        shapes_images(4, 6).transpose(1, 2, 0),
        dims=("y", "x", "frame"),
        coords={"frame": [10, 20, 30, 40], "x": np.linspace(0.0, 1.0, 6)},
        name="movie",
        attrs={"long_name": "frames"},
    )
    out = _round_trip(da)
    assert out["movie"].dims == ("y", "x", "frame")
    assert out.identical(da.to_dataset())


def test_unnamed_dataarray_becomes_pixels() -> None:
    da = xr.DataArray(shapes_images(2, 5), dims=("image", "y", "x"))
    assert list(_round_trip(da).data_vars) == ["pixels"]


def test_dataarray_named_like_its_sample_dim() -> None:
    da = xr.DataArray(shapes_images(2, 5), dims=("image", "y", "x"), name="image")
    assert IMAGES.can_handle(da) == 0.95
    assert list(_round_trip(da).data_vars) == ["pixels"]


def test_units_reach_the_point_set() -> None:
    da = xr.DataArray(np.zeros((2, 3, 3), np.float32), dims=("image", "y", "x"), name="t")
    points = IMAGES.to_points(da.assign_attrs(units="K"))
    assert points.units == ("K",)


def test_plugin_registers_modality_and_coordinates() -> None:
    import vamoh

    assert isinstance(vamoh.plugins.modalities()["images"], ImageModality)
    assert "pixel_grid" in vamoh.plugins.coordinate_systems()
    assert IMAGES.coordinate_system.to_dict()["name"] == "pixel_grid"


def test_several_sample_dims() -> None:
    values = np.arange(2 * 3 * 4 * 5, dtype=np.uint8).reshape(2, 3, 4, 5)
    da = xr.DataArray(values, dims=("scene", "view", "y", "x"), name="pixels")
    points = IMAGES.to_points(da)
    assert points.n_samples == 6
    assert _round_trip(da).identical(da.to_dataset())
    assert IMAGES.to_points(da, sample_dim=["scene", "view"]).n_samples == 6
    with pytest.raises(ImageShapeError, match="sample dims"):
        IMAGES.to_points(da, sample_dim="scene")


def test_two_image_variables_and_a_flat_one(grey_images: xr.Dataset) -> None:
    ds = grey_images.assign(mask=grey_images["pixels"] > 100, count=("image", np.arange(8)))
    ds["mask"] = ds["mask"].astype(np.uint8)
    points = IMAGES.to_points(ds)
    assert points.channels == ("pixels", "mask")
    out = IMAGES.from_points(points)
    assert out.identical(ds.drop_vars("count"))
    assert IMAGES.to_points(ds, variables=["mask"]).channels == ("mask",)


def test_variable_errors(grey_images: xr.Dataset) -> None:
    ds = grey_images.assign(extra=grey_images["pixels"].astype(np.float32))
    with pytest.raises(UnsupportedDtypeError, match="mix pixel types"):
        IMAGES.to_points(ds)
    with pytest.raises(ImageShapeError, match="not found"):
        IMAGES.to_points(ds, variables=["nope"])
    with pytest.raises(ImageShapeError, match="lack 'y' and 'x'"):
        IMAGES.to_points(ds.assign(flat=("image", np.zeros(8))), variables=["flat"])
    with pytest.raises(ImageShapeError, match="rename"):
        IMAGES.to_points(xr.Dataset({"a": (("r", "c"), np.zeros((2, 2)))}))
    with pytest.raises(ImageShapeError, match="from_array"):
        IMAGES.to_points("pictures.png")


def test_rgb_channels_select_their_variable(rgb_images: xr.Dataset) -> None:
    points = IMAGES.to_points(rgb_images, variables=["pixels_r", "pixels_g", "pixels_b"])
    assert points.channels == ("pixels_r", "pixels_g", "pixels_b")


def test_dask_stays_lazy_until_from_points(grey_images: xr.Dataset) -> None:
    points = IMAGES.to_points(grey_images.chunk({"image": 3}))
    assert hasattr(points.values, "dask")
    assert IMAGES.from_points(points).identical(grey_images)


# -- engine outputs -------------------------------------------------------------------------------


def _outputs(points: PointSet, channels: tuple[str, ...], values: np.ndarray) -> PointSet:
    return PointSet(points.coords, values, channels, (None,) * len(channels), layout=points.layout)


def test_mean_std_and_segmentation_channels(grey_images: xr.Dataset) -> None:
    points = IMAGES.to_points(grey_images)
    mean = points.samples(slice(None)) + 0.3
    values = np.concatenate([mean, np.full_like(mean, 2.0), mean * 0, mean * 0 + 0.5], axis=-1)
    out = IMAGES.from_points(
        _outputs(points, ("pixels", "pixels_std", "component", "entropy"), values)
    )
    assert out["pixels"].dtype == np.uint8  # rounded back: 0.3 off is the same intensity
    np.testing.assert_array_equal(out["pixels"], grey_images["pixels"])
    assert out["pixels_std"].dtype == np.float32
    assert out["pixels_std"].dims == grey_images["pixels"].dims
    assert out["pixels_std"].attrs["long_name"] == "standard deviation of pixels"
    assert "pixel_dtype" not in out["pixels_std"].attrs
    assert out["component"].dims == ("image", "y", "x")
    assert out["component"].attrs == {} and "label" in out.coords


def test_rgb_std_keeps_the_channel_dim(rgb_images: xr.Dataset) -> None:
    points = IMAGES.to_points(rgb_images)
    values = points.samples(slice(None))
    names = (*points.channels, *(f"{c}_std" for c in points.channels))
    out = IMAGES.from_points(_outputs(points, names, np.concatenate([values, values], axis=-1)))
    assert out["pixels_std"].dims == ("image", "y", "x", "channel")
    assert out["pixels_std"]["channel"].values.tolist() == ["r", "g", "b"]


def test_float_means_when_asked_or_when_nan(grey_images: xr.Dataset) -> None:
    points = IMAGES.to_points(grey_images)
    values = points.samples(slice(None)) + 0.3
    kept = ImageModality(round_uint8=False).from_points(points.with_values(values))
    assert kept["pixels"].dtype == np.float32
    values[0, 0, 0] = np.nan
    assert IMAGES.from_points(points.with_values(values))["pixels"].dtype == np.float32


def test_new_sample_dim_for_unconditional_samples(grey_images: xr.Dataset) -> None:
    points = IMAGES.to_points(grey_images)
    draws = np.zeros((3, points.n_points, 1), np.float32)
    out = IMAGES.from_points(points.with_values(draws))
    assert out["pixels"].dims == ("sample", "y", "x", "channel")
    assert out["sample"].values.tolist() == [0, 1, 2]
    assert "label" not in out.coords  # labels belonged to the input's images


def test_foreign_points_are_rejected(grey_images: xr.Dataset) -> None:
    points = IMAGES.to_points(grey_images)
    with pytest.raises(ValueError, match="to_points"):
        IMAGES.from_points(PointSet(points.coords, points.values, ("pixels",), (None,)))


# -- likelihoods, state, config -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "likelihood", "normalisation"),
    [
        (np.uint8, "discretised_logistic", "uint8"),
        (np.float32, "continuous_bernoulli", "minmax"),
        (bool, "bernoulli", "none"),
    ],
)
def test_likelihood_follows_the_pixel_type(
    dtype: type, likelihood: str, normalisation: str
) -> None:
    points = IMAGES.to_points(from_array(np.zeros((2, 8, 8), dtype)))
    state = IMAGES.state(points)
    assert state["likelihood"] == likelihood
    bound = IMAGES.with_state(state)
    assert (bound.likelihood, bound.normalisation) == (likelihood, normalisation)
    assert IMAGES.default_config(points)["likelihood"] == likelihood
    assert ImageModality.normalisation == "uint8"  # binding never changes the shared default


def test_masked_float_copies_of_8bit_images_stay_8bit(grey_images: xr.Dataset) -> None:
    from vamoh_images.masks import apply_mask, centre_patch_mask

    hidden = apply_mask(grey_images, centre_patch_mask(grey_images, 0.25))
    points = IMAGES.to_points(hidden)
    assert points.meta["normalisation"] == "uint8"
    filled = np.nan_to_num(points.samples(slice(None)), nan=7.0)
    out = IMAGES.from_points(points.with_values(filled))
    assert out["pixels"].dtype == np.uint8


def test_float_normalisation_option() -> None:
    with pytest.raises(ValueError, match="float_normalisation"):
        ImageModality(float_normalisation="standard")
    points = ImageModality(float_normalisation="none").to_points(from_array(np.zeros((1, 4, 4))))
    assert points.meta["normalisation"] == "none"


@pytest.mark.parametrize("size", [(6, 5), (16, 16), (28, 28), (64, 64), (96, 80), (256, 256)])
@pytest.mark.parametrize("gpu", [False, True])
def test_default_config_fits_the_image(size: tuple[int, int], gpu: bool) -> None:
    from vamoh_images.presets import CONDITIONING, image_config

    cfg = image_config(*size, gpu=gpu)
    config = VaMoHConfig().replace(**cfg).validate()
    n_points = config.points_per_sample or size[0] * size[1]
    assert max(config.encoder_centroids) <= n_points
    assert config.encoder_centroids == sorted(config.encoder_centroids, reverse=True)
    assert config.encoder_neighbours[0] <= n_points
    assert n_points * (1 - config.point_dropout) >= config.encoder_centroids[0]
    if not gpu:
        assert config.flow_layers <= 10 and max(config.encoder_channels) <= 128
    assert config.conditioning == CONDITIONING == "local"
    # on a CPU the local path scores an unbiased subset of target pixels per step
    expected = 1024 if not gpu and n_points > 1024 else None
    assert config.likelihood_points == expected
    if size == (256, 256):
        assert config.points_per_sample == 16384 and config.dim_z == 64


def test_presets_follow_table_3_for_paper_sizes() -> None:
    from vamoh_images.presets import image_config

    assert image_config(28, 28, gpu=True)["encoder_centroids"] == [196, 49, 25]
    assert image_config(64, 64, gpu=True)["encoder_centroids"] == [1024, 256, 64]
    assert image_config(128, 128, gpu=True)["encoder_pool_centroids"] == [1024, 256, 64, 16, None]


# -- refine and interpolate -------------------------------------------------------------------------


def test_refine_by_factor_keeps_the_box(grey_images: xr.Dataset) -> None:
    fine = IMAGES.refine(grey_images, factor=2)
    assert dict(fine["pixels"].sizes) == {"image": 8, "y": 32, "x": 32, "channel": 1}
    assert fine["pixels"].attrs["pixel_dtype"] == "uint8"
    assert np.isnan(fine["pixels"]).all()
    assert fine["label"].values.tolist() == grey_images["label"].values.tolist()
    coarse_pts, fine_pts = IMAGES.to_points(grey_images), IMAGES.to_points(fine)
    assert fine_pts.n_points == 4 * coarse_pts.n_points
    np.testing.assert_allclose(fine_pts.coords.min(0), coarse_pts.coords.min(0))
    np.testing.assert_allclose(fine_pts.coords.max(0), coarse_pts.coords.max(0))


def test_refine_to_any_size_and_aspect(grey_images: xr.Dataset) -> None:
    fine = IMAGES.refine(grey_images, to=(40, 24))
    assert (fine.sizes["y"], fine.sizes["x"]) == (40, 24)
    points = IMAGES.to_points(fine)
    np.testing.assert_allclose(points.coords.min(0), [-1, -1], atol=1e-6)
    np.testing.assert_allclose(points.coords.max(0), [1, 1], atol=1e-6)
    assert IMAGES.refine(grey_images, to=20).sizes["x"] == 20
    assert IMAGES.refine(grey_images, factor=(2, 3)).sizes["x"] == 48
    assert IMAGES.refine(grey_images, to=fine) is fine
    as_array = IMAGES.refine(grey_images["pixels"], factor=2)
    assert isinstance(as_array, xr.DataArray)
    with pytest.raises(ValueError, match="exactly one"):
        IMAGES.refine(grey_images)
    with pytest.raises(ValueError, match="positive"):
        IMAGES.refine(grey_images, to=(0, 4))


def test_interpolate_is_exact_on_smooth_images_and_handles_gaps() -> None:
    yy, xx = np.meshgrid(np.arange(8.0), np.arange(8.0), indexing="ij")
    ds = from_array(np.stack([yy + 2 * xx, yy * xx]).astype(np.float64))
    points = IMAGES.to_points(ds)
    fine = IMAGES.to_points(IMAGES.refine(ds, factor=2))
    result = IMAGES.interpolate(points, points.samples(slice(None)), fine.coords)
    y_fine, x_fine = (fine.coords[:, 0] + 1) * 3.5, (fine.coords[:, 1] + 1) * 3.5
    np.testing.assert_allclose(result[0, :, 0], y_fine + 2 * x_fine, atol=1e-4)
    np.testing.assert_allclose(result[1, :, 0], y_fine * x_fine, atol=1e-4)
    gappy = points.samples(slice(None)).astype(np.float64)
    gappy[0, ::3] = np.nan
    mixed = IMAGES.interpolate(points, gappy, points.coords)
    seen = np.isfinite(gappy)
    np.testing.assert_allclose(mixed[seen], gappy[seen], atol=1e-9)
    assert np.isfinite(mixed).all()


# -- the conformance suite ---------------------------------------------------------------------


def test_conformance_on_the_example(rgb_images: xr.Dataset) -> None:
    passed = check_modality(IMAGES, fit=False)
    assert {"round trip", "derived channels", "refine", "dask stays lazy"} <= set(passed)
    assert "round trip" in check_modality(IMAGES, rgb_images, fit=False)
