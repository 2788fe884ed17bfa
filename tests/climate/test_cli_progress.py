"""The command line shows progress on standard output in a log (not a terminal); --quiet hides it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from vamoh import progress
from vamoh.cli import main
from vamoh_climate.synthetic import global_field

TINY = ["--epochs", "2", "--config", "batch_size=4", "dim_z=8", "flow_layers=2"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli-progress")
    fields = global_field(12, 8, 16, seed=2)
    fields.to_zarr(folder / "fields.zarr")
    gappy = fields.where(np.random.default_rng(0).random(fields.t2m.shape) > 0.5)
    gappy.to_zarr(folder / "gappy.zarr")
    return folder


@pytest.fixture(scope="module")
def model(folder: Path) -> str:
    path = folder / "m.vamoh"
    assert main(["fit", str(folder / "fields.zarr"), "--out", str(path), *TINY, "--quiet"]) == 0
    return str(path)


@pytest.fixture
def immediate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress lines from the first unit of work on (the defaults wait 10 s)."""
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)


def test_fit_prints_plain_training_lines_unless_quiet(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(folder / "fields.zarr")
    assert main(["fit", data, "--out", str(folder / "shown.vamoh"), *TINY]) == 0
    out = capsys.readouterr().out
    assert "vamoh fit: training on 1 cpu process" in out
    assert "vamoh fit: step 1/" in out and "eta" in out
    assert "max epochs reached (2)" in out and "saved <vamoh.Model" in out
    assert main(["fit", data, "--out", str(folder / "q.vamoh"), *TINY, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "vamoh fit:" not in out and "saved <vamoh.Model" in out


def test_impute_into_zarr_prints_block_progress_unless_quiet(
    folder: Path, model: str, capsys: pytest.CaptureFixture[str], immediate: None
) -> None:
    gappy = str(folder / "gappy.zarr")
    assert main(["impute", model, gappy, "--out", str(folder / "filled.zarr")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("vamoh: impute -> filled.zarr: 12/12 samples (100%) | ")
    assert lines[-2].startswith("vamoh: impute -> filled.zarr: done: 12/12 samples in ")
    assert lines[-1] == f"wrote {folder / 'filled.zarr'}"
    assert xr.open_zarr(folder / "filled.zarr").t2m.notnull().all()
    out = folder / "quiet.zarr"
    assert main(["impute", model, gappy, "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {out}"]


def test_sample_reports_how_long_a_long_draw_took(
    folder: Path, model: str, capsys: pytest.CaptureFixture[str], immediate: None
) -> None:
    like = str(folder / "fields.zarr")
    command = ["sample", model, "--like", like, "-n", "3", "--sel", "time=2000-01-01T00:00"]
    assert main([*command, "--out", str(folder / "s.zarr")]) == 0
    assert "vamoh: sampling: done: 3/3 samples in " in capsys.readouterr().out
    assert main([*command, "--out", str(folder / "s2.zarr"), "--quiet"]) == 0
    assert "vamoh: sampling" not in capsys.readouterr().out
