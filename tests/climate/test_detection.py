"""Finding lat/lon, variables and sample dims in the shapes real climate data come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from vamoh_climate import ClimateModality
from vamoh_climate.errors import (
    ClimateDataError,
    GridError,
    MissingLatLonError,
    SampleDimError,
    UnitsError,
    UnnamedDataError,
    VariableError,
)
from vamoh_climate.grid import find_lat_lon

MODALITY = ClimateModality()


def _era5_cds() -> xr.Dataset:
    """ERA5 as the CDS ships it: t2m, latitude descending, longitude -180..180."""
    lat = np.arange(58.0, 49.9, -1.0)
    lon = np.arange(-10.0, 2.1, 1.0)
    values = 280.0 + np.random.default_rng(0).normal(size=(3, lat.size, lon.size))
    return xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), values, {"units": "K"})},
        coords={
            "time": pd.date_range("2019-03-01", periods=3, freq="h"),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
    )


def _arco() -> xr.Dataset:
    """ARCO-ERA5: 2m_temperature on 0..360 longitudes, no attrs on the coordinates."""
    lat = np.linspace(90, -90, 7)
    lon = np.arange(0.0, 360.0, 45.0)
    values = np.random.default_rng(1).normal(280, 5, (2, lat.size, lon.size))
    return xr.Dataset(
        {"2m_temperature": (("time", "latitude", "longitude"), values, {"units": "K"})},
        coords={"time": [0, 1], "latitude": lat, "longitude": lon},
    )


def _ncep() -> xr.Dataset:
    """NCEP: air(time, lat, lon) in degK with CF axis attrs."""
    lat = np.arange(75.0, 14.0, -2.5, dtype=np.float32)
    lon = np.arange(200.0, 331.0, 2.5, dtype=np.float32)
    values = np.random.default_rng(2).normal(280, 5, (2, lat.size, lon.size))
    return xr.Dataset(
        {"air": (("time", "lat", "lon"), values, {"units": "degK"})},
        coords={
            "lat": ("lat", lat, {"axis": "Y", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"axis": "X", "standard_name": "longitude"}),
        },
    )


@pytest.mark.parametrize(
    ("make", "variable", "cf"),
    [(_era5_cds, "t2m", True), (_arco, "2m_temperature", False), (_ncep, "air", True)],
)
def test_common_datasets_are_recognised(make, variable: str, cf: bool) -> None:
    ds = make()
    assert MODALITY.can_handle(ds) == (0.9 if cf else 0.8)
    points = MODALITY.to_points(ds)
    assert points.channels == (variable,)
    assert points.n_samples == ds.sizes["time"]
    xr.testing.assert_identical(MODALITY.from_points(points), ds)


def test_cf_metadata_beats_names() -> None:
    ds = xr.Dataset(
        coords={
            "y": ("y", [1.0, 0.0], {"units": "degrees_north"}),
            "x": ("x", [0.0, 1.0], {"axis": "X", "units": "degrees"}),
            "lat": ("other", [5.0, 6.0]),
        }
    )
    assert find_lat_lon(ds) == ("y", "x", True)


def test_unrelated_data_score_zero() -> None:
    image = xr.DataArray(np.zeros((2, 4, 4)), dims=("image", "y", "x"), name="pixels")
    assert MODALITY.can_handle(image) == 0.0
    assert MODALITY.can_handle(np.zeros((3, 4))) == 0.0


@pytest.mark.parametrize("order", [("lon", "time", "lat"), ("lat", "lon", "time")])
def test_any_dims_order(order: tuple[str, ...]) -> None:
    ds = _ncep().transpose(*order)
    points = MODALITY.to_points(ds)
    reference = MODALITY.to_points(_ncep())
    np.testing.assert_array_equal(points.values, reference.values)
    back = MODALITY.from_points(points)
    assert back["air"].dims == order
    xr.testing.assert_identical(back, ds)


def test_several_sample_dims_are_stacked() -> None:
    ds = _era5_cds().expand_dims(member=[0, 1, 2]).transpose("time", "latitude", "member", ...)
    points = MODALITY.to_points(ds)
    assert points.n_samples == 9
    xr.testing.assert_identical(MODALITY.from_points(points), ds)
    only_member = MODALITY.to_points(ds.isel(time=0), sample_dim="member")
    assert only_member.n_samples == 3


def test_no_sample_dim_is_one_sample() -> None:
    ds = _era5_cds().isel(time=0)
    points = MODALITY.to_points(ds)
    assert points.n_samples == 1
    xr.testing.assert_identical(MODALITY.from_points(points), ds)


def test_several_variables_become_channels() -> None:
    ds = _era5_cds()
    ds["d2m"] = (ds["t2m"] - 3.0).assign_attrs(units="degC", long_name="dew point")
    ds["mask"] = ds["t2m"].isel(time=0) > 280  # numeric, on the grid, but without time
    with pytest.raises(VariableError, match="do not share their dims"):
        MODALITY.to_points(ds)
    points = MODALITY.to_points(ds, variables=["t2m", "d2m"])
    assert points.channels == ("t2m", "d2m")
    assert points.units == ("K", "degC")
    back = MODALITY.from_points(points)
    xr.testing.assert_identical(back, ds[["t2m", "d2m"]])


def test_pint_quantified_input_is_accepted() -> None:
    import pint_xarray  # noqa: F401

    from vamoh_climate.units import unit_registry

    ds = _era5_cds().pint.quantify(unit_registry=unit_registry)
    points = MODALITY.to_points(ds)
    assert points.units == ("kelvin",)


# -- validation errors -----------------------------------------------------------------------


def test_missing_latlon_lists_what_was_found() -> None:
    ds = xr.Dataset({"t": (("time", "y", "x"), np.zeros((1, 2, 2)))}, coords={"y": [0, 1]})
    with pytest.raises(
        MissingLatLonError, match=r"dims \('time', 'y', 'x'\).*coordinates \('y',\)"
    ):
        MODALITY.to_points(ds)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ([3.0, 1.0, 2.0], [0.0, 1.0], "not monotonic"),
        ([3.0, 3.0, 2.0], [0.0, 1.0], "duplicated"),
        ([1.0, 2.0, 3.0], [0.0, 10.0, 5.0], "not monotonic"),
        ([1.0, 2.0, 3.0], [0.0, 180.0, 360.0], "same meridian"),
        ([100.0, 3.0, 2.0], [0.0, 1.0], "outside"),
        ([np.nan, 2.0, 3.0], [0.0, 1.0], "NaN"),
    ],
)
def test_bad_grids(lat: list[float], lon: list[float], message: str) -> None:
    ds = xr.Dataset(
        {"t": (("lat", "lon"), np.zeros((len(lat), len(lon))))}, coords={"lat": lat, "lon": lon}
    )
    with pytest.raises(GridError, match=message):
        MODALITY.to_points(ds)


def test_longitudes_across_the_seam_are_a_valid_grid() -> None:
    ds = xr.Dataset(
        {"t": (("lat", "lon"), np.zeros((2, 4)))},
        coords={"lat": [1.0, 0.0], "lon": [350.0, 355.0, 0.0, 5.0]},
    )
    assert MODALITY.to_points(ds).n_points == 8


def test_latlon_on_unrelated_dims_is_an_error() -> None:
    ds = xr.Dataset(
        {"t": (("y", "x"), np.zeros((2, 3)))},
        coords={"lat": ("y", [0.0, 1.0]), "lon": (("y", "x"), np.zeros((2, 3)))},
    )
    with pytest.raises(GridError, match="neither a grid"):
        MODALITY.to_points(ds)


def test_unknown_units() -> None:
    ds = _era5_cds()
    ds["t2m"].attrs["units"] = "Kelvinz"
    with pytest.raises(UnitsError, match=r"'Kelvinz'.*attrs\['units'\]"):
        MODALITY.to_points(ds)


@pytest.mark.parametrize("units", ["K", "degC", "degF", "degK", "celsius", "degrees_Celsius"])
def test_temperature_units_are_recognised(units: str) -> None:
    ds = _era5_cds()
    ds["t2m"].attrs["units"] = units
    assert MODALITY.to_points(ds).units == (units,)


def test_sample_dim_errors() -> None:
    ds = _era5_cds().expand_dims(member=[0, 1])
    with pytest.raises(SampleDimError, match="'step' is not a dimension"):
        MODALITY.to_points(ds, sample_dim="step")
    with pytest.raises(SampleDimError, match="spatial"):
        MODALITY.to_points(ds, sample_dim="latitude")
    with pytest.raises(SampleDimError, match=r"\['member'\] are neither spatial"):
        MODALITY.to_points(ds, sample_dim="time")
    assert MODALITY.to_points(ds, sample_dim=["time", "member"]).n_samples == 6


def test_variable_errors() -> None:
    ds = _era5_cds()
    with pytest.raises(VariableError, match=r"\['sst'\] not found.*\['t2m'\]"):
        MODALITY.to_points(ds, variables=["sst"])
    ds["label"] = ("time", ["a", "b", "c"])
    with pytest.raises(VariableError, match="lack the spatial dims"):
        MODALITY.to_points(ds, variables=["label"])
    with pytest.raises(VariableError, match="no numeric data variable"):
        MODALITY.to_points(xr.Dataset(coords=ds.coords))


def test_unnamed_dataarray() -> None:
    with pytest.raises(UnnamedDataError, match="rename"):
        MODALITY.to_points(_era5_cds()["t2m"].rename(None))


def test_every_error_is_a_value_error() -> None:
    for error in ClimateModality.errors:
        assert issubclass(error, ClimateDataError)
        assert issubclass(error, ValueError)
