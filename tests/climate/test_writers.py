"""Writing results: Zarr and netCDF with CF attrs, units kept, nothing replaced unless asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pint_xarray  # noqa: F401  (registers the .pint accessor)
import pytest
import xarray as xr

import vamoh_climate
from vamoh_climate.errors import UnnamedDataError
from vamoh_climate.synthetic import global_field, stations
from vamoh_climate.units import unit_registry
from vamoh_climate.writers import cf_attributes, to_netcdf, to_zarr


@pytest.fixture
def result() -> xr.Dataset:
    """A prediction as the model returns it: t2m (degC) and t2m_std, plain lat/lon names."""
    ds = global_field(3, 4, 8).rename(latitude="lat", longitude="lon")
    for name in ("lat", "lon"):
        ds[name].attrs = {}
    t2m = (ds.t2m - 273.15).assign_attrs(units="degC", long_name="2 m temperature")
    std = xr.full_like(t2m, 0.5)
    std.attrs = {"units": "degC"}
    return ds.assign(t2m=t2m, t2m_std=std)


def test_exported_from_the_package() -> None:
    assert vamoh_climate.to_zarr is to_zarr and vamoh_climate.to_netcdf is to_netcdf


def test_cf_attributes_fill_in_without_replacing(result: xr.Dataset) -> None:
    result.lat.attrs["units"] = "degrees_N"
    result.attrs["history"] = "made by hand"
    out = cf_attributes(result)
    assert out.lat.attrs == {"units": "degrees_N", "standard_name": "latitude", "axis": "Y"}
    assert out.lon.attrs == {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    assert out.t2m_std.attrs["long_name"] == "standard deviation of t2m"
    assert out.attrs["Conventions"] == "CF-1.8"
    assert out.attrs["history"].startswith("made by hand\n") and "vamoh" in out.attrs["history"]
    assert result.lon.attrs == {}  # the input is untouched


def test_station_coordinates_get_no_axis() -> None:
    out = cf_attributes(stations(3, 4))
    assert out.lat.attrs["standard_name"] == "latitude" and "axis" not in out.lat.attrs


def test_zarr_round_trip_keeps_values_units_and_attrs(result: xr.Dataset, tmp_path: Path) -> None:
    path = to_zarr(result, tmp_path / "result.zarr")
    back = xr.open_zarr(path)
    np.testing.assert_array_equal(back.t2m.values, result.t2m.values)
    assert back.t2m.attrs == {"units": "degC", "long_name": "2 m temperature"}
    assert back.t2m_std.attrs["units"] == "degC"
    assert back.lat.attrs["standard_name"] == "latitude"
    np.testing.assert_array_equal(back.time.values, result.time.values)


def test_zarr_refuses_to_overwrite(result: xr.Dataset, tmp_path: Path) -> None:
    path = to_zarr(result, tmp_path / "result.zarr")
    with pytest.raises(FileExistsError, match=r"result.zarr already exists.*overwrite=True"):
        to_zarr(result.isel(time=[0]), path)
    assert xr.open_zarr(path).sizes["time"] == 3  # untouched
    to_zarr(result[["t2m"]].isel(time=[0]), path, overwrite=True)
    replaced = xr.open_zarr(path)
    assert replaced.sizes["time"] == 1 and list(replaced.data_vars) == ["t2m"]


def test_zarr_writes_lazy_data_and_dataarrays(result: xr.Dataset, tmp_path: Path) -> None:
    to_zarr(result.chunk({"time": 1}), tmp_path / "lazy.zarr")
    np.testing.assert_array_equal(xr.open_zarr(tmp_path / "lazy.zarr").t2m, result.t2m)
    to_zarr(result.t2m, tmp_path / "one.zarr")
    assert list(xr.open_zarr(tmp_path / "one.zarr").data_vars) == ["t2m"]
    with pytest.raises(UnnamedDataError, match="rename"):
        to_zarr(result.t2m.rename(None), tmp_path / "unnamed.zarr")


def test_stale_encodings_are_dropped(tmp_path: Path) -> None:
    """Data read from an int16 store with a scale factor is written as the floats it is."""
    ds = global_field(2, 4, 8)
    ds["t2m"].encoding = {"dtype": "int16", "scale_factor": 10.0}
    to_zarr(ds, tmp_path / "floats.zarr")
    np.testing.assert_allclose(xr.open_zarr(tmp_path / "floats.zarr").t2m, ds.t2m)


def test_pint_quantities_are_written_with_units(result: xr.Dataset, tmp_path: Path) -> None:
    quantified = result.pint.quantify(unit_registry=unit_registry)
    back = xr.open_zarr(to_zarr(quantified, tmp_path / "pint.zarr"))
    assert back.t2m.attrs["units"] == "degree_Celsius"


def test_netcdf_round_trip_and_refusal(result: xr.Dataset, tmp_path: Path) -> None:
    result.attrs["flag"] = True
    result.attrs["nothing"] = None
    path = to_netcdf(result, tmp_path / "result.nc")
    with xr.open_dataset(path) as back:
        np.testing.assert_allclose(back.t2m.values, result.t2m.values)
        assert back.t2m.attrs["units"] == "degC" and back.attrs["flag"] == 1
        assert "nothing" not in back.attrs
    with pytest.raises(FileExistsError, match=r"result\.nc already exists"):
        to_netcdf(result, path)
    to_netcdf(result.isel(time=[0]), path, overwrite=True)
    with xr.open_dataset(path) as back:
        assert back.sizes["time"] == 1
    assert not list(tmp_path.glob("*.partial"))
