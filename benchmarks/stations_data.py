"""Station benchmark data: pseudo-stations from real gridded fields, a synthetic mountain network,
and the 5-city ERA5 station file. Infrastructure for ``stations_quality`` (no ``NAME``/``run``).

Pseudo-stations (:func:`pseudo_stations`, :func:`era5_uk_stations`, :func:`ncep_stations`) turn
the real grids of ``../shared/data`` into station data, on the splits of the data README (the
same fields as ``climate_quality``; never a training time step in a test):

* ERA5 UK t2m, crop 32 x 48: train 2019-03-01..24 hourly (576 steps), test every 6th hour of
  Mar 25-31 (28 steps);
* NCEP air, crop 24 x 52: train 2013 every 4th step (365), test 2014 every 40th step (37).

200 grid cells are drawn at random (``numpy.random.default_rng(0)``) as sites, at the cells'
centres; 20 % of them (40) are held out entirely: never observed, neither in training nor as
inputs at test time, and predicted at test time from the others. Each of the 160 observed sites
loses 30 % of its records at random, in training and in testing; the removed test records are
the gap-filling task. Covariates along the station dim: ``lsm``, the land fraction of the
site's grid cell (:func:`vamoh_climate.covariates.land_sea_mask_like` with ``fraction=True``),
and ``lat``.

:func:`synthetic_stations` splits :func:`vamoh_climate.synthetic.station_network` (300 stations,
1000 months, 60 % of the records missing) the same way: 20 % of the stations held out, the first
800 months train, the last 200 test, covariates ``elev`` and ``lat``.

:func:`canadian_cities` reads the ERA5 station file of 5 Canadian cities
(``stations/daily_surface_cancities_1990-1993.nc``) for the API path, and
:func:`canadian_cities_split` splits it like the others with one city held out.

Example:
    >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
    >>> split.train["tmax"].dims, split.sites.sizes["station"], split.covariates
    (('station', 'time'), 8, ('elev', 'lat'))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from benchmarks.common import SEED

N_SITES = 200
HELD_OUT = 0.2
REMOVED = 0.3
CITIES_FILE = ("stations", "daily_surface_cancities_1990-1993.nc")


@dataclass(frozen=True)
class StationSplit:
    """One station data set, split for gap filling and for prediction at held-out sites.

    Attributes:
        key, label: a short key and a display name.
        variable: the predicted variable.
        train: ``(station, time)`` observed sites over the training steps, with gaps.
        observed: ``(station, time)`` observed sites over the test steps, with gaps: the input
            of both tasks.
        truth: ``observed`` without the gaps: the gap-filling task's truth.
        sites: the held-out sites: a Dataset of coordinates only (station ids, ``lat``, ``lon``
            and the covariates), never observed.
        heldout_truth: ``(station, time)`` the held-out sites' values over the test steps.
        covariates: the names of the covariate coordinates along the station dim.
        description: how the split was made, for reports.

    Example:
        >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
        >>> int(split.gaps.sum()) == int(split.observed["tmax"].isnull().sum())
        True
    """

    key: str
    label: str
    variable: str
    train: xr.Dataset
    observed: xr.Dataset
    truth: xr.Dataset
    sites: xr.Dataset
    heldout_truth: xr.Dataset
    covariates: tuple[str, ...]
    description: str

    @property
    def gaps(self) -> xr.DataArray:
        """True at the observed sites' removed test records that have a true value (scored)."""
        return self.observed[self.variable].isnull() & self.truth[self.variable].notnull()

    @property
    def observed_sites(self) -> xr.Dataset:
        """The observed sites as a coordinates-only Dataset (the gap-filling task's targets)."""
        return self.observed.drop_vars(list(self.observed.data_vars))


def remove_records(shape: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """True at ``round(fraction * n_steps)`` records of each site (row), drawn at random.

    Example:
        >>> mask = remove_records((3, 10), 0.3, np.random.default_rng(0))
        >>> mask.sum(axis=1).tolist()
        [3, 3, 3]
    """
    n_steps = shape[1]
    ranks = rng.random(shape).argsort(axis=1).argsort(axis=1)
    return ranks < round(fraction * n_steps)


def _site_ids(rows: np.ndarray, cols: np.ndarray) -> list[str]:
    return [f"r{r:02d}c{c:02d}" for r, c in zip(rows, cols)]


def pseudo_stations(
    train_field: xr.DataArray,
    test_field: xr.DataArray,
    *,
    key: str,
    label: str,
    description: str,
    n_sites: int = N_SITES,
    held_out: float = HELD_OUT,
    removed: float = REMOVED,
    seed: int = SEED,
) -> StationSplit:
    """Sites drawn from the grid cells of ``(time, lat, lon)`` fields, split as described above.

    Args:
        train_field, test_field: the training and test fields on the same grid.
        n_sites: grid cells drawn as sites (without replacement).
        held_out: the fraction of sites never observed.
        removed: the fraction of each observed site's records removed, in train and test.

    Example:
        >>> import numpy as np, xarray as xr
        >>> lat, lon = np.linspace(58, 50, 9), np.linspace(-10, 2, 13)
        >>> def field(n):
        ...     return xr.DataArray(np.random.default_rng(n).normal(size=(n, 9, 13)), name="t2m",
        ...         dims=("time", "latitude", "longitude"), attrs={"units": "K"},
        ...         coords={"time": np.arange(n), "latitude": lat, "longitude": lon})
        >>> split = pseudo_stations(field(10), field(4), key="k", label="K", description="d",
        ...                         n_sites=20)
        >>> split.train.sizes["station"], split.sites.sizes["station"], split.covariates
        (16, 4, ('lsm', 'lat'))
        >>> float(split.train["t2m"].isnull().mean()), split.observed["t2m"].attrs["units"]
        (0.3, 'K')
    """
    from vamoh_climate.covariates import land_sea_mask_like
    from vamoh_climate.modality import locate

    grid = locate(test_field.to_dataset(name="__field__"))
    lat_dim, lon_dim = grid.dims
    n_lat, n_lon = grid.shape
    rng = np.random.default_rng(seed)
    cells = rng.choice(n_lat * n_lon, n_sites, replace=False)
    rows, cols = np.divmod(cells, n_lon)
    order = rng.permutation(n_sites)
    n_held = round(held_out * n_sites)
    held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
    land = land_sea_mask_like(test_field.isel(time=0, drop=True), fraction=True).values

    def at(field: xr.DataArray, which: np.ndarray) -> xr.Dataset:
        picked = field.isel(
            {
                lat_dim: xr.DataArray(rows[which], dims="station"),
                lon_dim: xr.DataArray(cols[which], dims="station"),
            }
        )
        lat_attrs = {"units": "degrees_north", "standard_name": "latitude"}
        lon_attrs = {"units": "degrees_east", "standard_name": "longitude"}
        coords = {
            "station": _site_ids(rows[which], cols[which]),
            "lat": ("station", np.asarray(grid.lat)[rows[which]], lat_attrs),
            "lon": ("station", np.asarray(grid.lon)[cols[which]], lon_attrs),
            "lsm": (
                "station",
                land[rows[which], cols[which]],
                {"units": "1", "long_name": "land fraction of the site's grid cell"},
            ),
        }
        picked = picked.drop_vars([grid.lat_name, grid.lon_name]).assign_coords(coords)
        return picked.transpose("station", "time").to_dataset(promote_attrs=False)

    name = str(test_field.name)
    train = at(train_field, kept)
    truth = at(test_field, kept)
    train[name] = train[name].where(~remove_records(train[name].shape, removed, rng))
    observed = truth.copy()
    observed[name] = truth[name].where(~remove_records(truth[name].shape, removed, rng))
    heldout_truth = at(test_field, held)
    sites = heldout_truth.drop_vars(name)
    text = (
        f"{description}; {n_sites} random grid cells as sites (seed {seed}), "
        f"{n_held} held out, {removed:.0%} of each observed site's records removed; "
        f"covariates lsm (cell land fraction) and lat"
    )
    return StationSplit(
        key, label, name, train, observed, truth, sites, heldout_truth, ("lsm", "lat"), text
    )


def era5_uk_stations(root: Path, seed: int = SEED) -> StationSplit:
    """Pseudo-stations of ERA5 UK t2m: train Mar 1-24 hourly, test every 6th hour of Mar 25-31.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or era5_uk_stations(root).observed.sizes == {"station": 160, "time": 28}
        True
    """
    from benchmarks.climate_quality import era5_uk_split

    fields = era5_uk_split(root)
    path = Path(root) / "climate" / "era5_t2m_2019-03_uk.nc"
    with xr.open_dataset(path) as ds:
        hourly = ds["t2m"].isel(latitude=slice(0, 32), longitude=slice(0, 48)).load()
    train = hourly.sel(time=slice("2019-03-01", "2019-03-24"))
    return pseudo_stations(
        train,
        fields.test,
        key="era5_uk",
        label="ERA5 UK",
        description=(
            f"ERA5 t2m UK 0.25 deg, crop 32x48; train 2019-03-01..24 hourly "
            f"({train.sizes['time']} steps), test every 6th hour of 2019-03-25..31 "
            f"({fields.test.sizes['time']} steps)"
        ),
        seed=seed,
    )


def ncep_stations(root: Path, seed: int = SEED) -> StationSplit:
    """Pseudo-stations of NCEP air: train 2013 every 4th step, test 2014 every 40th step.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or ncep_stations(root).train.sizes == {"station": 160, "time": 365}
        True
    """
    from benchmarks.climate_quality import ncep_split

    fields = ncep_split(root)
    return pseudo_stations(
        fields.train,
        fields.test,
        key="ncep",
        label="NCEP",
        description=(
            f"NCEP air 2.5 deg North America, crop 24x52; train 2013 every 4th step "
            f"({fields.train.sizes['time']} steps), test 2014 every 40th step "
            f"({fields.test.sizes['time']} steps)"
        ),
        seed=seed,
    )


def synthetic_stations(
    n_stations: int = 300,
    n_months: int = 1000,
    missing: float = 0.6,
    *,
    train_months: int = 800,
    held_out: float = HELD_OUT,
    seed: int = SEED,
) -> StationSplit:
    """The synthetic mountain network, 20 % of its stations held out, split in time.

    Example:
        >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
        >>> split.train.sizes["time"], split.observed.sizes["time"], split.sites.sizes["station"]
        (18, 6, 8)
        >>> bool(split.truth["tmax"].notnull().all()), bool(split.observed["tmax"].isnull().any())
        (True, True)
    """
    from vamoh_climate.synthetic import station_network

    if not 0 < train_months < n_months:
        raise ValueError(
            f"train_months must leave test months: 0 < {train_months} < n_months={n_months}."
        )
    network = station_network(n_stations, n_months, missing, seed=seed)
    complete = station_network(n_stations, n_months, 0.0, seed=seed)
    rng = np.random.default_rng([seed, 10])
    order = rng.permutation(n_stations)
    n_held = round(held_out * n_stations)
    held, kept = np.sort(order[:n_held]), np.sort(order[n_held:])
    train_steps, test_steps = slice(0, train_months), slice(train_months, None)
    sites_truth = complete.isel(station=held, time=test_steps)
    return StationSplit(
        "synthetic",
        "synthetic network",
        "tmax",
        network.isel(station=kept, time=train_steps),
        network.isel(station=kept, time=test_steps),
        complete.isel(station=kept, time=test_steps),
        sites_truth.drop_vars("tmax"),
        sites_truth,
        ("elev", "lat"),
        f"synthetic mountain network (vamoh_climate.synthetic.station_network, seed {seed}): "
        f"{n_stations} stations x {n_months} months, {missing:.0%} of the records missing; "
        f"{n_held} stations held out; train the first {train_months} months, test the last "
        f"{n_months - train_months}; covariates elev and lat",
    )


def canadian_cities(root: Path, variables: tuple[str, ...] = ("tasmax",)) -> xr.Dataset:
    """The ERA5 daily series of 5 Canadian cities (``location`` dim), with ``lsm`` added.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or canadian_cities(root)["tasmax"].dims == ("location", "time")
        True
    """
    from vamoh_climate.covariates import land_sea_mask_like

    with xr.open_dataset(Path(root).joinpath(*CITIES_FILE)) as ds:
        cities = ds[list(variables)].load()
    return cities.assign_coords(lsm=land_sea_mask_like(cities).assign_attrs(units="1"))


def canadian_cities_split(
    root: Path, held_out: str = "Saskatoon", variable: str = "tasmax", seed: int = SEED
) -> StationSplit:
    """The 5 cities split like the pseudo-stations: train 1990-1992, test 1993, one city held out.

    The four other cities lose 30 % of their records at random; with four stations thousands of
    kilometres apart this is a check of the API path, not a fair test of spatial prediction.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or canadian_cities_split(root).sites["location"].values.tolist() == [
        ...     "Saskatoon"]
        True
    """
    cities = canadian_cities(root, (variable,))
    if held_out not in cities["location"].values:
        raise ValueError(
            f"held_out must be one of {cities['location'].values.tolist()}; got {held_out!r}."
        )
    rng = np.random.default_rng(seed)
    others = cities.drop_sel(location=[held_out])
    train = others.sel(time=slice("1990", "1992")).copy()
    truth = others.sel(time="1993")
    train[variable] = train[variable].where(~remove_records(train[variable].shape, REMOVED, rng))
    observed = truth.copy()
    observed[variable] = truth[variable].where(~remove_records(truth[variable].shape, REMOVED, rng))
    heldout_truth = cities.sel(location=[held_out], time="1993")
    return StationSplit(
        "cancities",
        "5 Canadian cities",
        variable,
        train,
        observed,
        truth,
        heldout_truth.drop_vars(variable),
        heldout_truth,
        ("lsm", "lat"),
        f"ERA5 daily {variable} at 5 Canadian cities; train 1990-1992, test 1993; {held_out} "
        f"held out; 30% of the other cities' records removed",
    )
