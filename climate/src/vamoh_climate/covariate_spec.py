"""What ``vamoh.fit(ds, covariates=...)`` accepts for climate data, resolved at any points.

A covariate spec is a list (or a dict name -> item) of:

* the name of a coordinate of the data along its spatial dims: a station's ``elev``, a grid's
  ``lsm``; new stations and finer grids must carry it too;
* a built-in: ``"land_sea_mask"`` (1 on land, 0 at sea, offline:
  :func:`vamoh_climate.covariates.land_sea_mask`), ``"latitude"``, ``"abs_latitude"``;
* a static field: an ``xarray.DataArray`` on a lat/lon grid (your elevation model, a soil map),
  interpolated (bilinear) at every point; the trained model keeps it, so predictions at new
  sites and on finer grids find it again. Points outside its grid, or where it is NaN, are refused.

Time-varying covariates that vary in space are not part of the prior (pass their time mean as a
static field); a per-sample series (a DataArray along the sample dim only, e.g. a climate index)
joins the samples' features, like the hour of the day.

Station data with an elevation coordinate (``elev``, ``elevation``, ``altitude``, ``height``)
use it by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from vamoh_climate.errors import ClimateDataError

__all__ = [
    "BUILTINS",
    "ELEVATION_NAMES",
    "CovariateError",
    "CovariateSource",
    "default_spec",
    "parse",
    "values_at",
]

BUILTINS = ("land_sea_mask", "latitude", "abs_latitude")
ELEVATION_NAMES = ("elev", "elevation", "altitude", "height", "station_elevation")
MAX_FIELD_VALUES = 4_000_000  # a static field kept in a model's state (a 0.1 degree Europe)


class CovariateError(ClimateDataError):
    """A covariate that cannot be found or used at the points (missing, NaN, off its grid).

    Example:
        >>> issubclass(CovariateError, ValueError)
        True
    """


@dataclass(frozen=True)
class CovariateSource:
    """One covariate: where its values come from.

    Attributes:
        name: the covariate's name (a coordinate name, a built-in, a field's name).
        kind: ``"coordinate"``, ``"builtin"`` or ``"field"``.
        lat: the field's latitudes (``kind="field"`` only).
        lon: the field's longitudes (``kind="field"`` only).
        values: the field's values, ``(lat, lon)`` (``kind="field"`` only).

    Example:
        >>> source = CovariateSource("elev", "coordinate")
        >>> CovariateSource.from_state(source.to_state()) == source
        True
    """

    name: str
    kind: str
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None
    values: np.ndarray | None = None

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "field":
            state.update(lat=self.lat.tolist(), lon=self.lon.tolist(), values=self.values.tolist())
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CovariateSource:
        if state["kind"] != "field":
            return cls(state["name"], state["kind"])
        return cls(
            state["name"],
            "field",
            np.asarray(state["lat"], dtype=np.float64),
            np.asarray(state["lon"], dtype=np.float64),
            np.asarray(state["values"], dtype=np.float64),
        )


def _field(name: str, da: xr.DataArray) -> CovariateSource:
    from vamoh_climate.grid import find_lat_lon

    ds = da.to_dataset(name="__covariate__")
    try:
        lat_name, lon_name, _ = find_lat_lon(ds)
    except ClimateDataError as error:
        raise CovariateError(
            f"covariate {name!r} is a DataArray without latitude/longitude coordinates; give a "
            f"static field on a lat/lon grid."
        ) from error
    extra = [d for d in da.dims if d not in (da[lat_name].dims + da[lon_name].dims)]
    if extra:
        raise CovariateError(
            f"covariate {name!r} varies along {extra} as well as in space; fields that change in "
            f"time are not supported: pass their mean over {extra} (e.g. da.mean({extra[0]!r}))."
        )
    if da[lat_name].ndim != 1 or da[lon_name].ndim != 1:
        raise CovariateError(
            f"covariate {name!r} must be on a regular lat/lon grid (1-D latitude and longitude)."
        )
    values = np.asarray(da.transpose(da[lat_name].dims[0], da[lon_name].dims[0]).values, float)
    if values.size > MAX_FIELD_VALUES:
        raise CovariateError(
            f"covariate {name!r} has {values.size} values, more than a model keeps "
            f"({MAX_FIELD_VALUES}); crop it to the data's domain or coarsen it first."
        )
    return CovariateSource(
        name,
        "field",
        np.asarray(da[lat_name].values, dtype=np.float64),
        np.asarray(da[lon_name].values, dtype=np.float64),
        values,
    )


def parse(spec: Any) -> list[CovariateSource]:
    """The covariate sources of a user's spec (see the module docstring).

    Example:
        >>> [s.kind for s in parse(["elev", "land_sea_mask"])]
        ['coordinate', 'builtin']
    """
    if spec is None:
        return []
    if isinstance(spec, str | xr.DataArray):
        spec = [spec]
    items: list[tuple[str, Any]]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    elif isinstance(spec, Sequence):
        items = []
        for i, item in enumerate(spec):
            name = item if isinstance(item, str) else getattr(item, "name", None)
            items.append((str(name) if name is not None else f"covariate_{i}", item))
    else:
        raise CovariateError(
            f"covariates must be a list or dict of coordinate names, built-ins {BUILTINS} or "
            f"DataArrays; got {type(spec).__name__}."
        )
    sources = []
    for name, item in items:
        if isinstance(item, xr.DataArray):
            sources.append(_field(name, item))
        elif isinstance(item, str):
            sources.append(CovariateSource(item, "builtin" if item in BUILTINS else "coordinate"))
        else:
            raise CovariateError(
                f"covariate {name!r} is a {type(item).__name__}; give a coordinate name, a "
                f"built-in {BUILTINS} or a DataArray on a lat/lon grid."
            )
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise CovariateError(f"covariate names repeat: {names}; give each covariate once.")
    return sources


def default_spec(ds: xr.Dataset, station_dim: str | None) -> list[str]:
    """Station data's elevation coordinate, if it has one (used when no spec is given).

    Example:
        >>> ds = xr.Dataset(coords={"elev": ("station", [10.0, 20.0])})
        >>> default_spec(ds, "station")
        ['elev']
    """
    if station_dim is None:
        return []
    for name in ELEVATION_NAMES:
        if name in ds.coords and ds[name].dims == (station_dim,):
            if np.issubdtype(ds[name].dtype, np.number):
                return [name]
    return []


def _field_at(source: CovariateSource, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    from scipy.interpolate import RegularGridInterpolator

    flat = np.unwrap(source.lon, period=360.0)
    order_lat, order_lon = np.argsort(source.lat), np.argsort(flat)
    grid_lat, grid_lon = source.lat[order_lat], flat[order_lon]
    values = source.values[order_lat][:, order_lon]
    west = grid_lon[0]
    wrapped = (np.asarray(lon, dtype=np.float64) - west) % 360.0 + west
    inside = (
        (lat >= grid_lat[0] - 1e-9)
        & (lat <= grid_lat[-1] + 1e-9)
        & (wrapped <= grid_lon[-1] + 1e-9)
    )
    if not inside.all():
        raise CovariateError(
            f"covariate {source.name!r}: {int((~inside).sum())} of {inside.size} points lie "
            f"outside its grid (latitude {grid_lat[0]:g}..{grid_lat[-1]:g}, longitude "
            f"{grid_lon[0]:g}..{grid_lon[-1]:g}); give a field that covers every point."
        )
    interp = RegularGridInterpolator((grid_lat, grid_lon), values, bounds_error=False)
    return interp(np.column_stack([np.clip(lat, grid_lat[0], grid_lat[-1]), wrapped]))


def values_at(
    sources: list[CovariateSource], ds: xr.Dataset, lat: np.ndarray, lon: np.ndarray, dims
) -> np.ndarray:
    """``(N, G)`` covariates at the points ``lat``/``lon`` of ``ds`` (spatial ``dims`` in
    point order); errors name the covariate, the count and the fix.

    Example:
        >>> ds = xr.Dataset(coords={"elev": ("station", [10.0, 20.0])})
        >>> values_at(parse(["elev", "latitude"]), ds, np.array([45.0, 46.0]),
        ...           np.array([7.0, 8.0]), ("station",)).tolist()
        [[10.0, 45.0], [20.0, 46.0]]
    """
    columns = []
    n = len(lat)
    for source in sources:
        if source.kind == "builtin":
            if source.name == "land_sea_mask":
                from vamoh_climate.covariates import land_sea_mask

                column = np.asarray(land_sea_mask(lat, lon), dtype=np.float64)
            elif source.name == "latitude":
                column = np.asarray(lat, dtype=np.float64)
            else:
                column = np.abs(np.asarray(lat, dtype=np.float64))
        elif source.kind == "field":
            column = _field_at(source, np.asarray(lat), np.asarray(lon))
        else:
            if source.name not in ds.coords and source.name not in ds.data_vars:
                raise CovariateError(
                    f"covariate {source.name!r} is missing from these data; add it as a "
                    f"coordinate along {tuple(dims)} (e.g. ds.assign_coords({source.name}=...)), "
                    f"as the model was trained with it."
                )
            var = ds[source.name]
            if not set(var.dims) <= set(dims):
                raise CovariateError(
                    f"covariate {source.name!r} has dims {var.dims}; a covariate is static: its "
                    f"dims must be among the spatial dims {tuple(dims)}."
                )
            template = xr.DataArray(np.zeros([ds.sizes[d] for d in dims]), dims=tuple(dims))
            column = var.broadcast_like(template).transpose(*dims).values
        column = np.asarray(column, dtype=np.float64).reshape(-1)
        if column.size != n:
            raise CovariateError(
                f"covariate {source.name!r} has {column.size} values for {n} points."
            )
        bad = ~np.isfinite(column)
        if bad.any():
            raise CovariateError(
                f"covariate {source.name!r} is NaN or infinite at {int(bad.sum())} of {n} points; "
                f"fill it (e.g. .fillna(...)) or use a covariate known everywhere."
            )
        columns.append(column)
    return np.column_stack(columns) if columns else np.zeros((n, 0))
