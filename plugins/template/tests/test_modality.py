"""SensorModality: conversion, training span, templates, interpolation and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from vamoh_sensors import SensorDataError, SensorModality, TimeSpan, synthetic_records


@pytest.fixture
def records() -> xr.Dataset:
    return synthetic_records(n_series=3, n_times=24, seed=1)


def test_points_are_times_on_the_unit_interval(records: xr.Dataset) -> None:
    points = SensorModality().to_points(records)
    assert points.coords.shape == (24, 1)
    assert points.coords.min() == -1.0 and points.coords.max() == 1.0
    assert points.values.shape == (3, 24, 2)
    assert points.channels == ("temperature", "humidity") and points.units == ("degC", "%")
    # irregular sampling: model coordinates keep the uneven spacing
    assert np.unique(np.round(np.diff(points.coords[:, 0]), 6)).size > 1


def test_user_dims_order_survives(records: xr.Dataset) -> None:
    flipped = records.transpose("time", "sensor")
    out = SensorModality().from_points(SensorModality().to_points(flipped))
    assert out["temperature"].dims == ("time", "sensor")
    xr.testing.assert_identical(out, flipped)


def test_variables_and_sample_dim_arguments(records: xr.Dataset) -> None:
    points = SensorModality().to_points(records, variables=["humidity"], sample_dim=["sensor"])
    assert points.channels == ("humidity",)
    with pytest.raises(SensorDataError, match="not in the data"):
        SensorModality().to_points(records, variables=["pressure"])
    with pytest.raises(SensorDataError, match="one series dimension"):
        SensorModality().to_points(records, sample_dim=["sensor", "site"])
    with pytest.raises(SensorDataError, match="not a dimension"):
        SensorModality().to_points(records, sample_dim="site")


def test_numeric_and_timedelta_time_axes() -> None:
    values = np.arange(8.0).reshape(2, 4)
    times = [0.0, 0.5, 2.0, 3.0]
    numeric = xr.DataArray(values, dims=("probe", "t"), coords={"t": times}, name="v")
    coords = SensorModality().to_points(numeric).coords[:, 0]
    np.testing.assert_allclose(coords, [-1.0, -2 / 3, 1 / 3, 1.0], rtol=1e-6)
    elapsed = numeric.rename(t="elapsed").assign_coords(
        elapsed=np.array([0, 30, 120, 180], dtype="timedelta64[s]")
    )
    points = SensorModality().to_points(elapsed)
    assert points.coords[-1, 0] == 1.0
    assert SensorModality().state(points)["kind"] == "timedelta"


def test_state_binds_new_records_to_the_training_span(records: xr.Dataset) -> None:
    modality = SensorModality()
    state = modality.state(modality.to_points(records))
    assert state["kind"] == "datetime"
    bound = modality.with_state(state)
    assert isinstance(bound.span, TimeSpan) and bound.coordinate_system is not None
    later = records.assign_coords(time=records["time"] + np.timedelta64(30, "D"))
    assert bound.to_points(later).coords.min() > 1.0  # beyond the span: extrapolation
    numeric = records.assign_coords(time=np.arange(records.sizes["time"], dtype=float))
    with pytest.raises(SensorDataError, match="trained on datetime"):
        bound.to_points(numeric)
    with pytest.raises(SensorDataError, match="not a time span"):
        modality.with_state({"kind": "weekday"})
    assert modality.with_state({}).span is None


def test_std_and_foreign_channels_and_new_samples(records: xr.Dataset) -> None:
    modality = SensorModality()
    points = modality.to_points(records)
    values = points.samples(slice(None))
    mean_std = type(points)(
        coords=points.coords,
        values=np.concatenate([values[..., :1], values[..., :1], values[..., :1]], axis=-1),
        channels=("temperature", "temperature_std", "entropy"),
        units=("degC", "degC", None),
        layout=points.layout,
    )
    out = modality.from_points(mean_std)
    assert out["temperature_std"].attrs == {
        "units": "degC",
        "long_name": "standard deviation of air temperature",
    }
    assert out["entropy"].attrs == {}
    draws = modality.from_points(points.with_values(np.zeros((5, 24, 2))))
    assert draws["humidity"].dims == ("sample", "time")
    assert draws["sample"].values.tolist() == [0, 1, 2, 3, 4]
    assert "sensor" not in draws.coords and "mast_height" not in draws.coords


def test_from_points_rejects_foreign_points(records: xr.Dataset) -> None:
    modality = SensorModality()
    points = modality.to_points(records)
    with pytest.raises(SensorDataError, match="made by SensorModality"):
        modality.from_points(
            points.__class__(
                points.coords, points.values, points.channels, points.units, layout=None
            )
        )
    shorter = modality.to_points(records.isel(time=slice(0, 10)))
    wrong = type(points)(
        points.coords, points.values, points.channels, points.units, layout=shorter.layout
    )
    with pytest.raises(SensorDataError, match="time stamps"):
        modality.from_points(wrong)


def test_refine_by_factor_and_to_times(records: xr.Dataset) -> None:
    modality = SensorModality()
    template = modality.refine(records, factor=3)
    assert template.sizes["time"] == 3 * (records.sizes["time"] - 1) + 1
    assert bool(template["temperature"].isnull().all())
    assert template["temperature"].attrs == records["temperature"].attrs
    assert np.all(np.diff(template["time"].values) > np.timedelta64(0, "ns"))
    hourly = np.arange("2021-06-01T00", "2021-06-02T00", dtype="datetime64[h]").astype(
        "datetime64[ns]"
    )
    assert modality.refine(records["temperature"], to=hourly).sizes["time"] == 24
    with pytest.raises(SensorDataError, match="exactly one"):
        modality.refine(records)
    with pytest.raises(SensorDataError, match="positive integer"):
        modality.refine(records, factor=0)
    with pytest.raises(SensorDataError, match="same kind"):
        modality.refine(records, to=[0.0, 1.0])


def test_interpolate_is_linear_between_observations(records: xr.Dataset) -> None:
    modality = SensorModality()
    points = modality.to_points(records)
    observed = points.samples(slice(None)).astype(np.float64)
    query = np.linspace(-1, 1, 101, dtype=np.float32)[:, None]
    filled = modality.interpolate(points, observed, query)
    x = points.coords[:, 0]
    seen = np.isfinite(observed[1, :, 0])
    expected = np.interp(query[:, 0], x[seen], observed[1, seen, 0])
    np.testing.assert_allclose(filled[1, :, 0], expected)


def test_can_handle_scores() -> None:
    modality = SensorModality()
    series = synthetic_records(n_series=2, n_times=10)
    assert modality.can_handle(series) == 0.3
    stations = series.assign_coords(lat=("sensor", [50.0, 51.0]), lon=("sensor", [0.0, 1.0]))
    assert modality.can_handle(stations) == 0.1
    field = xr.DataArray(
        np.zeros((2, 3, 4)),
        dims=("time", "lat", "lon"),
        coords={"time": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]")},
    )
    assert modality.can_handle(field) == 0.0
    assert modality.can_handle(np.zeros(3)) == 0.0


def test_pint_quantities_become_units(records: xr.Dataset) -> None:
    pytest.importorskip("pint_xarray")
    quantified = records[["temperature"]].pint.quantify()
    points = SensorModality().to_points(quantified)
    assert points.units[0] is not None and "C" in points.units[0]
    first = records["temperature"].values[0]
    assert np.allclose(points.samples([0])[0, :, 0], first, equal_nan=True)


def test_default_config_is_small_and_valid(records: xr.Dataset) -> None:
    from vamoh.config import VaMoHConfig

    modality = SensorModality()
    config = VaMoHConfig().replace(**modality.default_config(modality.to_points(records)))
    config.validate()
    assert config.encoder_centroids[0] <= records.sizes["time"]
    assert config.likelihood == "gaussian"
