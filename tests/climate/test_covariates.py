"""The built-in land-sea mask and static fields at station locations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from vamoh_climate.covariates import at_sites, land_sea_mask, land_sea_mask_like
from vamoh_climate.errors import GridError

# (lat, lon): well inside land or sea at 1 km resolution
LAND = [(51.5, -0.1), (48.85, 2.35), (-33.9, 18.6), (40.7, -74.0), (35.7, 139.7), (-15.8, -47.9)]
SEA = [(50.0, -5.0), (0.0, -140.0), (-40.0, 80.0), (30.0, -40.0), (56.0, 3.0), (70.0, -10.0)]


def test_known_places_are_land_or_sea() -> None:
    lat, lon = np.array(LAND + SEA).T
    assert land_sea_mask(lat, lon).tolist() == [1.0] * len(LAND) + [0.0] * len(SEA)


def test_both_longitude_conventions_and_wrapping_agree() -> None:
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-80, 80, 2000), rng.uniform(-180, 180, 2000)
    mask = land_sea_mask(lat, lon)
    np.testing.assert_array_equal(land_sea_mask(lat, lon % 360.0), mask)
    np.testing.assert_array_equal(land_sea_mask(lat, lon + 720.0), mask)
    assert 0.2 < mask.mean() < 0.4  # about 29 % of the globe is land


def test_arrays_broadcast() -> None:
    out = land_sea_mask(np.array([51.5, 50.0])[:, None], np.array([-0.1, -5.0])[None, :])
    assert out.shape == (2, 2) and out[0, 0] == 1.0 and out[1, 1] == 0.0


def test_bad_coordinates_are_named() -> None:
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        land_sea_mask([np.nan, 10.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"\[-90, 90\]"):
        land_sea_mask([95.0], [0.0])


def test_mask_on_a_grid_and_its_land_fraction() -> None:
    lat = np.arange(58.0, 49.9, -1.0)
    lon = np.arange(-10.0, 2.1, 1.0)
    grid = xr.Dataset({"t2m": (("latitude", "longitude"), np.zeros((lat.size, lon.size)))},
                      coords={"latitude": lat, "longitude": lon})  # fmt: skip
    mask = land_sea_mask_like(grid)
    assert mask.dims == ("latitude", "longitude") and mask.name == "lsm"
    np.testing.assert_array_equal(mask.latitude, lat)
    assert set(np.unique(mask.values)) == {0.0, 1.0}
    share = land_sea_mask_like(grid, fraction=True)
    assert share.attrs["standard_name"] == "land_area_fraction"
    assert ((share >= 0) & (share <= 1)).all()
    coastal = (share > 0.05) & (share < 0.95)
    assert int(coastal.sum()) > 10  # the UK coast cuts through many 1-degree cells
    # the fraction agrees with the centre lookup wherever a cell is all land or all sea
    pure = (share == 0) | (share == 1)
    assert float((share.where(pure) == mask.where(pure)).sum()) >= 0.9 * float(pure.sum())


def test_mask_at_stations_keeps_station_coords() -> None:
    stations = xr.Dataset(
        {"tmax": (("station", "time"), np.zeros((2, 3)))},
        coords={"station": ["london", "channel"], "lat": ("station", [51.5, 50.0]),
                "lon": ("station", [359.9, 355.0])},
    )  # fmt: skip
    mask = land_sea_mask_like(stations)
    assert mask.dims == ("station",) and mask.values.tolist() == [1.0, 0.0]
    assert mask["station"].values.tolist() == ["london", "channel"]
    with pytest.raises(GridError, match="fraction=True needs gridded data"):
        land_sea_mask_like(stations, fraction=True)
    with_mask = stations.assign_coords(lsm=mask)
    assert with_mask["lsm"].dims == ("station",)


def test_a_users_elevation_at_sites() -> None:
    lat = np.array([48.0, 47.0, 46.0, 45.0])  # descending, as ERA5 stores it
    lon = np.array([355.0, 0.0, 5.0, 10.0])  # across the 0/360 seam
    lon_unwrapped = np.unwrap(lon, period=360.0)  # 355, 360, 365, 370: linear across the seam
    dem = xr.DataArray(
        100.0 * lat[:, None] + 10.0 * lon_unwrapped[None, :], dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon}, name="elevation", attrs={"units": "m"},
    )  # fmt: skip
    sites = xr.Dataset(coords={"station": ["a", "b"], "lat": ("station", [46.5, 45.25]),
                               "lon": ("station", [-2.5, 7.0])})  # fmt: skip
    elev = at_sites(dem, sites)
    # -2.5 E is 357.5 and 7 E is 367 on the unwrapped axis
    np.testing.assert_allclose(elev.values, [100 * 46.5 + 3575.0, 100 * 45.25 + 3670.0])
    assert elev.attrs["units"] == "m" and elev["station"].values.tolist() == ["a", "b"]
    covariate = sites.assign_coords(elev=elev)
    assert covariate["elev"].dims == ("station",)
    outside = sites.assign_coords(lat=("station", [46.5, 60.0]))
    with pytest.raises(GridError, match="1 of 2 stations lie outside"):
        at_sites(dem, outside)
