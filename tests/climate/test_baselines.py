"""Classical baselines: behaviour on synthetic fields and the data README's numbers on ERA5."""

from __future__ import annotations

from pathlib import Path

import dask.array
import numpy as np
import pytest
import xarray as xr

from vamoh_climate import baselines
from vamoh_climate.errors import GridError
from vamoh_climate.metrics import rmse
from vamoh_climate.synthetic import global_field


def test_block_mean(field: xr.Dataset) -> None:
    coarse = baselines.block_mean(field, 2)
    assert dict(coarse.sizes) == {"time": 4, "latitude": 4, "longitude": 8}
    np.testing.assert_allclose(
        coarse.t2m.values[:, 0, 0], field.t2m.values[:, :2, :2].mean(axis=(1, 2)), rtol=1e-6
    )
    assert coarse.t2m.attrs == field.t2m.attrs
    with pytest.raises(GridError, match="not a multiple of 3"):
        baselines.block_mean(field, 3)
    assert baselines.block_mean(field, 3, trim=True).sizes["latitude"] == 2


def test_downscale_methods_rank_as_expected() -> None:
    fine = global_field(3, 32, 64, seed=5)
    coarse = baselines.block_mean(fine, 2)
    errors = {
        m: float(rmse(fine.t2m, baselines.downscale(coarse, 2, m).t2m))
        for m in ("nearest", "linear", "cubic")
    }
    assert errors["cubic"] < errors["linear"] < errors["nearest"]
    out = baselines.downscale(coarse.t2m, 2)
    assert isinstance(out, xr.DataArray) and out.dims == fine.t2m.dims
    np.testing.assert_array_equal(out.latitude, fine.latitude)
    assert out.attrs == fine.t2m.attrs


def test_downscale_stays_lazy(field: xr.Dataset, no_compute) -> None:
    with no_compute():
        out = baselines.downscale(field.chunk({"time": 2}), 2)
    assert isinstance(out.t2m.data, dask.array.Array)
    assert out.t2m.shape == (4, 16, 32)


def test_fill_gaps_keeps_observations(field: xr.Dataset) -> None:
    hide = np.random.default_rng(0).random(field.t2m.shape) < 0.4
    gappy = field.where(~hide)
    for method in ("nearest", "linear", "cubic", "biharmonic"):
        filled = baselines.fill_gaps(gappy, method)
        assert not bool(filled.t2m.isnull().any())
        np.testing.assert_array_equal(filled.t2m.values[~hide], field.t2m.values[~hide])
        assert filled.t2m.attrs == field.t2m.attrs
    with pytest.raises(ValueError, match="method must be one of"):
        baselines.fill_gaps(gappy, "quintic")


def test_climatology_variants(field: xr.Dataset) -> None:
    clim = field.t2m.mean("time")
    exact = baselines.downscale_climatology(baselines.block_mean(clim, 2), clim, 2)
    np.testing.assert_allclose(exact.values, clim.values, atol=1e-4)
    gappy = field.where(np.random.default_rng(1).random(field.t2m.shape) > 0.5)
    filled = baselines.fill_gaps_climatology(gappy, clim)
    assert filled.t2m.dims == field.t2m.dims and not bool(filled.t2m.isnull().any())
    with pytest.raises(GridError, match="does not match"):
        baselines.fill_gaps_climatology(gappy, clim.isel(latitude=slice(1, None)))


def test_kriging_without_pykrige(monkeypatch, field: xr.Dataset) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pykrige(name: str, *args, **kwargs):
        if name.startswith("pykrige"):
            raise ImportError("No module named 'pykrige'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pykrige)
    with pytest.raises(ImportError, match="pip install pykrige"):
        baselines.fill_gaps_kriging(field)


def _era5_test_split(shared_data: Path) -> tuple[xr.DataArray, xr.DataArray]:
    era5 = xr.open_dataset(shared_data / "climate" / "era5_t2m_2019-03_uk.nc")
    crop = era5.t2m.isel(latitude=slice(0, 32), longitude=slice(0, 48))
    test = crop.sel(time=slice("2019-03-25", "2019-03-31")).isel(time=slice(None, None, 6))
    train = crop.sel(time=slice("2019-03-01", "2019-03-24"))
    return train.load(), test.load()


def test_readme_numbers_on_era5(shared_data: Path) -> None:
    train, test = _era5_test_split(shared_data)
    assert test.sizes["time"] == 28
    coarse = baselines.block_mean(test, 2)
    expected = {"cubic": 0.307, "linear": 0.392, "nearest": 0.457}
    for method, value in expected.items():
        assert float(rmse(test, baselines.downscale(coarse, 2, method))) == pytest.approx(
            value, abs=0.005
        )
    hidden = xr.DataArray(np.random.default_rng(0).random(test.shape) < 0.5, dims=test.dims)
    gappy = test.where(~hidden)
    for method, value in {"cubic": 0.361, "linear": 0.435, "biharmonic": 0.333}.items():
        filled = baselines.fill_gaps(gappy, method)
        assert float(rmse(test, filled, mask=hidden)) == pytest.approx(value, abs=0.005)
    clim = train.mean("time")
    down = baselines.downscale_climatology(coarse, clim, 2)
    assert float(rmse(test, down)) == pytest.approx(0.285, abs=0.005)
    filled = baselines.fill_gaps_climatology(gappy, clim)
    assert float(rmse(test, filled, mask=hidden)) == pytest.approx(0.338, abs=0.005)
    block = xr.zeros_like(test, dtype=bool)
    block[:, 8:24, 12:36] = True
    linear = baselines.fill_gaps(test.where(~block), "linear")
    assert float(rmse(test, linear, mask=block)) == pytest.approx(1.589, abs=0.005)
