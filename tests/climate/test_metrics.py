"""Metrics against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from vamoh_climate import metrics
from vamoh_climate.errors import UnitsError, VariableError


@pytest.fixture
def pair() -> tuple[xr.DataArray, xr.DataArray]:
    rng = np.random.default_rng(0)
    lat = np.array([60.0, 30.0, 0.0])
    truth = xr.DataArray(
        rng.normal(280, 5, (2, 3, 4)),
        dims=("time", "lat", "lon"),
        coords={"lat": lat, "lon": [0.0, 90.0, 180.0, 270.0]},
        name="t2m",
        attrs={"units": "K"},
    )
    return truth, truth + rng.normal(0, 1, truth.shape)


def _weights(truth: xr.DataArray) -> np.ndarray:
    return np.broadcast_to(np.cos(np.radians(truth.lat.values))[None, :, None], truth.shape)


def test_rmse_and_mae_by_hand(pair) -> None:
    truth, pred = pair
    w = _weights(truth)
    err = pred.values - truth.values
    assert float(metrics.rmse(truth, pred)) == pytest.approx(np.sqrt((w * err**2).sum() / w.sum()))
    assert float(metrics.mae(truth, pred)) == pytest.approx((w * abs(err)).sum() / w.sum())
    assert float(metrics.rmse(truth, pred, area_weighted=False)) == pytest.approx(
        np.sqrt((err**2).mean())
    )
    assert metrics.rmse(truth, pred).attrs["units"] == "K"
    per_time = metrics.rmse(truth, pred, dim=["lat", "lon"])
    assert per_time.dims == ("time",)
    np.testing.assert_allclose(
        per_time.values, np.sqrt((w * err**2).sum(axis=(1, 2)) / w.sum(axis=(1, 2)))
    )


def test_mask_and_nan(pair) -> None:
    truth, pred = pair
    mask = np.zeros(truth.shape, dtype=bool)
    mask[:, 1, :2] = True
    err = (pred.values - truth.values)[mask]
    assert float(metrics.rmse(truth, pred, mask=mask)) == pytest.approx(np.sqrt((err**2).mean()))
    # NaN in the truth is not scored: hiding the unmasked points gives the masked score
    assert float(metrics.rmse(truth.where(mask), pred)) == pytest.approx(np.sqrt((err**2).mean()))
    # nothing left to score: NaN, not an error
    assert np.isnan(float(metrics.rmse(truth.where(~mask), pred, mask=mask)))
    with pytest.raises(ValueError, match="mask has shape"):
        metrics.rmse(truth, pred, mask=np.ones(3, dtype=bool))


def test_psnr_uses_the_paper_range_in_any_temperature_unit(pair) -> None:
    truth, pred = pair
    kelvin = float(metrics.psnr(truth, pred))
    rms = float(metrics.rmse(truth, pred))
    assert kelvin == pytest.approx(20 * np.log10((320.93 - 202.66) / rms))
    celsius = float(
        metrics.psnr(
            (truth - 273.15).assign_attrs(units="degC"), (pred - 273.15).assign_attrs(units="degC")
        )
    )
    fahrenheit = float(
        metrics.psnr(
            (truth * 1.8 - 459.67).assign_attrs(units="degF"),
            (pred * 1.8 - 459.67).assign_attrs(units="degF"),
        )
    )
    assert celsius == pytest.approx(kelvin, abs=1e-6)
    assert fahrenheit == pytest.approx(kelvin, abs=1e-6)
    # on the [0, 1] scaling: 20 log10(1 / RMSE of the scaled fields)
    scale = lambda x: (x - 202.66) / (320.93 - 202.66)  # noqa: E731
    assert kelvin == pytest.approx(
        float(metrics.psnr(scale(truth), scale(pred), data_range=(0.0, 1.0)))
    )
    wind = truth.assign_attrs(units="m s-1")
    with pytest.raises(UnitsError, match="data_range"):
        metrics.psnr(wind, pred)


def test_crps_matches_numerical_integration() -> None:
    y, mu, sigma = 1.3, 0.2, 0.7
    cdf = stats.norm(mu, sigma).cdf
    below, _ = integrate.quad(lambda x: cdf(x) ** 2, -20, y)
    above, _ = integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, 20)
    truth = xr.DataArray([y], dims="lat", coords={"lat": [10.0]}, name="t")
    value = metrics.crps(
        truth, xr.DataArray([mu], dims="lat"), std=xr.DataArray([sigma], dims="lat")
    )
    assert float(value) == pytest.approx(below + above, rel=1e-6)
    zero = metrics.crps(truth, xr.DataArray([mu], dims="lat"), std=xr.DataArray([0.0], dims="lat"))
    assert float(zero) == pytest.approx(abs(y - mu))


def test_coverage_and_dataset_inputs(pair) -> None:
    truth, pred = pair
    std = xr.ones_like(pred)
    inside = np.abs(pred.values - truth.values) <= stats.norm.ppf(0.95)
    w = _weights(truth)
    expected = (w * inside).sum() / w.sum()
    assert float(metrics.coverage(truth, pred, std)) == pytest.approx(expected)
    truth_ds = truth.to_dataset()
    pred_ds = xr.Dataset({"t2m": pred, "t2m_std": std})
    by_dataset = metrics.coverage(truth_ds, pred_ds)
    assert float(by_dataset.t2m) == pytest.approx(expected)
    assert by_dataset.t2m.attrs["units"] == "1"
    table = metrics.evaluate(truth_ds, pred_ds)
    assert set(table["t2m"]) == {"rmse", "mae", "psnr", "crps", "coverage90"}
    with pytest.raises(VariableError, match="t2m_std"):
        metrics.crps(truth_ds, pred_ds.drop_vars("t2m_std"))


def test_station_weights_use_station_latitudes() -> None:
    truth = xr.DataArray(
        [0.0, 0.0], dims="location", coords={"lat": ("location", [0.0, 60.0])}, name="x"
    )
    pred = xr.DataArray([1.0, 3.0], dims="location")
    assert float(metrics.mae(truth, pred)) == pytest.approx((1.0 + 0.5 * 3.0) / 1.5)
