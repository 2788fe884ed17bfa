"""Readers: Zarr v2/v3 (consolidated or not) and netCDF, lazy, claimed by vamoh.open_dataset."""

from __future__ import annotations

import warnings
from pathlib import Path

import dask.array
import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh_climate.readers import NetCDFReader, ZarrReader
from vamoh_climate.synthetic import global_field


@pytest.fixture
def small() -> xr.Dataset:
    return global_field(3, 4, 8)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("consolidated", [True, False])
def test_zarr_opens_lazily_without_warnings(
    tmp_path: Path, small: xr.Dataset, zarr_format: int, consolidated: bool
) -> None:
    path = tmp_path / "t2m.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # writing v3 consolidated metadata warns; not ours
        small.to_zarr(path, zarr_format=zarr_format, consolidated=consolidated)
    reader = ZarrReader()
    assert reader.guess_can_open(path) and reader.guess_can_open(str(path) + "/")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opened = vamoh.open_dataset(path)
    assert isinstance(opened.t2m.data, dask.array.Array)
    xr.testing.assert_identical(opened.compute(), small)


def test_zarr_store_without_suffix_is_recognised(tmp_path: Path, small: xr.Dataset) -> None:
    path = tmp_path / "store"
    small.to_zarr(path, zarr_format=2, consolidated=False)
    assert ZarrReader().guess_can_open(path)
    assert not NetCDFReader().guess_can_open(path)


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
@pytest.mark.parametrize("suffix", [".nc", ".nc4", ".netcdf"])
def test_netcdf(tmp_path: Path, small: xr.Dataset, engine: str, suffix: str) -> None:
    path = tmp_path / f"t2m{suffix}"
    small.to_netcdf(path, engine=engine)
    assert NetCDFReader().guess_can_open(path)
    opened = vamoh.open_dataset(path)
    assert isinstance(opened.t2m.data, dask.array.Array)
    xr.testing.assert_identical(opened.compute(), small)
    opened.close()


def test_netcdf3_without_suffix(tmp_path: Path, small: xr.Dataset) -> None:
    path = tmp_path / "legacy"
    small.to_netcdf(path, format="NETCDF3_64BIT")
    assert NetCDFReader().guess_can_open(path)
    xr.testing.assert_allclose(vamoh.open_dataset(path).compute(), small)


@pytest.mark.parametrize(
    "name", ["face.png", "chair.binvox", "chairs.npy.gz", "faces.mat", "digits.h5", "imgs"]
)
def test_image_and_voxel_files_are_not_claimed(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "imgs":
        path.mkdir()
        (path / "a.png").write_bytes(b"\x89PNG\r\n")
    else:
        path.write_bytes(b"\x89HDF\r\n\x1a\n" if name.endswith(".h5") else b"not a netcdf")
    assert not ZarrReader().guess_can_open(path)
    assert not NetCDFReader().guess_can_open(path)


def test_urls_and_missing_paths(tmp_path: Path) -> None:
    assert ZarrReader().guess_can_open("s3://bucket/era5.zarr")
    assert not NetCDFReader().guess_can_open("s3://bucket/era5.zarr")
    with pytest.raises(FileNotFoundError, match="no Zarr store"):
        ZarrReader().open(tmp_path / "missing.zarr")
    with pytest.raises(FileNotFoundError, match="no netCDF file"):
        NetCDFReader().open(tmp_path / "missing.nc")
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot open"):
        NetCDFReader().open(broken)


def test_real_files(shared_data: Path) -> None:
    ncep = vamoh.open_dataset(shared_data / "climate" / "ncep_air_temperature.zarr")
    assert isinstance(ncep.air.data, dask.array.Array) and ncep.air.dtype == np.float64
    era5 = vamoh.open_dataset(shared_data / "climate" / "era5_t2m_2019-03_uk.nc")
    assert era5.t2m.dims == ("time", "latitude", "longitude")


def test_fsspec_url(small: xr.Dataset) -> None:
    url = "memory://vamoh-test/t2m.zarr"
    small.to_zarr(url, zarr_format=3, consolidated=False)
    assert ZarrReader().guess_can_open(url)
    opened = vamoh.open_dataset(url)
    assert isinstance(opened.t2m.data, dask.array.Array)
    xr.testing.assert_identical(opened.compute(), small)
