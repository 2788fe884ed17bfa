"""Bad input around a trained climate model: each gets a clear ValueError before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import vamoh
from vamoh.cli import main
from vamoh.toy import ToyModality
from vamoh.validation import ModalityMismatchError, NonFiniteValuesError
from vamoh_climate.errors import (
    ClimateDataError,
    DomainError,
    GridError,
    MissingLatLonError,
    SampleDimError,
    UnitsError,
    VariableError,
)
from vamoh_climate.sphere import wrap_longitude
from vamoh_climate.synthetic import global_field

TINY = {"batch_size": 4, "dim_z": 8, "flow_layers": 2}


@pytest.fixture(scope="module")
def across_the_meridian() -> xr.Dataset:
    """12 fields on an 8 x 12 box from 45 W to 79 E, longitudes in 0..360 (315 .. 78.75)."""
    field = global_field(12, 16, 32, seed=5)
    return field.isel(latitude=slice(4, 12), longitude=[*range(28, 32), *range(0, 8)])


@pytest.fixture(scope="module")
def model(across_the_meridian: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> vamoh.Model:
    """Trained with two all-NaN samples, which are left out with a warning."""
    data = across_the_meridian.copy(deep=True)
    data["t2m"][[3, 7]] = np.nan
    with pytest.warns(UserWarning, match="2 of 12 samples are entirely NaN"):
        trained = vamoh.fit(
            data,
            max_epochs=1,
            progress=False,
            config=TINY,
            report=False,
            checkpoint_dir=tmp_path_factory.mktemp("checkpoints"),
        )
    assert trained.info["n_train"] + trained.info["n_val"] == 10
    return trained


def test_no_sample_with_data_is_an_error(across_the_meridian: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="entirely NaN"):
        vamoh.fit(across_the_meridian * np.nan, max_epochs=1, progress=False)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            lambda d: xr.Dataset({"t2m": (("time", "y", "x"), d.t2m.values)}),
            MissingLatLonError,
            r"dims \('time', 'y', 'x'\)",
        ),
        (lambda d: d.isel(latitude=[0, 2, 1, 3]), GridError, "not monotonic"),
        (lambda d: d.isel(longitude=[0, 1, 1, 2]), GridError, "duplicated"),
        (lambda d: d.assign(t2m=d.t2m.assign_attrs(units="kelvinz")), UnitsError, "kelvinz"),
    ],
)
def test_fit_refuses_bad_data_before_training(
    across_the_meridian: xr.Dataset, change, error: type[ValueError], message: str, monkeypatch
) -> None:
    import lightning.pytorch as pl

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started on bad data")

    monkeypatch.setattr(pl.Trainer, "fit", no_training)
    with pytest.raises(error, match=message):  # without lat/lon, images would claim the data
        vamoh.fit(change(across_the_meridian), modality="climate", max_epochs=1, progress=False)


def test_fit_refuses_a_sample_dim_that_does_not_exist(across_the_meridian: xr.Dataset) -> None:
    with pytest.raises(SampleDimError, match="'member' is not a dimension"):
        vamoh.fit(across_the_meridian, sample_dim="member", max_epochs=1, progress=False)


def test_downscale_target_outside_the_training_domain(model: vamoh.Model) -> None:
    elsewhere = global_field(1, 8, 16)
    with pytest.raises(DomainError, match="outside the training domain"):
        model.downscale(elsewhere, factor=2)
    north = elsewhere.isel(latitude=[0, 1], longitude=[0, 1])  # 78.75 and 56.25 N
    with pytest.raises(DomainError, match="training domain"):  # it ends at 45 N
        model.downscale(north, to={"lat": [60.0], "lon": [5.0]})


def test_data_of_another_modality_given_to_a_climate_model(model: vamoh.Model) -> None:
    with pytest.raises(ClimateDataError, match=r"got ndarray.*right model"):
        model.impute(np.zeros((2, 8, 8)))
    voxels = xr.Dataset({"occupancy": (("shape", "x", "y", "z"), np.zeros((1, 4, 4, 4)))})
    with pytest.raises(ModalityMismatchError, match=r"trained on 'climate'.*look like 'voxels'"):
        model.impute(voxels)
    unknown = xr.Dataset({"v": (("a", "b"), np.zeros((2, 2)))})  # nobody claims it
    with pytest.raises(MissingLatLonError, match=r"dims \('a', 'b'\)"):
        model.impute(unknown)


def test_other_variables_than_the_model_knows(
    model: vamoh.Model, across_the_meridian: xr.Dataset
) -> None:
    with pytest.raises(VariableError, match=r"\['t2m'\] not found"):
        model.impute(across_the_meridian.rename(t2m="tas"))


def test_a_checkpoint_of_a_modality_that_is_not_installed(
    tmp_path: Path, across_the_meridian: xr.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    functions = np.sin(np.linspace(0, 3, 16))[None, :] * np.ones((6, 1))
    with vamoh.plugins.registered(ToyModality.plugin()):
        toy = vamoh.fit(
            functions,
            modality="toy",
            max_epochs=1,
            progress=False,
            report=False,
            config={"batch_size": 4},
            checkpoint_dir=tmp_path / "checkpoints",
        )
        path = toy.save(tmp_path / "toy.vamoh")
    with pytest.raises(ValueError, match=r"modality 'toy'.*not installed.*'climate'"):
        vamoh.load(path)
    data = tmp_path / "fields.nc"
    across_the_meridian.to_netcdf(data)
    out = tmp_path / "filled.nc"
    assert main(["impute", str(path), str(data), "--out", str(out)]) == 1
    assert "modality 'toy'" in capsys.readouterr().err and not out.exists()


def test_both_longitude_conventions_give_the_same_answer(
    model: vamoh.Model, across_the_meridian: xr.Dataset
) -> None:
    held_out = across_the_meridian.isel(time=[10, 11])
    gappy = held_out.where(np.random.default_rng(0).random(held_out.t2m.shape) > 0.5)
    west = gappy.assign_coords(longitude=wrap_longitude(gappy.longitude.values))
    assert float(west.longitude.min()) < 0 and float(gappy.longitude.max()) > 180
    torch.manual_seed(0)  # the predictive mean averages random latent draws
    a = model.impute(gappy)
    torch.manual_seed(0)
    b = model.impute(west)
    np.testing.assert_allclose(a.t2m.values, b.t2m.values, rtol=1e-6)
    np.testing.assert_allclose(a.t2m_std.values, b.t2m_std.values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(b.longitude, west.longitude)  # each keeps its own labels
    coarse = held_out.coarsen(latitude=2, longitude=2).mean()
    torch.manual_seed(0)
    fine_a = model.downscale(coarse, factor=2)
    torch.manual_seed(0)
    fine_b = model.downscale(
        coarse.assign_coords(longitude=wrap_longitude(coarse.longitude.values)), factor=2
    )
    np.testing.assert_allclose(fine_a.t2m.values, fine_b.t2m.values, rtol=1e-6)


def test_integer_and_boolean_fields_are_modelled_as_numbers(
    across_the_meridian: xr.Dataset,
) -> None:
    # counts and flags are fields too; only still-packed integers (scale_factor) are refused
    counts = across_the_meridian.assign(
        t2m=across_the_meridian.t2m.round().astype("int32").assign_attrs(units="K")
    )
    model = vamoh.fit(counts, max_epochs=1, progress=False, config=TINY, report=False)
    filled = model.impute(counts.isel(time=[0]).where(counts.latitude > 0))
    assert filled.t2m.dtype.kind == "f" and np.isfinite(filled.t2m).all()
    flags = across_the_meridian.assign(flag=across_the_meridian.t2m > 280).drop_vars("t2m")
    assert vamoh.fit(flags, max_epochs=1, progress=False, config=TINY, report=False).channels == (
        "flag",
    )


def test_lazy_data_with_inf_are_refused_as_they_are_read(model: vamoh.Model) -> None:
    fields = global_field(3, 16, 32, seed=5).isel(
        latitude=slice(4, 12), longitude=[*range(28, 32), *range(0, 8)]
    )
    fields["t2m"][1, 2, 3] = np.inf
    with pytest.raises(NonFiniteValuesError, match=r"'t2m' has 1 infinite value \(\+inf 1\)"):
        model.impute(fields.chunk(time=1))  # checked chunk by chunk, no extra pass over a store
