"""Predictions for many fields written into Zarr block by block (vamoh.write_predictions)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh import progress
from vamoh_climate.synthetic import global_field

TINY = {"batch_size": 4, "dim_z": 8, "flow_layers": 2}


@pytest.fixture(scope="module")
def model() -> vamoh.Model:
    trained = vamoh.fit(
        global_field(8, 8, 16), max_epochs=1, progress=False, report=False, config=TINY
    )
    trained.batch_size = 8  # inference batches of 8: blocks of 8 are single batches
    return trained


@pytest.fixture(scope="module")
def gappy() -> xr.Dataset:
    """40 fields, lazy (dask chunks of 5 fields), with 40% of the points missing."""
    fields = global_field(40, 8, 16, seed=1).chunk({"time": 5})
    keep = np.random.default_rng(0).random(fields.t2m.shape) > 0.4
    return fields.where(xr.DataArray(keep, dims=fields.t2m.dims))


def assert_same(stored: xr.Dataset, expected: xr.Dataset) -> None:
    assert set(stored.data_vars) == set(expected.data_vars)
    for name in expected.variables:
        np.testing.assert_array_equal(stored[name].values, expected[name].values, err_msg=name)
        assert stored[name].dims == expected[name].dims
        assert stored[name].attrs == expected[name].attrs, name
    assert stored.attrs == expected.attrs


def test_blocks_of_a_lazy_input_give_the_in_memory_result(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path
) -> None:
    out = tmp_path / "filled.zarr"
    path = vamoh.write_predictions(model, "impute", gappy, out, block_size=8, progress=False)
    assert path == out
    stored = xr.open_zarr(out)
    assert stored.t2m.chunks[0] == (8,) * 5
    assert stored.t2m.attrs["units"] == "K" and stored.t2m_std.attrs["units"] == "K"
    assert_same(stored, model.impute(gappy))
    assert [p.name for p in tmp_path.iterdir()] == ["filled.zarr"]  # the temporary name is gone


def test_blocks_of_several_batches_and_downscaling(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path
) -> None:
    fields = gappy.fillna(280.0)
    model.batch_size = 4
    try:
        out = tmp_path / "fine.zarr"
        vamoh.write_predictions(model, "downscale", fields, out, factor=2, block_size=12)
        stored = xr.open_zarr(out)
        assert stored.t2m.chunks[0] == (12, 12, 12, 4)
        assert dict(stored.t2m.sizes) == {"time": 40, "latitude": 16, "longitude": 32}
        assert_same(stored, model.downscale(fields, factor=2))
    finally:
        model.batch_size = 8


def test_predict_cuts_the_target_along_the_samples_too(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path
) -> None:
    at = gappy.isel(latitude=slice(2, 6)) * np.nan
    out = tmp_path / "at.zarr"
    vamoh.write_predictions(model, "predict", gappy, out, at=at, block_size=16, progress=False)
    assert_same(xr.open_zarr(out), model.predict(gappy, at=at))


def test_an_existing_store_is_refused_and_kept_unless_overwrite(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path
) -> None:
    out = tmp_path / "filled.zarr"
    global_field(1, 4, 8).to_zarr(out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        vamoh.write_predictions(model, "impute", gappy, out, progress=False)
    assert xr.open_zarr(out).t2m.shape == (1, 4, 8)
    vamoh.write_predictions(model, "impute", gappy, out, progress=False, overwrite=True)
    assert xr.open_zarr(out).t2m.shape == (40, 8, 16)
    assert [p.name for p in tmp_path.iterdir()] == ["filled.zarr"]


def test_a_failed_write_leaves_nothing_behind(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    impute = model.impute

    def failing(data: xr.Dataset) -> xr.Dataset:
        calls.append(data.sizes["time"])
        if len(calls) == 3:
            raise RuntimeError("out of disk")
        return impute(data)

    monkeypatch.setattr(model, "impute", failing)
    with pytest.raises(RuntimeError, match="out of disk"):
        vamoh.write_predictions(model, "impute", gappy, tmp_path / "f.zarr", block_size=8)
    assert calls == [8, 8, 8] and list(tmp_path.iterdir()) == []


def test_progress_lines_while_writing(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)
    log = io.StringIO()
    monkeypatch.setattr("sys.stdout", log)
    vamoh.write_predictions(model, "impute", gappy, tmp_path / "f.zarr", block_size=16)
    lines = log.getvalue().splitlines()
    # the model's own batches move the writer's count between blocks
    counts = [int(line.split(": ")[2].split("/")[0]) for line in lines[:-1]]
    assert counts == sorted(counts) and {16, 32, 40} <= set(counts)
    assert all(
        line.startswith("vamoh: impute -> f.zarr: ") and "eta" in line for line in lines[:-1]
    )
    assert lines[-1].startswith("vamoh: impute -> f.zarr: done: 40/40 samples in ")
    log.seek(0)
    log.truncate()
    vamoh.write_predictions(model, "impute", gappy, tmp_path / "g.zarr", progress=False)
    assert log.getvalue() == ""


def test_bad_arguments_are_named(model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        vamoh.write_predictions(model, "sample", gappy, tmp_path / "x.zarr")
    with pytest.raises(ValueError, match="sample_dim='member' is not a dimension"):
        vamoh.write_predictions(model, "impute", gappy, tmp_path / "x.zarr", sample_dim="member")
    with pytest.raises(TypeError, match="xarray Dataset or DataArray"):
        vamoh.write_predictions(model, "impute", gappy.t2m.values, tmp_path / "x.zarr")
    assert list(tmp_path.iterdir()) == []


def test_a_single_field_is_written_in_one_block(
    model: vamoh.Model, gappy: xr.Dataset, tmp_path: Path
) -> None:
    field = gappy.isel(time=0)  # no sample dimension left
    out = tmp_path / "one.zarr"
    vamoh.write_predictions(model, "impute", field, out, progress=False)
    assert_same(xr.open_zarr(out), model.impute(field))


KILLED_WRITER = """
import os, signal, sys
import numpy as np, vamoh
from vamoh_climate.synthetic import global_field

model = vamoh.load(sys.argv[1])
impute, blocks = model.impute, []

def impute_then_die(data):
    blocks.append(1)
    if len(blocks) == 3:  # two blocks are in the store: killed with no Python clean-up
        os.kill(os.getpid(), signal.SIGKILL)
    return impute(data)

model.impute = impute_then_die
fields = global_field(40, 8, 16, seed=1)
vamoh.write_predictions(model, "impute", fields, sys.argv[2], block_size=8, progress=False)
"""


def test_a_write_killed_half_way_never_appears_under_its_name(
    model: vamoh.Model, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    model.save(tmp_path / "m.vamoh")
    out = tmp_path / "filled.zarr"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "m.vamoh"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "m.vamoh"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".filled.zarr.partial-")
    # the next write removes the dead writer's leftover
    vamoh.write_predictions(model, "impute", global_field(8, 8, 16), out, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filled.zarr", "m.vamoh"]
