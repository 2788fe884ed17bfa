"""Station input checks: refused before any training, each naming the problem, count and fix."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from vamoh_climate import ClimateModality
from vamoh_climate.errors import (
    DuplicateStationError,
    GridError,
    MissingLatLonError,
    MissingStationLocationError,
    StationLocationError,
)
from vamoh_climate.stations import station_dim

MODALITY = ClimateModality()


def _stations(
    ids: list[str], lat: list[float] | None = None, lon: list[float] | None = None
) -> xr.Dataset:
    n = len(ids)
    coords: dict = {"station": ids}
    if lat is not None and lon is not None:
        coords |= {"lat": ("station", lat), "lon": ("station", lon)}
    values = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    return xr.Dataset({"tmax": (("station", "time"), values, {"units": "degC"})}, coords=coords)


def test_station_data_without_lat_lon() -> None:
    ds = _stations(["a", "b", "c", "d"])
    with pytest.raises(MissingStationLocationError) as caught:
        MODALITY.to_points(ds)
    message = str(caught.value)
    assert "dim 'station' (4 stations)" in message and "assign_coords(lat=" in message
    assert isinstance(caught.value, MissingLatLonError)  # existing handlers still catch it


def test_data_without_a_station_dim_keep_the_generic_error() -> None:
    image = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"), name="pixels")
    with pytest.raises(MissingLatLonError) as caught:
        MODALITY.to_points(image)
    assert not isinstance(caught.value, MissingStationLocationError)


@pytest.mark.parametrize(
    ("lat", "lon", "count"),
    [
        ([45.0, np.nan, 46.0, 47.0, 48.0], [7.0] * 5, 1),
        ([45.0, 46.0, 47.0, 48.0, 49.0], [7.0, np.inf, 8.0, -np.inf, 9.0], 2),
    ],
)
def test_nan_or_infinite_locations(lat: list[float], lon: list[float], count: int) -> None:
    ds = _stations(list("abcde"), lat, lon)
    with pytest.raises(StationLocationError) as caught:
        MODALITY.to_points(ds)
    message = str(caught.value)
    assert f"{count} of 5 stations along 'station'" in message
    assert "ds.isel(station=np.isfinite" in message
    assert isinstance(caught.value, GridError)


def test_duplicated_station_ids() -> None:
    ds = _stations(["a", "b", "a", "c", "b", "a"], [45.0 + i for i in range(6)], [7.0] * 6)
    with pytest.raises(DuplicateStationError) as caught:
        MODALITY.to_points(ds)
    message = str(caught.value)
    assert "2 station ids appear more than once along 'station' (3 extra rows" in message
    assert "ds.drop_duplicates('station')" in message


def test_colocated_stations_are_refused_with_the_fix() -> None:
    ds = _stations(["a", "b", "c", "d", "e"], [45, 45, 46, 46, 47], [7, 7, 8, 368, 9])
    with pytest.raises(GridError, match="2 locations appear more than once") as caught:
        MODALITY.to_points(ds)
    assert "Average co-located stations" in str(caught.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # distinct stations: silent
        MODALITY.to_points(_stations(["a", "b"], [45.0, 45.0], [7.0, 7.001]))


def test_station_dims_are_found_by_name_and_by_cf_metadata() -> None:
    by_cf = xr.Dataset(
        {"t": (("time", "gauge"), np.zeros((2, 3)))},
        coords={"gauge": ("gauge", ["x", "y", "z"], {"cf_role": "timeseries_id"})},
    )
    assert station_dim(by_cf) == "gauge"
    with pytest.raises(MissingStationLocationError, match="dim 'gauge' \\(3 stations\\)"):
        MODALITY.to_points(by_cf)
    feature = xr.Dataset(
        {"t": (("time", "obs"), np.zeros((2, 3)))}, attrs={"featureType": "timeSeries"}
    )
    assert station_dim(feature) == "obs"


def test_the_checks_are_documented_errors_of_the_modality() -> None:
    for error in (MissingStationLocationError, StationLocationError, DuplicateStationError):
        assert error in ClimateModality.errors
        assert issubclass(error, ValueError)


def test_fit_refuses_bad_stations_before_training(tmp_path) -> None:
    import vamoh

    ds = _stations(["a", "b", "a"], [45.0, 46.0, 47.0], [7.0, 8.0, 9.0])
    with pytest.raises(DuplicateStationError):
        vamoh.fit(ds, modality="climate", max_epochs=1, progress=False, checkpoint_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_the_guide_s_station_example_runs(tmp_path, monkeypatch) -> None:
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parents[2] / "docs" / "guide" / "climate.md"
    section = guide.read_text(encoding="utf-8").split("## Station networks", 1)[1]
    (block,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "guide_stations"}
    exec(compile(block, "guide_stations", "exec"), namespace)
    assert namespace["at_new"]["tmax"].sizes["station"] == 20
    assert namespace["coarse_elevation"].dims == ("station",)
