"""The bad-input catalogue of docs/reliability.md: every case is refused (or warned about) before
any training or decoding, by an error class of vamoh or of the plugin, raised in their own code
(never a message from inside a third-party library), naming the variable, the problem, the count
where there is one, and the fix."""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
import xarray as xr

import vamoh
from vamoh.api import Model
from vamoh.atomic import OutputExistsError
from vamoh.checkpoint import CheckpointError, NewerFormatError
from vamoh.validation import (
    EmptyDataError,
    ModalityMismatchError,
    NonFiniteValuesError,
    PointsMismatchError,
)
from vamoh_climate.errors import (
    DomainError,
    GridError,
    OutsideTrainingDomainWarning,
    SampleDimError,
    UnitsError,
    UnnamedDataError,
    VariableError,
)
from vamoh_climate.synthetic import global_field, stations
from vamoh_images import from_array
from vamoh_images.errors import ImageShapeError, UnsupportedDtypeError
from vamoh_voxels.errors import OccupancyArrayError
from vamoh_voxels.modality import VoxelModality

REPO = Path(__file__).resolve().parents[2]
TINY = {"batch_size": 4, "dim_z": 8, "flow_layers": 2}


def box(ds: xr.Dataset) -> xr.Dataset:
    """The southern-hemisphere box the catalogue's climate model is trained on."""
    return ds.isel(latitude=slice(4, 8), longitude=slice(0, 6))


class Context:
    """What the cases need: a trained climate model (made once) and a scratch folder."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._model: Model | None = None

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = vamoh.fit(
                box(global_field(8, 8, 16)), max_epochs=1, progress=False, report=False, config=TINY
            )
        return self._model

    @property
    def data(self) -> xr.Dataset:
        """Data on the model's own grid."""
        return box(global_field(2, 8, 16, seed=1))


def fit(data: Any, **kwargs: Any) -> Model:
    return vamoh.fit(data, max_epochs=1, progress=False, report=False, config=TINY, **kwargs)


def with_inf(ds: xr.Dataset, value: float = np.inf) -> xr.Dataset:
    out = ds.copy(deep=True)
    out["t2m"][0, 1, 2] = value
    out["t2m"][1, 0, 0] = value
    return out


def newer_model_file(ctx: Context) -> Path:
    path = ctx.model.save(ctx.tmp / "model.vamoh", overwrite=True)
    payload = torch.load(path, weights_only=True)
    newer = ctx.tmp / "newer.vamoh"
    torch.save({**payload, "format_version": 99}, newer)
    return newer


def scratch_file(ctx: Context, name: str, content: bytes) -> Path:
    path = ctx.tmp / name
    path.write_bytes(content)
    return path


def with_units(units: str) -> xr.Dataset:
    ds = global_field(8, 8, 16)
    return ds.assign(t2m=ds.t2m.assign_attrs(units=units))


def in_celsius(ds: xr.Dataset) -> xr.Dataset:
    return ds.assign(t2m=(ds.t2m - 273.15).assign_attrs(units="degC"))


def packed() -> xr.Dataset:
    ds = global_field(8, 8, 16)
    return ds.assign(t2m=(ds.t2m * 100).astype("int16").assign_attrs(scale_factor=0.01))


def two_grids() -> xr.Dataset:
    ds = global_field(8, 8, 16)
    other = xr.DataArray(
        np.zeros((8, 4, 8)),
        dims=("time", "lat", "lon"),
        coords={"lat": np.linspace(67.5, -67.5, 4), "lon": np.arange(8) * 45.0},
        attrs={"units": "m"},
    )
    return ds.assign(tp=other)


def shared_station() -> xr.Dataset:
    ds = stations(6, 12)
    lat, lon = ds.lat.values.copy(), ds.lon.values.copy()
    lat[5], lon[5] = lat[0], lon[0]
    return ds.assign_coords(lat=("location", lat), lon=("location", lon))


def voxels(change: Callable[[xr.Dataset], xr.Dataset]) -> xr.Dataset:
    return change(VoxelModality().example_data().astype(np.float32))


def images() -> xr.Dataset:
    pixels = np.random.default_rng(0).integers(0, 255, (6, 8, 8)).astype(np.uint8)
    return from_array(pixels)


def image_inf() -> xr.Dataset:
    out = (images() / 255.0).astype(np.float32)
    out["pixels"][2, 3, 3] = np.inf
    return out


def voxel_inf(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy(deep=True)
    ds["occupancy"][1, 2, 2, 2] = np.inf
    return ds


@dataclass(frozen=True)
class Case:
    """One bad input: what is done with it, the error (or warning) and what the message names."""

    id: str
    run: Callable[[Context], Any]
    error: type[Exception] | type[Warning]
    names: tuple[str, ...]

    @property
    def warns(self) -> bool:
        return issubclass(self.error, Warning)


CASES = [
    Case(
        "fit-inf",
        lambda c: fit(with_inf(global_field(8, 8, 16))),
        NonFiniteValuesError,
        ("'t2m'", "2 infinite values", "+inf 2", "2 of 8 samples", "data.where(np.isfinite"),
    ),
    Case(
        "fit-negative-inf",
        lambda c: fit(with_inf(global_field(8, 8, 16), -np.inf)),
        NonFiniteValuesError,
        ("'t2m'", "-inf 2", "data.where(np.isfinite"),
    ),
    Case(
        "impute-inf",
        lambda c: c.model.impute(with_inf(c.data)),
        NonFiniteValuesError,
        ("'t2m'", "2 infinite values", "data.where(np.isfinite"),
    ),
    Case(
        "images-inf",
        lambda c: fit(image_inf(), modality="images"),
        NonFiniteValuesError,
        ("'pixels'", "1 infinite value", "data.where(np.isfinite"),
    ),
    Case(
        "voxels-inf",
        lambda c: fit(voxels(voxel_inf), modality="voxels"),
        OccupancyArrayError,
        ("'occupancy'", "1 infinite value", "in 1 of 4 samples", "data.where(np.isfinite"),
    ),
    Case(
        "all-nan",
        lambda c: fit(global_field(8, 8, 16) * np.nan),
        EmptyDataError,
        ("['t2m']", "entirely NaN", "Check the selection"),
    ),
    Case(
        "units-of-the-wrong-dimension",
        lambda c: fit(with_units("furlongs")),
        UnitsError,
        ("'t2m'", "temperature", "'furlongs'", "[length]", "attrs['units'] = 'K'"),
    ),
    Case(
        "units-unparseable",
        lambda c: fit(with_units("K/ /")),
        UnitsError,
        ("'t2m'", "'K/ /'", "cannot be parsed", "attrs['units'] = 'K'"),
    ),
    Case(
        "units-other-than-the-models",
        lambda c: c.model.impute(in_celsius(c.data)),
        UnitsError,
        ("'t2m'", "'degC'", "trained on it in 'K'", ".pint.to('K')"),
    ),
    Case(
        "latitude-unsorted",
        lambda c: fit(global_field(8, 8, 16).isel(latitude=[0, 2, 1, 3, 4, 5, 6, 7])),
        GridError,
        ("'latitude'", "not monotonic", "ds.sortby('latitude')"),
    ),
    Case(
        "longitude-duplicated",
        lambda c: fit(global_field(8, 8, 16).isel(longitude=[0, 1, 1, 2, 3, 4, 5, 6])),
        GridError,
        ("'longitude'", "duplicated values", "drop_duplicates('longitude')"),
    ),
    Case(
        "stations-duplicated",
        lambda c: fit(shared_station()),
        GridError,
        ("1 location appears more than once", "'lat'/'lon'", "index 0", "keep one of each"),
    ),
    Case(
        "time-steps-repeat",
        lambda c: fit(global_field(8, 8, 16).isel(time=[0, 1, 1, 2, 3, 4, 5, 6])),
        SampleDimError,
        ("'t2m'", "'time' repeats 1 label", "drop_duplicates('time')"),
    ),
    Case(
        "mask-on-another-grid",
        lambda c: c.model.evaluate(c.data, mask=c.data.isel(longitude=slice(0, 4)).notnull()),
        PointsMismatchError,
        ("the mask has 2 samples of 16 points", "24 points", "data.isnull()"),
    ),
    Case(
        "far-outside-the-training-domain",
        lambda c: c.model.impute(global_field(1, 8, 16).isel(latitude=slice(0, 2))),
        OutsideTrainingDomainWarning,
        ("['t2m']", "32 of 32 points", "outside the training domain", " km (", "Train on data"),
    ),
    Case(
        "downscaling-target-outside-the-training-domain",
        lambda c: c.model.downscale(global_field(1, 8, 16), factor=2),
        DomainError,
        ("the refined grid", "outside the training domain", ".sel(lat=slice"),
    ),
    Case(
        "climate-strings",
        lambda c: fit(global_field(8, 8, 16).astype(str)),
        VariableError,
        ("'t2m'", "<U", "not numbers", ".astype('float32')"),
    ),
    Case(
        "images-strings",
        lambda c: fit(images().astype(str), modality="images"),
        UnsupportedDtypeError,
        ("'pixels'", "<U", ".astype('uint8')"),
    ),
    Case(
        "voxels-strings",
        lambda c: fit(voxels(lambda d: d.astype(str)), modality="voxels"),
        OccupancyArrayError,
        ("'occupancy'", "<U", ".astype('float32')"),
    ),
    Case(
        "packed-integers",
        lambda c: fit(packed()),
        VariableError,
        ("'t2m'", "scale_factor=0.01", "1024 values", "xr.decode_cf(ds)"),
    ),
    Case(
        "zero-time-steps",
        lambda c: fit(global_field(8, 8, 16).isel(time=slice(0, 0))),
        SampleDimError,
        ("'t2m'", "dimension 'time' of size 0", "non-empty range"),
    ),
    Case(
        "zero-latitudes",
        lambda c: fit(global_field(8, 8, 16).isel(latitude=slice(0, 0))),
        GridError,
        ("'latitude'", "of size 0", "non-empty range"),
    ),
    Case(
        "images-zero-rows",
        lambda c: fit(images().isel(y=slice(0, 0)), modality="images"),
        ImageShapeError,
        ("'pixels'", "dimension 'y' of size 0", "non-empty range"),
    ),
    Case(
        "voxels-zero-shapes",
        lambda c: fit(voxels(lambda d: d.isel(shape=slice(0, 0))), modality="voxels"),
        OccupancyArrayError,
        ("'occupancy'", "dimension 'shape' of size 0", "non-empty range"),
    ),
    Case(
        "a-dataset-mixing-grids",
        lambda c: fit(two_grids()),
        VariableError,
        ("mixes grids", "['t2m']", "'tp'", "variables=['t2m']"),
    ),
    Case(
        "a-wrong-modalitys-model",
        lambda c: c.model.impute(images()),
        ModalityMismatchError,
        ("trained on 'climate' data", "['t2m']", "look like 'images' data", "vamoh.fit(data)"),
    ),
    Case(
        "a-model-file-from-a-newer-format",
        lambda c: vamoh.load(newer_model_file(c)),
        NewerFormatError,
        ("newer.vamoh", "format version 99", "up to 1", "pip install --upgrade vamoh"),
    ),
    Case(
        "a-corrupt-model-file",
        lambda c: vamoh.load(scratch_file(c, "corrupt.vamoh", b"PK\x03\x04 not a model")),
        CheckpointError,
        ("corrupt.vamoh", "not a readable vamoh model", "save it again with model.save()"),
    ),
    Case(
        "an-existing-output-path",
        lambda c: c.model.save(scratch_file(c, "taken.vamoh", b"the user's own file")),
        OutputExistsError,
        ("taken.vamoh", "already exists", "overwrite=True"),
    ),
    Case(
        "an-unnamed-data-array",
        lambda c: fit(global_field(8, 8, 16)["t2m"].rename(None)),
        UnnamedDataError,
        ("no name", "da.rename('t2m')"),
    ),
    Case(
        "variables-the-model-does-not-know",
        lambda c: c.model.impute(c.data.rename(t2m="tas")),
        VariableError,
        ("['t2m'] not found", "['tas']", "variables=[...]"),
    ),
]


class _DecodingStarted(Exception):
    """Raised by the patched ``Model._predict``: the call got past every check."""


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return Context(tmp_path_factory.mktemp("catalogue"))


def _raised_in_our_code(error: BaseException) -> str:
    """The file that raised ``error``, which must be vamoh's or a first-party plugin's."""
    filename = Path(traceback.extract_tb(error.__traceback__)[-1].filename).resolve()
    assert REPO in filename.parents and ".venv" not in filename.parts, (
        f"{type(error).__name__} raised inside a third-party library: {filename}"
    )
    return str(filename)


def test_the_catalogue_has_unique_ids() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_before_work(case: Case, context: Context, monkeypatch) -> None:
    context.model  # noqa: B018  (trained before training is forbidden below)

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("training started on bad input")

    def no_decoding(*args: Any, **kwargs: Any) -> None:
        raise _DecodingStarted

    monkeypatch.setattr(pl.Trainer, "fit", no_training)
    monkeypatch.setattr(Model, "_predict", no_decoding)
    if case.warns:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(_DecodingStarted):
                case.run(context)
        found = [w for w in caught if issubclass(w.category, case.error)]
        assert found, [str(w.message) for w in caught]
        message = str(found[0].message)
        assert type(found[0].message).__module__.split(".")[0].startswith("vamoh")
    else:
        with pytest.raises(Exception) as raised:
            case.run(context)
        error = raised.value
        assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
        assert type(error).__module__.split(".")[0].startswith("vamoh"), type(error)
        _raised_in_our_code(error)
        message = str(error)
    missing = [name for name in case.names if name not in message]
    assert not missing, f"the message lacks {missing}: {message}"
