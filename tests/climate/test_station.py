"""Station (location) data: lat/lon along a station dim, NaN gaps, several variables."""

from __future__ import annotations

import numpy as np
import xarray as xr

from vamoh_climate import ClimateModality
from vamoh_climate.baselines import fill_gaps_kriging

MODALITY = ClimateModality()


def test_synthetic_round_trip(station_data: xr.Dataset) -> None:
    points = MODALITY.to_points(station_data)
    assert points.layout.geometry.kind == "points"
    assert points.values.shape == (12, 6, 1)  # samples = days, points = stations
    assert points.units == ("degC",)
    assert np.isnan(points.values).any()
    expected = MODALITY.coordinate_system.latlon_to_xyz(station_data.lat, station_data.lon)
    np.testing.assert_array_equal(points.coords, expected)
    xr.testing.assert_identical(MODALITY.from_points(points), station_data)


def test_latlon_stored_as_data_variables(station_data: xr.Dataset) -> None:
    flat = station_data.reset_coords(["lat", "lon"])
    points = MODALITY.to_points(flat)
    assert points.channels == ("tas",)
    assert MODALITY.from_points(points).tas.dims == ("location", "time")


def test_real_canadian_cities(shared_data) -> None:
    path = shared_data / "stations" / "daily_surface_cancities_1990-1993.nc"
    ds = xr.open_dataset(path).load()
    assert MODALITY.can_handle(ds) == 0.9
    points = MODALITY.to_points(ds)
    assert points.n_points == 5 and points.n_samples == 1461 and points.n_channels == 24
    assert points.units[points.channels.index("tas")] == "K"
    xr.testing.assert_identical(MODALITY.from_points(points), ds)
    one = MODALITY.to_points(ds, variables=["tas", "tasmin", "tasmax"])
    back = MODALITY.from_points(one)
    assert list(back.data_vars) == ["tas", "tasmin", "tasmax"]
    xr.testing.assert_identical(back, ds[["tas", "tasmin", "tasmax"]])


def test_kriging_fills_station_gaps(station_data: xr.Dataset) -> None:
    few_days = station_data.isel(time=slice(0, 3))
    filled = fill_gaps_kriging(few_days)
    assert filled.tas.attrs == few_days.tas.attrs
    assert not bool(filled.tas.isnull().any())
    seen = few_days.tas.notnull()
    xr.testing.assert_equal(filled.tas.where(seen), few_days.tas.where(seen).astype(np.float64))


def test_a_model_of_five_real_stations_fills_their_gaps(shared_data, tmp_path) -> None:
    import vamoh

    path = shared_data / "stations" / "daily_surface_cancities_1990-1993.nc"
    ds = vamoh.open_dataset(path)[["tas"]].isel(time=slice(0, 365)).load()
    model = vamoh.fit(ds, max_epochs=1, progress=False, checkpoint_dir=tmp_path)
    assert model.config.centroid_method == "random"  # five stations: too few for exact FPS
    gappy = ds.isel(time=slice(0, 4)).copy(deep=True)
    gappy["tas"][1, :] = np.nan  # one station missing for the whole period
    filled = model.impute(gappy)
    assert filled.tas.dims == ds.tas.dims and filled.tas.attrs["units"] == "K"
    assert not bool(filled.tas.isnull().any())
    xr.testing.assert_equal(filled.tas.where(gappy.tas.notnull()), gappy.tas.astype(np.float64))
    assert list(model.info["report"]) == ["gap filling 50%"]
