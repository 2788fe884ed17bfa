"""Bad covariates are refused before any training, and predictions need them at their points."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh_climate.covariate_spec import CovariateError
from vamoh_climate.synthetic import station_network


@pytest.fixture(scope="module")
def network() -> xr.Dataset:
    return station_network(n_stations=24, n_months=36, missing=0.3)


def _elevation_grid(lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    values = 500.0 + 100.0 * np.add.outer(np.arange(lat.size), np.arange(lon.size))
    return xr.DataArray(
        values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="elevation"
    )


def _fit(data: xr.Dataset, tmp_path, **options):
    return vamoh.fit(
        data, max_epochs=1, progress=False, report=False, checkpoint_dir=tmp_path, **options
    )


def test_a_covariate_grid_that_misses_the_stations(network, tmp_path) -> None:
    far_away = _elevation_grid(np.linspace(-10.0, 0.0, 6), np.linspace(100.0, 110.0, 6))
    with pytest.raises(CovariateError, match="elevation"):
        _fit(network, tmp_path, covariates=[far_away])
    assert not any(tmp_path.iterdir())  # refused before training: nothing written


def test_nan_covariates_at_stations(network, tmp_path) -> None:
    elev = network["elev"].values.copy()
    elev[3] = np.nan
    with pytest.raises(CovariateError, match="NaN"):
        _fit(network.assign_coords(elev=("station", elev)), tmp_path)
    assert not any(tmp_path.iterdir())


def test_an_unknown_covariate_name(network, tmp_path) -> None:
    with pytest.raises(CovariateError, match="soil_moisture"):
        _fit(network, tmp_path, covariates=["soil_moisture"])


def test_prediction_at_new_sites_needs_their_covariates(network, tmp_path) -> None:
    model = _fit(network, tmp_path)
    assert model.modality.to_points(network).covariate_names == ("elev",)
    sites = network.isel(station=slice(0, 3)).drop_vars("elev")
    with pytest.raises(CovariateError, match="elev"):
        model.predict(network, at=sites.assign(tmax=sites["tmax"] * np.nan))
