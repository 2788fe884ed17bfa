"""A fitted model keeps the cycles (hour of day, day of year) its backbone's mean was fitted on.

Regression: the trained modality's state once saw the training values without their sample
features, so predictions got none and the backbone fell back to the cycle-average mean: NCEP's
central block (a year of 6-hourly fields) came out at 7.6 K instead of 4.1 K.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import vamoh


def _diurnal(n_hours: int, seed: int) -> xr.Dataset:
    """Hourly fields: a fixed pattern, a strong uniform diurnal cycle and small weather."""
    rng = np.random.default_rng(seed)
    lat, lon = np.linspace(58.0, 50.0, 8), np.linspace(-6.0, 4.0, 12)
    time = pd.date_range("2019-03-01", periods=n_hours, freq="h")
    hour = np.asarray(time.hour, dtype=np.float64)
    pattern = 280.0 + 0.5 * (lat[:, None] - 54.0) + 0.2 * lon[None, :]
    cycle = 6.0 * np.cos(2.0 * np.pi * (hour - 15.0) / 24.0)
    weather = rng.normal(size=(n_hours, 1, 1)) * 0.3 + 0.05 * rng.normal(size=(n_hours, 8, 12))
    values = pattern[None] + cycle[:, None, None] + weather
    return xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), values, {"units": "K"})},
        coords={"time": time, "latitude": lat, "longitude": lon},
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> vamoh.Model:
    return vamoh.fit(
        _diurnal(24 * 5, seed=0),
        max_epochs=1,
        progress=False,
        checkpoint_dir=tmp_path_factory.mktemp("checkpoints"),
    )


def test_new_data_get_the_training_cycles(model: vamoh.Model, tmp_path: Path) -> None:
    assert model.modality.cycles == ("diurnal",)
    test = _diurnal(24, seed=1)
    points = model._points(test)
    assert points.sample_feature_names == ("hour_cos", "hour_sin")
    model.save(tmp_path / "m.vamoh")
    assert vamoh.load(tmp_path / "m.vamoh").modality.cycles == ("diurnal",)


def test_a_hole_is_filled_at_its_hour_of_the_day(model: vamoh.Model) -> None:
    test = _diurnal(24, seed=1).isel(time=[3, 15])  # the cycle's low and high
    hidden = xr.zeros_like(test.t2m, dtype=bool)
    hidden[:, 2:6, 3:9] = True
    filled = model.impute(test.where(~hidden))
    error = (filled.t2m - test.t2m).where(hidden)
    # the cycle-average mean would be 6 K off inside the hole at either hour
    assert float(np.sqrt((error**2).mean())) < 1.0
