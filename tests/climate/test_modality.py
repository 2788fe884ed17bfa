"""ClimateModality: round trips, laziness, derived channels, refinement, interpolation, defaults."""

from __future__ import annotations

import json

import dask.array
import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh.config import VaMoHConfig
from vamoh.testing import check_modality
from vamoh_climate import ClimateModality
from vamoh_climate.baselines import block_mean
from vamoh_climate.errors import DomainError, GridError, LayoutError
from vamoh_climate.sphere import wrap_longitude
from vamoh_climate.synthetic import global_field

MODALITY = ClimateModality()


def test_registered_and_detected(field: xr.Dataset) -> None:
    assert isinstance(vamoh.plugins.modalities()["climate"], ClimateModality)
    from vamoh.detection import detect_modality

    assert detect_modality(field).name == "climate"
    assert MODALITY.likelihood == "gaussian" and MODALITY.normalisation == "standard"
    assert MODALITY.coordinate_system.name == "sphere"


def test_conformance_suite() -> None:
    passed = check_modality(ClimateModality(), fit=False)
    assert {"round trip", "derived channels", "interpolate", "refine", "dask stays lazy"} <= set(
        passed
    )


def test_point_set_contents(field: xr.Dataset) -> None:
    points = MODALITY.to_points(field)
    assert points.values.shape == (4, 8 * 16, 1)
    assert points.units == ("K",)
    lat = np.repeat(field.latitude.values, 16)
    np.testing.assert_allclose(points.weights, np.cos(np.radians(lat)))
    # first point: the first (northernmost, descending) latitude at the first longitude
    expected = MODALITY.coordinate_system.latlon_to_xyz(
        field.latitude.values[:1], field.longitude.values[:1]
    )
    np.testing.assert_array_equal(points.coords[:1], expected)
    np.testing.assert_array_equal(points.values[:, :16, 0], field.t2m.values[:, 0, :])


def test_degc_in_degc_out(field: xr.Dataset) -> None:
    celsius = field.assign(t2m=(field.t2m - 273.15).assign_attrs(units="degC", long_name="t"))
    points = MODALITY.to_points(celsius)
    assert points.units == ("degC",)
    np.testing.assert_allclose(points.values[..., 0], celsius.t2m.values.reshape(4, -1))
    back = MODALITY.from_points(points)
    assert back.t2m.attrs == {"units": "degC", "long_name": "t"}
    xr.testing.assert_identical(back, celsius)


def test_longitude_conventions_share_model_coordinates(field: xr.Dataset) -> None:
    west = field.assign_coords(longitude=wrap_longitude(field.longitude.values))
    assert float(west.longitude.min()) < 0 < float(field.longitude.max()) - 180
    a, b = MODALITY.to_points(field), MODALITY.to_points(west)
    np.testing.assert_array_equal(a.coords, b.coords)
    # each comes back in its own convention
    np.testing.assert_array_equal(MODALITY.from_points(b).longitude, west.longitude)
    np.testing.assert_array_equal(MODALITY.from_points(a).longitude, field.longitude)


def test_lazy_input_stays_lazy(field: xr.Dataset, no_compute) -> None:
    lazy = field.chunk({"time": 2, "latitude": 4})
    with no_compute():
        points = MODALITY.to_points(lazy)
        assert isinstance(points.values, dask.array.Array)
        back = MODALITY.from_points(points)
        assert isinstance(back.t2m.data, dask.array.Array)
    xr.testing.assert_identical(back.compute(), field)


def test_lazy_integer_store_with_scale_factor(tmp_path, no_compute) -> None:
    """NCEP stores int16 with a scale_factor; xarray decodes it lazily to floats."""
    ds = global_field(3, 6, 12, name="air").rename(latitude="lat", longitude="lon")
    ds["air"].attrs["units"] = "degK"
    ds["air"].encoding = {"dtype": "int16", "scale_factor": 0.01, "_FillValue": -32767}
    path = tmp_path / "air.zarr"
    ds.to_zarr(path, zarr_format=2, consolidated=True)
    store = xr.open_zarr(path)
    with no_compute():
        points = MODALITY.to_points(store)
    values = np.asarray(points.values.compute())
    assert values.dtype.kind == "f"
    np.testing.assert_allclose(values[..., 0], ds.air.values.reshape(3, -1), atol=0.006)


def test_nan_gaps_are_kept(field: xr.Dataset) -> None:
    gappy = field.where(np.random.default_rng(0).random(field.t2m.shape) > 0.3)
    gappy = gappy.where(gappy.time != gappy.time[1])  # one sample entirely missing
    points = MODALITY.to_points(gappy)
    assert points.n_samples == 4
    assert np.isnan(points.values[1]).all()
    xr.testing.assert_identical(MODALITY.from_points(points), gappy)


def test_derived_channels_take_the_variable_attrs(field: xr.Dataset) -> None:
    points = MODALITY.to_points(field)
    values = np.asarray(points.values)
    extended = type(points)(
        coords=points.coords,
        values=np.concatenate([values, values * 0 + 1, values[..., :1]], -1),
        channels=("t2m", "t2m_std", "component"),
        units=("K", "K", None),
        layout=points.layout,
    )
    out = MODALITY.from_points(extended)
    assert out.t2m_std.attrs["units"] == "K"
    assert out.t2m_std.attrs["long_name"] == "standard deviation of 2 metre temperature"
    assert out.component.attrs == {}
    assert out.t2m_std.dims == out.component.dims == field.t2m.dims


def test_other_sample_counts_get_a_sample_dim(field: xr.Dataset) -> None:
    points = MODALITY.to_points(field.transpose("latitude", "time", "longitude"))
    draws = points.with_values(np.zeros((7, points.n_points, 1)))
    out = MODALITY.from_points(draws)
    assert out.t2m.dims == ("latitude", "sample", "longitude")
    assert out.sizes["sample"] == 7 and "time" not in out.coords


def test_foreign_points_are_refused(field: xr.Dataset) -> None:
    points = MODALITY.to_points(field)
    with pytest.raises(LayoutError, match="ClimateLayout"):
        MODALITY.from_points(points.__class__(points.coords, points.values, ("t2m",), ("K",)))


def test_state_is_the_training_domain(field: xr.Dataset) -> None:
    regional = field.isel(latitude=slice(1, 4), longitude=slice(2, 6))
    state = MODALITY.state(MODALITY.to_points(regional))
    json.dumps(state)
    bound = MODALITY.with_state(state)
    assert bound.domain is not None and bound.domain.lon_west is not None
    np.testing.assert_array_equal(
        bound.to_points(regional).coords, MODALITY.to_points(regional).coords
    )
    assert MODALITY.with_state({}).domain is None


# -- refinement ------------------------------------------------------------------------------


def test_refine_inverts_block_means_exactly() -> None:
    fine = global_field(2, 36, 48).isel(latitude=slice(2, 34))
    fine = fine.assign_coords(
        latitude=np.arange(58.0, 50.0, -0.25), longitude=np.arange(-10.0, 2.0, 0.25)
    )
    coarse = block_mean(fine, 2)
    assert coarse.sizes == {"time": 2, "latitude": 16, "longitude": 24}
    refined = MODALITY.refine(coarse, factor=2)
    np.testing.assert_array_equal(refined.latitude.values, fine.latitude.values)
    np.testing.assert_array_equal(refined.longitude.values, fine.longitude.values)
    assert refined.t2m.dims == fine.t2m.dims and refined.t2m.attrs == fine.t2m.attrs
    np.testing.assert_array_equal(refined.time, fine.time)
    # the placeholder values are the containing coarse cell's
    np.testing.assert_array_equal(refined.t2m.values[:, ::2, ::2], coarse.t2m.values)


def test_refine_on_the_real_era5_grid(shared_data) -> None:
    era5 = xr.open_dataset(shared_data / "climate" / "era5_t2m_2019-03_uk.nc")
    fine = era5.isel(time=slice(0, 3), latitude=slice(0, 32), longitude=slice(0, 48))
    refined = MODALITY.refine(block_mean(fine, 2), factor=2)
    np.testing.assert_array_equal(refined.latitude.values, fine.latitude.values)
    np.testing.assert_array_equal(refined.longitude.values, fine.longitude.values)
    assert refined.t2m.shape == fine.t2m.shape


def test_refine_global_grid_clips_poles_and_keeps_the_axis(field: xr.Dataset) -> None:
    pole_grid = field.assign_coords(latitude=np.linspace(90, -90, 8))
    refined = MODALITY.refine(pole_grid, factor=2)
    assert refined.latitude.max() < 90 and refined.latitude.min() > -90
    lon = refined.longitude.values
    assert lon.size == 32 and (np.diff(lon) > 0).all() and lon[0] == pytest.approx(-5.625)
    assert MODALITY.to_points(refined).n_points == 16 * 32


def test_refine_to_a_target_grid(field: xr.Dataset, no_compute) -> None:
    target = xr.Dataset(coords={"lat": np.linspace(40, 60, 5), "lon": np.linspace(-20, 20, 9)})
    lazy = field.chunk({"time": 2})
    with no_compute():
        template = MODALITY.refine(lazy, to=target)
    assert dict(template.t2m.sizes) == {"time": 4, "lat": 5, "lon": 9}
    np.testing.assert_array_equal(template.lon, target.lon)
    points = MODALITY.to_points(template)
    assert points.n_samples == 4 and points.n_points == 45
    mapping = MODALITY.refine(field, to={"lat": [10.0, 20.0], "lon": [350.0]})
    assert mapping.t2m.shape == (4, 2, 1)


def test_refine_errors(field: xr.Dataset, station_data: xr.Dataset) -> None:
    regional = field.isel(latitude=slice(2, 5), longitude=slice(3, 7))
    outside = xr.Dataset(coords={"lat": [0.0, 80.0], "lon": [0.0]})
    with pytest.raises(DomainError, match="outside the input's domain"):
        MODALITY.refine(regional, to=outside)
    with pytest.raises(GridError, match="stations"):
        MODALITY.refine(station_data, factor=2)
    with pytest.raises(ValueError, match="exactly one"):
        MODALITY.refine(field)
    with pytest.raises(ValueError, match="positive integer"):
        MODALITY.refine(field, factor=1.5)
    bound = MODALITY.with_state(MODALITY.state(MODALITY.to_points(regional)))
    with pytest.raises(DomainError, match="training domain"):
        bound.refine(field, factor=2)
    assert bound.refine(regional, factor=2).sizes["latitude"] == 6


# -- interpolation ---------------------------------------------------------------------------


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((a - b) ** 2)))


def test_cubic_interpolation_beats_idw_on_smooth_fields() -> None:
    fine = global_field(3, 32, 64, seed=3)
    coarse = fine.isel(latitude=slice(None, None, 2), longitude=slice(None, None, 2))
    points = MODALITY.to_points(coarse)
    observed = np.asarray(points.values, dtype=np.float64)
    query = MODALITY.to_points(fine)
    truth = np.asarray(query.values, dtype=np.float64)
    cubic = MODALITY.interpolate(points, observed, query.coords)
    idw = vamoh.Modality.interpolate(MODALITY, points, observed, query.coords)
    assert cubic.shape == truth.shape
    inside = slice(0, 31 * 64)  # the last fine row lies beyond the coarse grid: extrapolated
    assert _rmse(cubic[:, inside], truth[:, inside]) < 0.1  # the fields' noise is 0.05
    assert _rmse(cubic[:, inside], truth[:, inside]) < 0.4 * _rmse(idw[:, inside], truth[:, inside])


def test_interpolation_fills_gaps_and_wraps_round_the_globe(field: xr.Dataset) -> None:
    points = MODALITY.to_points(field)
    values = np.asarray(points.values, dtype=np.float64)
    observed = values.copy()
    observed[:, ::3] = np.nan
    observed[2] = np.nan  # a sample without observations stays NaN
    result = MODALITY.interpolate(points, observed, points.coords)
    seen = np.isfinite(observed)
    np.testing.assert_allclose(result[seen], observed[seen], rtol=1e-6)
    assert np.isnan(result[2]).all() and np.isfinite(result[[0, 1, 3]]).all()
    assert _rmse(result[[0, 1, 3]], values[[0, 1, 3]]) < 0.5
    seam = MODALITY.coordinate_system.latlon_to_xyz([0.0], [359.0])
    near = MODALITY.interpolate(points, values, seam)[:, 0, 0]
    edges = field.t2m.sel(latitude=[field.latitude.values[3]]).isel(longitude=[0, -1])
    assert np.all(near >= edges.min(("latitude", "longitude")).values - 1.0)


def test_station_interpolation_uses_the_default(station_data: xr.Dataset) -> None:
    points = MODALITY.to_points(station_data)
    values = np.asarray(points.values, dtype=np.float64)
    result = MODALITY.interpolate(points, values, points.coords[:2])
    assert result.shape == (points.n_samples, 2, 1)


# -- defaults --------------------------------------------------------------------------------


def test_default_config_small_grid() -> None:
    ds = xr.Dataset(
        {"t": (("lat", "lon"), np.zeros((32, 48)))},
        coords={"lat": np.linspace(58, 50, 32), "lon": np.linspace(-10, 2, 48)},
    )
    cfg = MODALITY.default_config(MODALITY.to_points(ds))
    assert cfg["encoder_centroids"] == [512, 128, 32]
    assert cfg["encoder_neighbours"] == [9, 9, 9]
    assert cfg["encoder_channels"] == [32, 64, 128]
    assert cfg["hypernet_layers"] == [64, 128] and cfg["generator_layers"] == [64, 64]
    assert cfg["dim_z"] == 32 and cfg["n_components"] == 3 and cfg["flow_layers"] == 4
    assert cfg["lr"] == 1e-3 and cfg["batch_size"] == 16 and cfg["point_dropout"] == 0.5
    VaMoHConfig().replace(**cfg).validate()


def test_default_config_paper_grid_and_tiny_data(station_data: xr.Dataset) -> None:
    ds = xr.Dataset(
        {"t": (("lat", "lon"), np.zeros((46, 90)))},
        coords={"lat": np.linspace(90, -90, 46), "lon": np.linspace(0, 356, 90)},
    )
    cfg = MODALITY.default_config(MODALITY.to_points(ds))
    era5 = VaMoHConfig.preset("era5")
    assert cfg["encoder_centroids"] == era5.encoder_centroids
    assert cfg["hypernet_layers"] == era5.hypernet_layers and "likelihood" not in cfg
    tiny = MODALITY.default_config(MODALITY.to_points(station_data))
    assert tiny["encoder_centroids"][0] <= 6
    VaMoHConfig().replace(**tiny).validate()


def test_interpolation_of_many_gap_patterns_is_fast() -> None:
    """The hybrid mode calls interpolate on every batch, each sample with its own gaps."""
    import time

    points = MODALITY.to_points(global_field(64, 32, 48))
    values = np.asarray(points.values, dtype=np.float64)
    rng = np.random.default_rng(0)
    observed = np.where(rng.random(values.shape[:2])[..., None] < 0.4, np.nan, values)
    start = time.perf_counter()
    result = MODALITY.interpolate(points, observed, points.coords)
    assert time.perf_counter() - start < 3.0  # ~0.2 s; per-sample triangulations took ~60 s
    hidden = np.isnan(observed)
    assert _rmse(result[hidden], values[hidden]) < 0.2
