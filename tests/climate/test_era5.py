"""Real ERA5 over the UK (../shared/data; skipped without it): the model beats nearest neighbour.

The data README's honest split: train on 2019-03-01..24, test on 2019-03-25..31 (every 6th hour,
crop 32 x 48). A few epochs on one thread suffice to beat nearest neighbour; beating cubic is the
benchmarks' bar (benchmarks/), not the test suite's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import xarray as xr

import vamoh
from vamoh_climate import baselines, metrics

EPOCHS = 3
_trained: dict[str, Any] = {}  # one fit shared by the tests (the shared_data fixture is per test)


@pytest.fixture
def uk(shared_data: Path) -> tuple[vamoh.Model, xr.Dataset]:
    if not _trained:
        ds = vamoh.open_dataset(shared_data / "climate" / "era5_t2m_2019-03_uk.nc")[["t2m"]]
        ds = ds.isel(latitude=slice(0, 32), longitude=slice(0, 48))
        every_6h = slice(None, None, 6)
        train = ds.sel(time=slice("2019-03-01", "2019-03-24")).isel(time=every_6h).load()
        test = ds.sel(time=slice("2019-03-25", "2019-03-31")).isel(time=every_6h).load()
        with tempfile.TemporaryDirectory() as checkpoints:
            model = vamoh.fit(
                train,
                max_epochs=EPOCHS,
                progress=False,
                config={"seed": 0},
                checkpoint_dir=checkpoints,
            )
        _trained.update(model=model, test=test)
    return _trained["model"], _trained["test"]


def test_x2_downscaling_beats_nearest_neighbour(uk: tuple[vamoh.Model, xr.Dataset]) -> None:
    model, test = uk
    coarse = baselines.block_mean(test, 2)
    torch.manual_seed(0)
    fine = model.downscale(coarse, factor=2)
    assert fine.t2m.attrs["units"] == "K" and fine.t2m.shape == test.t2m.shape
    vamoh_rmse = float(metrics.rmse(test.t2m, fine.t2m))
    nearest = float(metrics.rmse(test.t2m, baselines.downscale(coarse, 2, "nearest").t2m))
    assert vamoh_rmse < nearest, f"vamoh {vamoh_rmse:.3f} K vs nearest {nearest:.3f} K"


def test_gap_filling_beats_nearest_neighbour(uk: tuple[vamoh.Model, xr.Dataset]) -> None:
    model, test = uk
    hidden = np.random.default_rng(0).random(test.t2m.shape) < 0.5
    mask = xr.DataArray(hidden, dims=test.t2m.dims, coords=test.t2m.coords)
    gappy = test.where(~mask)
    torch.manual_seed(0)
    filled = model.impute(gappy)
    vamoh_rmse = float(metrics.rmse(test.t2m, filled.t2m, mask=mask))
    nearest = float(metrics.rmse(test.t2m, baselines.fill_gaps(gappy, "nearest").t2m, mask=mask))
    assert vamoh_rmse < nearest, f"vamoh {vamoh_rmse:.3f} K vs nearest {nearest:.3f} K"
    coverage = float(metrics.coverage(test.t2m, filled, mask=mask))
    assert 0.5 < coverage <= 1.0  # the predictive std means something


def test_the_fit_reports_against_the_baselines(uk: tuple[vamoh.Model, xr.Dataset]) -> None:
    model, _ = uk
    assert sorted(model.info["report"]) == ["downscaling x2", "gap filling 50%"]
    linear = {"downscaling x2": ["EOF posterior"], "gap filling 50%": ["DINEOF", "EOF posterior"]}
    for task, scores in model.info["report"].items():
        classic = ["clim+cubic", "cubic", "optimal interp.", "vamoh"]
        assert sorted(scores) == sorted([*classic, *linear[task]])
        assert all(0.0 < scores[name] < 2.0 for name in classic)  # kelvin
        assert all(np.isfinite(scores[name]) for name in linear[task])
        # the learned layers are on only where they beat the backbone alone on validation
        assert scores["vamoh"] <= 1.05 * scores["optimal interp."]
