"""The synthetic mountain station network: its structure and the physics it is built on."""

from __future__ import annotations

import numpy as np
import pytest

from vamoh_climate import ClimateModality
from vamoh_climate.synthetic import NETWORK_BOX, station_network


def test_layout_metadata_and_missing_records() -> None:
    ds = station_network(120, 48, missing=0.6, seed=1)
    assert ds["tmax"].dims == ("station", "time") and ds["tmax"].shape == (120, 48)
    assert ds["tmax"].attrs["units"] == "degC" and ds["elev"].attrs["units"] == "m"
    assert ds["time"].dt.day.values.tolist() == [1] * 48  # month starts
    assert abs(float(ds["tmax"].isnull().mean()) - 0.6) < 0.03
    south, north, west, east = NETWORK_BOX
    assert ds.lat.min() >= south and ds.lat.max() <= north
    assert ds.lon.min() >= west and ds.lon.max() <= east
    assert 50.0 <= float(ds.elev.min()) and float(ds.elev.max()) > 1500.0
    assert ClimateModality().to_points(ds).n_points == 120  # passes the station checks


def test_values_do_not_depend_on_the_missing_fraction() -> None:
    gappy = station_network(30, 24, missing=0.5, seed=2)
    truth = station_network(30, 24, missing=0.0, seed=2)
    assert not bool(truth["tmax"].isnull().any())
    seen = gappy["tmax"].notnull()
    np.testing.assert_array_equal(gappy["tmax"].values[seen], truth["tmax"].values[seen])
    assert not station_network(30, 24, seed=3)["tmax"].equals(gappy["tmax"])


def test_temperature_falls_with_elevation_at_the_lapse_rate() -> None:
    ds = station_network(300, 24, missing=0.0, seed=4)
    elev_km = ds.elev.values / 1000.0
    design = np.stack([np.ones_like(elev_km), elev_km, ds.lat.values], axis=1)
    slopes = np.linalg.lstsq(design, ds["tmax"].values.astype(np.float64), rcond=None)[0][1]
    assert np.mean(slopes) == pytest.approx(-6.5, abs=0.5)
    july, january = slopes[6], slopes[0]
    assert july < january  # steeper in summer
    # a seasonal cycle of about +-10 degC
    mean = ds["tmax"].mean("station").values
    assert 15.0 < mean[6] - mean[0] < 25.0


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="missing must be a fraction"):
        station_network(10, 10, missing=1.0)
    with pytest.raises(ValueError, match="at least one station"):
        station_network(0, 10)
