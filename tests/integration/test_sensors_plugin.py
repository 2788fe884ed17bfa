"""The out-of-tree template plugin (plugins/template, distribution vamoh-sensors) end to end.

It is installed like any third-party package (`make install` pip-installs it editable), so these
tests see it only through its ``vamoh`` entry point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import vamoh
from vamoh.detection import detect_modality

vamoh_sensors = pytest.importorskip(
    "vamoh_sensors", reason="the template plugin is not installed (pip install -e plugins/template)"
)


def test_discovered_through_its_entry_point() -> None:
    assert "sensors" in vamoh.plugins.modalities()
    assert "sensors-csv" in vamoh.plugins.readers()
    assert vamoh.plugins.owner("modalities", "sensors") == "sensors"
    rows = {row["name"]: row for row in vamoh.plugins.installed_plugins()}
    assert rows["sensors"]["package"] == "vamoh-sensors"
    assert rows["sensors"]["status"] == "loaded"


def test_detected_for_sensor_records() -> None:
    records = vamoh_sensors.synthetic_records(n_series=3, n_times=20)
    assert detect_modality(records).name == "sensors"


@pytest.fixture(scope="module")
def held_out_gap() -> tuple[xr.Dataset, xr.Dataset, np.ndarray]:
    """32 training sensors, and a 33rd sensor with 40 % of its readings hidden."""
    records = vamoh_sensors.synthetic_records(n_series=33, n_times=64, gap_fraction=0.1, seed=1)
    train, held_out = records.isel(sensor=slice(0, 32)), records.isel(sensor=[32])
    truth = held_out["temperature"].values[0]
    hide = np.isfinite(truth) & (np.random.default_rng(0).random(truth.shape) < 0.4)
    gappy = held_out.copy(deep=True)
    gappy["temperature"].values[0, hide] = np.nan
    return train, gappy, hide


def test_fit_through_the_entry_point_fills_a_held_out_sensor(
    held_out_gap: tuple[xr.Dataset, xr.Dataset, np.ndarray], tmp_path: Path
) -> None:
    train, gappy, hide = held_out_gap
    truth = vamoh_sensors.synthetic_records(n_series=33, n_times=64, gap_fraction=0.1, seed=1)
    truth = truth["temperature"].values[32]

    model = vamoh.fit(train, max_epochs=20, val_fraction=0.0, progress=False)
    assert model.modality.name == "sensors"

    torch.manual_seed(0)  # the predictive mean averages random latent draws
    filled = model.impute(gappy)
    assert filled["temperature"].dims == ("sensor", "time")
    assert filled["temperature"].attrs["units"] == "degC"
    assert filled["temperature_std"].attrs["units"] == "degC"
    xr.testing.assert_identical(filled["time"], gappy["time"])
    predicted = filled["temperature"].values[0]
    observed = np.isfinite(gappy["temperature"].values[0])
    np.testing.assert_array_equal(predicted[observed], gappy["temperature"].values[0, observed])

    rmse = float(np.sqrt(np.mean((predicted[hide] - truth[hide]) ** 2)))
    mean_fill = float(np.nanmean(gappy["temperature"].values))
    mean_rmse = float(np.sqrt(np.mean((mean_fill - truth[hide]) ** 2)))
    assert rmse < 0.75 * float(np.nanstd(truth)), (rmse, np.nanstd(truth))
    assert rmse < mean_rmse, (rmse, mean_rmse)

    # the training time span travels with the checkpoint: a reloaded model fills the same way
    path = model.save(tmp_path / "sensors.vamoh")
    reloaded = vamoh.load(path)
    assert reloaded.modality.state(reloaded.modality.to_points(gappy)) == model.state
    torch.manual_seed(0)
    again = reloaded.impute(gappy)["temperature"].values[0]
    np.testing.assert_allclose(again, predicted, rtol=1e-5)
