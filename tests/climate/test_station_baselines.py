"""Station baselines: IDW, ordinary and regression kriging, checked against PyKrige and theory."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from vamoh_climate.errors import GridError, VariableError
from vamoh_climate.station_baselines import (
    Variogram,
    fill_station_gaps,
    fit_variogram,
    great_circle_degrees,
    idw,
    ordinary_kriging,
    predict_at_sites,
    regression_kriging,
)
from vamoh_climate.synthetic import global_field, station_network

pykrige = pytest.importorskip("pykrige")


def _scattered(n: int = 40, steps: int = 4, seed: int = 0, missing: float = 0.35):
    rng = np.random.default_rng(seed)
    lat, lon = rng.uniform(44.0, 48.0, n), rng.uniform(5.0, 12.0, n)
    values = (
        np.sin(lat)[None] + np.cos(lon)[None] * np.arange(1, steps + 1)[:, None]
    ) + rng.normal(0.0, 0.1, (steps, n))
    gappy = np.where(rng.random(values.shape) < missing, np.nan, values)
    return lat, lon, values, gappy


def test_great_circle_distances_are_pykrige_s() -> None:
    from pykrige.core import great_circle_distance

    rng = np.random.default_rng(0)
    lat1, lon1 = rng.uniform(-89, 89, 30), rng.uniform(-180, 360, 30)
    lat2, lon2 = rng.uniform(-89, 89, 20), rng.uniform(-180, 180, 20)
    ours = great_circle_degrees(lat1, lon1, lat2, lon2)
    theirs = great_circle_distance(lon1[:, None], lat1[:, None], lon2[None], lat2[None])
    np.testing.assert_allclose(ours, theirs, atol=1e-10)


@pytest.mark.parametrize("model", ["spherical", "exponential", "gaussian"])
def test_ordinary_kriging_matches_pykrige_step_by_step(model: str) -> None:
    from pykrige.ok import OrdinaryKriging

    lat, lon, _, gappy = _scattered()
    variogram = Variogram(model, psill=0.8, range=2.5, nugget=0.05)
    rng = np.random.default_rng(1)
    query_lat = np.concatenate([rng.uniform(44, 48, 15), lat[:4]])  # some at stations
    query_lon = np.concatenate([rng.uniform(5, 12, 15), lon[:4]])
    ours = ordinary_kriging(gappy, lat, lon, query_lat, query_lon, variogram=variogram)
    for step, row in enumerate(gappy):
        seen = np.isfinite(row)
        kriging = OrdinaryKriging(
            lon[seen],
            lat[seen],
            row[seen],
            variogram_model=model,
            variogram_parameters=variogram.pykrige_parameters(),
            coordinates_type="geographic",
        )
        mean, variance = kriging.execute("points", query_lon, query_lat)
        np.testing.assert_allclose(ours.mean[step], mean, atol=1e-9)
        np.testing.assert_allclose(ours.std[step] ** 2, np.clip(variance, 0, None), atol=1e-9)
    # a query at an observed station returns its value with no spread
    at_station = np.isfinite(gappy[:, :4])
    np.testing.assert_allclose(ours.mean[:, 15:][at_station], gappy[:, :4][at_station])
    assert np.all(ours.std[:, 15:][at_station] < 1e-6)


def test_batched_steps_equal_one_step_at_a_time() -> None:
    lat, lon, _, gappy = _scattered(steps=6, missing=0.5)
    variogram = Variogram("spherical", psill=1.0, range=3.0, nugget=0.02)
    together = ordinary_kriging(gappy, lat, lon, lat, lon, variogram=variogram)
    for step in range(gappy.shape[0]):
        alone = ordinary_kriging(gappy[step : step + 1], lat, lon, lat, lon, variogram=variogram)
        np.testing.assert_allclose(together.mean[step], alone.mean[0], atol=1e-10)
        np.testing.assert_allclose(together.std[step] ** 2, alone.std[0] ** 2, atol=1e-10)


def _universal_kriging_by_hand(
    z: np.ndarray,
    drift: np.ndarray,
    query_drift: np.ndarray,
    distance: np.ndarray,
    query_distance: np.ndarray,
    variogram: Variogram,
) -> tuple[np.ndarray, np.ndarray]:
    """Textbook universal kriging in covariance form: GLS trend + simple kriging of residuals."""
    sill = variogram.sill
    cov = sill - variogram(distance)
    np.fill_diagonal(cov, sill)
    c0 = sill - variogram(query_distance)  # (N, Q)
    inv = np.linalg.inv(cov)
    gram = drift.T @ inv @ drift
    beta = np.linalg.solve(gram, drift.T @ inv @ z)
    mean = query_drift @ beta + c0.T @ inv @ (z - drift @ beta)
    lack = query_drift.T - drift.T @ inv @ c0  # (P, Q)
    variance = sill - np.einsum("nq,nq->q", c0, inv @ c0)
    variance += np.einsum("pq,pq->q", lack, np.linalg.solve(gram, lack))
    return mean, variance


def test_regression_kriging_is_gls_trend_plus_kriged_residuals() -> None:
    rng = np.random.default_rng(3)
    n = 35
    lat, lon = rng.uniform(44, 48, n), rng.uniform(5, 12, n)
    elev = rng.uniform(0.0, 3.0, n)
    z = 15.0 - 6.5 * elev + np.sin(lon) + rng.normal(0.0, 0.2, n)
    query_lat, query_lon, query_elev = rng.uniform(44, 48, 9), rng.uniform(5, 12, 9), rng.random(9)
    variogram = Variogram("exponential", psill=0.7, range=4.0, nugget=0.04)
    ours = regression_kriging(
        z[None], lat, lon, elev[:, None], query_lat, query_lon, query_elev[:, None],
        variogram=variogram,
    )  # fmt: skip
    scale_mean, scale_std = elev.mean(), elev.std()
    drift = np.stack([np.ones(n), (elev - scale_mean) / scale_std], axis=1)
    query_drift = np.stack([np.ones(9), (query_elev - scale_mean) / scale_std], axis=1)
    mean, variance = _universal_kriging_by_hand(
        z,
        drift,
        query_drift,
        great_circle_degrees(lat, lon, lat, lon),
        great_circle_degrees(lat, lon, query_lat, query_lon),
        variogram,
    )
    np.testing.assert_allclose(ours.mean[0], mean, atol=1e-8)
    np.testing.assert_allclose(ours.std[0] ** 2, variance, atol=1e-8)
    # the trend's error makes it less certain than simple kriging (the trend known exactly)
    cov = variogram.sill - variogram(great_circle_degrees(lat, lon, lat, lon))
    np.fill_diagonal(cov, variogram.sill)
    c0 = variogram.sill - variogram(great_circle_degrees(lat, lon, query_lat, query_lon))
    simple = variogram.sill - np.einsum("nq,nq->q", c0, np.linalg.solve(cov, c0))
    assert np.all(ours.std[0] ** 2 > simple)


def test_regression_kriging_with_a_constant_drift_is_ordinary_kriging() -> None:
    lat, lon, _, gappy = _scattered()
    variogram = Variogram("spherical", psill=1.0, range=2.0, nugget=0.1)
    constant = np.zeros((lat.size, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rk = regression_kriging(
            gappy, lat, lon, constant, lat[:5], lon[:5], np.zeros((5, 0)), variogram=variogram
        )
    ok = ordinary_kriging(gappy, lat, lon, lat[:5], lon[:5], variogram=variogram)
    np.testing.assert_allclose(rk.mean, ok.mean, atol=1e-10)
    np.testing.assert_allclose(rk.std, ok.std, atol=1e-10)


def test_regression_kriging_halves_the_error_on_the_mountain_network() -> None:
    network = station_network(200, 60, missing=0.6, seed=5)
    truth = station_network(200, 60, missing=0.0, seed=5)["tmax"].values.T.astype(np.float64)
    values = network["tmax"].values.T.astype(np.float64)
    lat, lon, elev = network.lat.values, network.lon.values, network.elev.values
    hidden = np.isnan(values)
    ok = ordinary_kriging(values, lat, lon, lat, lon)
    rk = regression_kriging(values, lat, lon, elev[:, None], lat, lon, elev[:, None])
    ok_rmse = np.sqrt(np.mean((ok.mean - truth)[hidden] ** 2))
    rk_rmse = np.sqrt(np.mean((rk.mean - truth)[hidden] ** 2))
    assert rk_rmse < 0.65 * ok_rmse
    error = np.abs(rk.mean - truth)[hidden]
    coverage = np.mean(error <= 1.645 * rk.std[hidden])
    assert 0.8 < coverage < 0.97  # a usable predictive spread, not a formality


def test_pooled_variogram_recovers_the_simulating_one() -> None:
    rng = np.random.default_rng(4)
    n, steps = 150, 300
    lat, lon = rng.uniform(44, 48, n), rng.uniform(5, 12, n)
    true = Variogram("spherical", psill=2.0, range=2.5, nugget=0.3)
    distance = great_circle_degrees(lat, lon, lat, lon)
    cov = true.sill - true(distance)
    np.fill_diagonal(cov, true.sill)
    fields = rng.normal(size=(steps, n)) @ np.linalg.cholesky(cov).T + 10.0 * rng.normal(
        size=(steps, 1)
    )  # each step also has its own mean, which cancels in the pairs
    gappy = np.where(rng.random(fields.shape) < 0.4, np.nan, fields)
    fitted = fit_variogram(gappy, lat, lon, max_lag=4.0)
    assert fitted.sill == pytest.approx(true.sill, rel=0.15)
    assert fitted.nugget == pytest.approx(true.nugget, abs=0.15)
    assert fitted.range == pytest.approx(true.range, rel=0.25)


def test_per_step_variograms_use_pykrige_and_stay_finite() -> None:
    lat, lon, values, gappy = _scattered(n=50, steps=3)
    per_step = ordinary_kriging(gappy, lat, lon, lat, lon, variogram="per_step")
    pooled = ordinary_kriging(gappy, lat, lon, lat, lon)
    assert per_step.variogram is None and pooled.variogram is not None
    assert np.isfinite(per_step.mean).all() and np.isfinite(per_step.std).all()
    hidden = np.isnan(gappy)
    assert np.sqrt(np.mean((per_step.mean - values)[hidden] ** 2)) < 1.0


def test_idw_by_hand_and_nearest_neighbours() -> None:
    lat = np.zeros(4)
    lon = np.array([0.0, 1.0, 3.0, 10.0])
    values = np.array([[1.0, 2.0, 4.0, 100.0], [1.0, np.nan, 4.0, 100.0]])
    query_lat, query_lon = np.zeros(2), np.array([2.0, 3.0])
    every = idw(values, lat, lon, query_lat, query_lon, neighbours=None)
    weights = 1.0 / np.array([2.0, 1.0, 1.0, 8.0]) ** 2
    expected = (weights * values[0]).sum() / weights.sum()
    assert every.mean[0, 0] == pytest.approx(expected, rel=1e-6)
    assert every.std is None
    assert every.mean[0, 1] == pytest.approx(4.0)  # a query at an observed station
    two = idw(values, lat, lon, query_lat, query_lon, neighbours=2)
    # step 0: stations at lon 1 and 3; step 1: lon 1 is missing, so lon 3 and lon 0
    assert two.mean[0, 0] == pytest.approx(3.0, rel=1e-6)
    w = np.array([1 / 4.0, 1.0])
    assert two.mean[1, 0] == pytest.approx((w * [1.0, 4.0]).sum() / w.sum(), rel=1e-6)


def test_steps_without_enough_observations_stay_nan_with_a_warning() -> None:
    lat, lon, values, _ = _scattered(n=20, steps=3)
    values[1] = np.nan
    values[2, 2:] = np.nan  # two stations only: too few for a trend on two covariates
    covariates = np.stack([lat, lon], axis=1)
    with pytest.warns(RuntimeWarning, match="2 of 3 time steps have fewer than 4"):
        result = regression_kriging(values, lat, lon, covariates, lat, lon, covariates)
    assert np.isfinite(result.mean[0]).all()
    assert np.isnan(result.mean[1:]).all()
    with pytest.warns(RuntimeWarning, match="1 of 3 time steps"):
        ordinary_kriging(values, lat, lon, lat, lon, variogram=Variogram("spherical", 1, 2, 0))


def test_colocated_stations_without_nugget_still_krige() -> None:
    lat = np.array([45.0, 45.0, 46.0, 47.0])
    lon = np.array([7.0, 7.0, 8.0, 9.0])
    values = np.array([[1.0, 1.2, 2.0, 3.0]])
    no_nugget = Variogram("spherical", psill=1.0, range=5.0, nugget=0.0)
    result = ordinary_kriging(
        values, lat, lon, np.array([46.5]), np.array([8.5]), variogram=no_nugget
    )
    assert np.isfinite(result.mean).all() and 1.0 < result.mean[0, 0] < 3.0


def test_bad_numpy_inputs_are_named() -> None:
    lat, lon, values, _ = _scattered(n=10, steps=2)
    with pytest.raises(ValueError, match=r"values must be \(time, station\)"):
        idw(values.T, lat, lon, lat, lon)
    with pytest.raises(ValueError, match="1 of 10 stations have a NaN"):
        idw(values, np.where(np.arange(10) == 3, np.nan, lat), lon, lat, lon)
    with pytest.raises(ValueError, match="2 query sites have NaN or infinite covariates"):
        broken = np.where(np.arange(10) < 2, np.nan, lat)[:, None]
        regression_kriging(values, lat, lon, lat[:, None], lat, lon, broken)
    with pytest.raises(ValueError, match="variogram model must be one of"):
        fit_variogram(values, lat, lon, model="cubic")  # type: ignore[arg-type]


# -- xarray ---------------------------------------------------------------------------------
def test_predict_at_sites_keeps_units_attrs_dims_and_site_coords() -> None:
    network = station_network(50, 8, missing=0.3, seed=2).transpose("time", "station")
    observed = network.isel(station=slice(0, 40))
    sites = network.isel(station=slice(40, 50)).drop_vars("tmax")
    out = predict_at_sites(observed, sites, covariates=["elev", "lat"])
    assert out["tmax"].dims == ("time", "station")
    assert out["tmax"].attrs == observed["tmax"].attrs
    assert out["tmax_std"].attrs["units"] == "degC"
    assert "spherical variogram" in out["tmax_std"].attrs["variogram"]
    assert out["station"].values.tolist() == sites["station"].values.tolist()
    np.testing.assert_array_equal(out["elev"].values, sites["elev"].values)
    assert not bool(out["tmax"].isnull().any())
    plain = predict_at_sites(observed, sites, "idw")
    assert "tmax_std" not in plain and plain["tmax"].attrs["units"] == "degC"


def test_predict_at_sites_agrees_with_the_numpy_function() -> None:
    network = station_network(30, 5, missing=0.3, seed=7)
    observed, sites = network.isel(station=slice(0, 24)), network.isel(station=slice(24, 30))
    out = predict_at_sites(observed, sites.drop_vars("tmax"), "ordinary_kriging")
    direct = ordinary_kriging(
        observed["tmax"].values.T,
        observed.lat.values,
        observed.lon.values,
        sites.lat.values,
        sites.lon.values,
    )
    np.testing.assert_allclose(out["tmax"].values, direct.mean.T)
    np.testing.assert_allclose(out["tmax_std"].values, direct.std.T)


def test_fill_station_gaps_keeps_observed_records() -> None:
    gappy = station_network(40, 10, missing=0.4, seed=4)
    filled = fill_station_gaps(gappy, covariates=["elev"])
    seen = gappy["tmax"].notnull()
    xr.testing.assert_equal(
        filled["tmax"].where(seen), gappy["tmax"].where(seen).astype(np.float64)
    )
    assert not bool(filled["tmax"].isnull().any())
    assert float(filled["tmax_std"].where(seen).max()) == 0.0
    assert float(filled["tmax_std"].where(~seen).min()) > 0.0
    assert filled["tmax"].attrs == gappy["tmax"].attrs
    assert set(filled.coords) == set(gappy.coords)


def test_station_data_without_covariates_or_with_wrong_ones_is_refused() -> None:
    network = station_network(20, 4, missing=0.3, seed=1)
    sites = network.isel(station=slice(0, 3)).drop_vars("tmax")
    with pytest.raises(ValueError, match=r"needs covariates=\[...\].*'elev'"):
        predict_at_sites(network, sites)
    with pytest.raises(VariableError, match="covariate 'lsm' is not a numeric coordinate"):
        predict_at_sites(network, sites, covariates=["lsm"])
    with pytest.raises(VariableError, match="of the sites"):
        predict_at_sites(network, sites.drop_vars("elev"), covariates=["elev"])
    with pytest.raises(ValueError, match="covariates are used by regression_kriging only"):
        predict_at_sites(network, sites, "idw", covariates=["elev"])
    with pytest.raises(ValueError, match="method must be one of"):
        predict_at_sites(network, sites, "splines")  # type: ignore[arg-type]
    with pytest.raises(VariableError, match=r"variables \['rain'\]"):
        fill_station_gaps(network, "idw", variables=["rain"])


def test_grids_are_refused_with_a_pointer_to_the_grid_baselines() -> None:
    grid = global_field(2, 4, 8)
    with pytest.raises(GridError, match=r"vamoh_climate\.baselines"):
        fill_station_gaps(grid, "idw")
