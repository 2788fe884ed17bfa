"""The linear-Gaussian baselines: exact conditioning, honest settings, DINEOF, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from vamoh_climate.baselines import block_mean
from vamoh_climate.linear_posteriors import LinearPosterior, block_operator, dineof


def _fields(n: int, rank: int = 3, noise: float = 0.0, seed: int = 0) -> xr.DataArray:
    """Fields that are a random mix of ``rank`` smooth patterns on a 10 x 12 grid."""
    rng = np.random.default_rng(seed)
    lat, lon = np.linspace(40, 60, 10), np.linspace(-10, 12, 12)
    y, x = np.meshgrid(np.linspace(0, np.pi, 10), np.linspace(0, 2 * np.pi, 12), indexing="ij")
    patterns = np.stack([np.sin((k + 1) * x) * np.cos(k * y) for k in range(rank)])
    values = 280 + np.einsum("tk,kij->tij", rng.normal(0, 2, (n, rank)), patterns)
    values += noise * rng.normal(size=values.shape)
    return xr.DataArray(
        values,
        dims=("time", "lat", "lon"),
        coords={"time": np.arange(n), "lat": lat, "lon": lon},
        name="t2m",
        attrs={"units": "K"},
    )


@pytest.fixture(scope="module")
def low_rank() -> xr.DataArray:
    return _fields(64, noise=0.01)


@pytest.mark.parametrize("kind", ["hybrid", "eof"])
def test_gap_filling_recovers_low_rank_fields_and_keeps_observations(low_rank, kind):
    train, test = low_rank[:56], low_rank[56:]
    hidden = np.random.default_rng(3).random(test.shape) < 0.5
    posterior = LinearPosterior.fit(train, kind=kind, tasks=("gaps",))
    filled = posterior.fill_gaps(test.where(~hidden))
    error = (filled["t2m"] - test).values[hidden]
    climatology_error = (train.mean("time") - test).transpose(*test.dims).values[hidden]
    assert np.sqrt(np.mean(error**2)) < 0.1 * np.sqrt(np.mean(climatology_error**2))
    np.testing.assert_allclose(filled["t2m"].values[~hidden], test.values[~hidden], rtol=1e-6)
    std = filled["t2m_std"].values
    assert (std[~hidden] == 0).all() and (std[hidden] > 0).all()
    assert filled["t2m"].attrs["units"] == "K"


def test_downscaling_posterior_matches_the_block_means(low_rank):
    train, test = low_rank[:56], low_rank[56:]
    posterior = LinearPosterior.fit(train, kind="hybrid", tasks=("downscale",))
    coarse = block_mean(test, 2)
    fine = posterior.downscale(coarse, like=test)
    assert fine["t2m"].shape == test.shape
    again = block_mean(fine["t2m"].astype(np.float64), 2)
    np.testing.assert_allclose(again.values, coarse.values, atol=0.05)
    error = np.sqrt(float(((fine["t2m"] - test) ** 2).mean()))
    assert error < 0.2


def test_settings_are_chosen_per_task_on_held_back_training_fields(low_rank):
    posterior = LinearPosterior.fit(low_rank[:56], kind="eof")
    assert sorted(posterior.choices) == ["block", "downscale", "gaps"]
    # three patterns: a rank of 5 or more holds them; the choice is one of the candidates
    assert all(choice.rank >= 5 for choice in posterior.choices.values())
    with pytest.raises(ValueError, match="fitted for tasks"):
        LinearPosterior.fit(low_rank[:56], kind="eof", tasks=("gaps",)).downscale(
            block_mean(low_rank[56:], 2), like=low_rank[56:]
        )


def test_block_operator_averages_blocks():
    operator = block_operator((4, 6), 2)
    field = np.arange(24.0).reshape(4, 6)
    np.testing.assert_allclose(
        operator @ field.ravel(), field.reshape(2, 2, 3, 2).mean((1, 3)).ravel()
    )


def test_dineof_fills_a_low_rank_record():
    fields = _fields(60, rank=2)
    test = fields[50:]
    hidden = np.random.default_rng(1).random(test.shape) < 0.4
    filled = dineof(test.where(~hidden), fields[:50])
    assert filled.dims == test.dims and filled.name == "t2m"
    np.testing.assert_allclose(filled.values[~hidden], test.values[~hidden])
    assert np.sqrt(np.mean((filled.values - test.values)[hidden] ** 2)) < 0.05


@pytest.mark.parametrize(
    "bad, message",
    [
        (_fields(20)[:, :, 0], "dims"),
        (_fields(20).where(_fields(20).lat > 45), "NaN"),
        (_fields(3), "at least"),
    ],
)
def test_bad_training_fields_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        LinearPosterior.fit(bad)


def test_too_many_points_for_a_dense_covariance_is_refused():
    big = xr.DataArray(np.zeros((10, 80, 80)), dims=("time", "lat", "lon"), name="t")
    with pytest.raises(ValueError, match="backbone"):
        LinearPosterior.fit(big)
