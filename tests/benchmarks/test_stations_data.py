"""Station benchmark data: pseudo-stations from real grids, the synthetic split, the 5 cities."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.stations_data import (  # noqa: E402
    StationSplit,
    canadian_cities,
    canadian_cities_split,
    era5_uk_stations,
    ncep_stations,
    synthetic_stations,
)
from benchmarks.stations_quality import METHODS, covariates_of, evaluate  # noqa: E402


def _check_split(split: StationSplit, n_observed: int, n_held: int, removed: float) -> None:
    v = split.variable
    assert split.train[v].dims == ("station", "time") == split.observed[v].dims
    assert split.train.sizes["station"] == split.observed.sizes["station"] == n_observed
    assert split.sites.sizes["station"] == split.heldout_truth.sizes["station"] == n_held
    assert not set(split.sites["station"].values) & set(split.train["station"].values)
    assert not set(split.train["time"].values) & set(split.observed["time"].values)
    assert list(split.sites.data_vars) == []  # the held-out sites carry no values
    assert set(split.covariates) == set(covariates_of(split.sites))
    for data in (split.train, split.observed, split.sites):
        assert all(name in data.coords for name in ("lat", "lon", *split.covariates))
    seen = split.observed[v].notnull()
    np.testing.assert_array_equal(split.truth[v].values[seen], split.observed[v].values[seen])
    assert float(split.train[v].isnull().mean()) == pytest.approx(removed, abs=0.02)
    assert bool(split.heldout_truth[v].notnull().all())
    assert split.observed[v].attrs["units"] == split.truth[v].attrs["units"]


def test_era5_uk_pseudo_stations(shared_data: Path) -> None:
    split = era5_uk_stations(shared_data)
    _check_split(split, 160, 40, 0.3)
    assert split.train.sizes["time"] == 24 * 24 and split.observed.sizes["time"] == 28
    removed = split.observed[split.variable].isnull().sum("time")
    assert set(removed.values.tolist()) == {8}  # 30 % of each site's 28 records
    lsm = split.train["lsm"].values
    assert ((lsm >= 0) & (lsm <= 1)).all() and 0.1 < lsm.mean() < 0.9  # land and sea sites
    again = era5_uk_stations(shared_data)
    assert again.sites["station"].values.tolist() == split.sites["station"].values.tolist()


def test_ncep_pseudo_stations_on_0_360_longitudes(shared_data: Path) -> None:
    split = ncep_stations(shared_data)
    _check_split(split, 160, 40, 0.3)
    assert split.train.sizes["time"] == 365 and split.observed.sizes["time"] == 37
    assert float(split.sites["lon"].min()) > 180.0
    assert 0.05 < float(split.train["lsm"].mean()) < 0.95


def test_synthetic_split() -> None:
    split = synthetic_stations(n_stations=50, n_months=40, train_months=30)
    _check_split(split, 40, 10, 0.6)
    assert split.covariates == ("elev", "lat")


def test_canadian_cities_for_the_api_path(shared_data: Path) -> None:
    cities = canadian_cities(shared_data)
    assert cities["tasmax"].dims == ("location", "time") and cities.sizes["location"] == 5
    assert cities["tasmax"].attrs["units"] == "K" and cities["lsm"].dims == ("location",)
    split = canadian_cities_split(shared_data)
    assert split.sites["location"].values.tolist() == ["Saskatoon"]
    assert split.train.sizes == {"location": 4, "time": 3 * 365 + 1}
    assert split.observed.sizes == {"location": 4, "time": 365}


def test_the_baselines_score_sensibly_on_a_small_network() -> None:
    split = synthetic_stations(n_stations=120, n_months=60, train_months=48)
    result = evaluate(split, METHODS)
    rmse = {name: s["held-out sites"]["rmse"] for name, s in result.scores.items()}
    assert rmse["regression kriging"] < rmse["ordinary kriging"] < rmse["IDW (8 nearest)"]
    coverage = result.scores["regression kriging"]["gap filling"]["coverage90"]
    assert 0.75 < coverage < 0.98
    assert result.sites["ordinary kriging"]["held-out sites"].sizes["station"] == 24
