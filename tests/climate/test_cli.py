"""The command line on tiny synthetic climate data: fit, downscale, impute, sample, demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh.cli import main
from vamoh_climate.synthetic import global_field

TINY = ["--epochs", "1", "--quiet", "--config", "batch_size=4", "dim_z=8", "flow_layers=2"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def regional() -> xr.Dataset:
    """10 fields on an 8 x 12 regional grid (not global: the domain checks have an outside)."""
    return global_field(10, 16, 32, seed=3).isel(latitude=slice(4, 12), longitude=slice(0, 12))


@pytest.fixture(scope="module")
def store(folder: Path, regional: xr.Dataset) -> Path:
    path = folder / "era5.zarr"
    regional.to_zarr(path)
    return path


@pytest.fixture(scope="module")
def model_path(folder: Path, store: Path) -> Path:
    path = folder / "t2m.vamoh"
    selection = ["--sel", "time=2000-01-01T00:00..2000-01-02T12:00"]  # 7 of the 10 fields
    assert main(["fit", str(store), "--out", str(path), *TINY, *selection]) == 0
    return path


def test_fit_writes_a_model_with_the_overrides(model_path: Path) -> None:
    model = vamoh.load(model_path)
    assert model.modality.name == "climate" and model.channels == ("t2m",)
    assert model.config.dim_z == 8 and model.config.batch_size == 4
    assert model.info["n_train"] + model.info["n_val"] == 7


def test_outputs_are_never_replaced_unless_asked(
    model_path: Path, store: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    before = model_path.read_bytes()

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("fit must refuse before it trains")

    monkeypatch.setattr(vamoh, "fit", no_training)
    assert main(["fit", str(store), "--out", str(model_path), *TINY]) == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert model_path.read_bytes() == before


def test_downscale_to_zarr_and_netcdf(
    model_path: Path, regional: xr.Dataset, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coarse = folder / "coarse.nc"
    regional.isel(time=[8, 9]).coarsen(latitude=2, longitude=2).mean().to_netcdf(coarse)
    out = folder / "fine.zarr"
    assert (
        main(["downscale", str(model_path), str(coarse), "--factor", "2", "--out", str(out)]) == 0
    )
    assert f"wrote {out}" in capsys.readouterr().out
    fine = xr.open_zarr(out)
    assert dict(fine.t2m.sizes) == {"time": 2, "latitude": 8, "longitude": 12}
    assert fine.t2m.attrs["units"] == "K" and fine.t2m_std.attrs["units"] == "K"
    np.testing.assert_allclose(fine.latitude, regional.latitude)
    assert main(["downscale", str(model_path), str(coarse), "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["downscale", str(model_path), str(coarse), "--out", str(out), "--overwrite"]) == 0
    as_netcdf = folder / "fine.nc"
    assert main(["downscale", str(model_path), str(coarse), "--out", str(as_netcdf)]) == 0
    with xr.open_dataset(as_netcdf) as back:
        assert back.t2m.shape == (2, 8, 12)


def test_impute_fills_the_gaps(model_path: Path, regional: xr.Dataset, folder: Path) -> None:
    held_out = regional.isel(time=[8, 9])
    gappy = held_out.where(np.random.default_rng(0).random(held_out.t2m.shape) > 0.5)
    gappy.to_netcdf(folder / "gappy.nc")
    out = folder / "filled.nc"
    assert main(["impute", str(model_path), str(folder / "gappy.nc"), "--out", str(out)]) == 0
    with xr.open_dataset(out) as filled:
        assert not bool(filled.t2m.isnull().any())
        seen = gappy.t2m.notnull().values
        np.testing.assert_allclose(filled.t2m.values[seen], gappy.t2m.values[seen], rtol=1e-6)


def test_sample_draws_fields_like_the_data(model_path: Path, store: Path, folder: Path) -> None:
    out = folder / "samples.zarr"
    command = ["sample", str(model_path), "--like", str(store), "-n", "3", "--seed", "1"]
    assert main([*command, "--sel", "time=2000-01-01T00:00", "--out", str(out)]) == 0
    drawn = xr.open_zarr(out)
    assert dict(drawn.t2m.sizes) == {"sample": 3, "latitude": 8, "longitude": 12}
    assert np.isfinite(drawn.t2m.values).all()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["fit", "{missing}", "--out", "{out}"], "no file, folder or store"),
        (["fit", "{store}", "--out", "{out}", "--config", "oops"], "expects key=value"),
        (["fit", "{store}", "--out", "{out}", "--config", "dimz=4"], "unknown VaMoHConfig"),
        (["fit", "{store}", "--out", "{out}", "--sel", "step=1"], "names ['step']"),
        (["fit", "{store}", "--out", "{out}", "--sample-dim", "member"], "not a dimension"),
        (["fit", "{store}", "--out", "{out}", "--variables", "sst"], "['sst'] not found"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(
    arguments: list[str],
    message: str,
    store: Path,
    folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = {"missing": str(folder / "nope.zarr"), "out": str(folder / "x.vamoh"), "store": store}
    argv = [a.format(**names) for a in arguments]
    assert main([*argv, "--quiet", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vamoh fit: error:") and message in err
    assert not (folder / "x.vamoh").exists()


def test_downscale_outside_the_training_domain(
    model_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = folder / "global.nc"
    global_field(1, 8, 16).to_netcdf(elsewhere)
    out = folder / "nowhere.zarr"
    assert main(["downscale", str(model_path), str(elsewhere), "--out", str(out)]) == 1
    assert "outside the training domain" in capsys.readouterr().err
    assert not out.exists()


def test_demo_list_and_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "climate" in listing and "toy" in listing
    assert "(default)" in next(line for line in listing.splitlines() if line.startswith("climate"))
    assert main(["demo", "nope"]) == 1
    assert "no demo named 'nope'" in capsys.readouterr().err


def test_climate_demo_quick(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = folder / "demo"
    assert main(["demo", "--quick", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "CC-BY-4.0" in printed and "Copernicus" in printed
    header = next(line for line in printed.splitlines() if line.startswith("RMSE [K]"))
    for method in ("vamoh", "optimal interp.", "EOF posterior", "DINEOF", "clim+cubic"):
        assert method in header
    # vamoh, its backbone alone, the EOF posterior, four interpolations; DINEOF fills gaps only
    for row, count in (("downscaling x2", 7), ("gap filling 50%", 8)):
        line = next(line for line in printed.splitlines() if line.startswith(row))
        assert len(line[len(row) :].split()) == count
    expected = {
        "downscaling.png",
        "downscaling.zarr",
        "gap_filling.png",
        "gap_filling.zarr",
        "scores.json",
        "era5_t2m.vamoh",
    }
    assert expected <= {p.name for p in output.iterdir()}
    assert f"outputs in {output.resolve()}" in printed
    results = xr.open_zarr(output / "downscaling.zarr")
    assert {"t2m", "t2m_std", "t2m_cubic", "t2m_clim_cubic", "t2m_truth"} <= set(results.data_vars)
    assert results.t2m.attrs["units"] == "K" and results.attrs["Conventions"] == "CF-1.8"
    assert "hidden" in xr.open_zarr(output / "gap_filling.zarr")


def test_the_builtin_toy_demo_quick(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = folder / "toy"
    assert main(["demo", "toy", "--quick", "--output", str(output)]) == 0
    assert "linear" in capsys.readouterr().out
    assert {"demo.json", "demo.vamoh"} <= {p.name for p in output.iterdir()}
