"""A tiny end-to-end fit through the generic engine: train, downscale, impute, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh_climate.baselines import block_mean
from vamoh_climate.synthetic import global_field


@pytest.fixture(scope="module")
def celsius() -> xr.Dataset:
    ds = global_field(12, 16, 32, seed=7)
    return ds.assign(t2m=(ds.t2m - 273.15).assign_attrs(units="degC", long_name="2 m temperature"))


@pytest.fixture(scope="module")
def model(celsius: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> vamoh.Model:
    return vamoh.fit(
        celsius.isel(time=slice(0, 10)),
        max_epochs=2,
        progress=False,
        checkpoint_dir=tmp_path_factory.mktemp("checkpoints"),
    )


def test_fit_detects_climate_and_sizes_the_network(model: vamoh.Model) -> None:
    assert model.modality.name == "climate"
    assert model.channels == ("t2m",) and model.units == ("degC",)
    assert model.config.encoder_centroids == [128, 32, 8]
    assert model.modality.domain is not None  # bound to the training domain


def test_downscale_gives_a_finer_grid_in_degc(model: vamoh.Model, celsius: xr.Dataset) -> None:
    held_out = celsius.isel(time=slice(10, 12))
    coarse = block_mean(held_out, 2)
    fine = model.downscale(coarse, factor=2)
    assert fine.t2m.dims == ("time", "latitude", "longitude")
    assert dict(fine.sizes) == {"time": 2, "latitude": 16, "longitude": 32}
    np.testing.assert_array_equal(fine.latitude, held_out.latitude)
    np.testing.assert_array_equal(fine.time, held_out.time)
    assert fine.t2m.attrs["units"] == "degC" and fine.t2m_std.attrs["units"] == "degC"
    assert fine.t2m_std.attrs["long_name"] == "standard deviation of 2 m temperature"
    assert np.isfinite(fine.t2m.values).all() and (fine.t2m_std.values >= 0).all()
    # degC in, degC out: the values live on the data's own scale
    assert -80 < float(fine.t2m.mean()) < 40


def test_impute_fills_gaps_and_keeps_observations(model: vamoh.Model, celsius: xr.Dataset) -> None:
    held_out = celsius.isel(time=slice(10, 12))
    hidden = np.random.default_rng(0).random(held_out.t2m.shape) < 0.5
    gappy = held_out.where(~hidden)
    filled = model.impute(gappy)
    assert filled.t2m.dims == gappy.t2m.dims and filled.t2m.attrs["units"] == "degC"
    assert not bool(filled.t2m.isnull().any())
    np.testing.assert_allclose(filled.t2m.values[~hidden], gappy.t2m.values[~hidden], rtol=1e-6)
    assert (filled.t2m_std.values[~hidden] == 0).all()


def test_save_and_load_keep_the_domain(
    model: vamoh.Model, celsius: xr.Dataset, tmp_path: Path
) -> None:
    path = model.save(tmp_path / "t2m.vamoh")
    loaded = vamoh.load(path)
    assert loaded.modality.domain == model.modality.domain
    recon = loaded.reconstruct(celsius.isel(time=[10]))
    assert recon.t2m.shape == (1, 16, 32) and recon.t2m.attrs["units"] == "degC"
