"""Where the data lives on the globe: latitude/longitude detection, grids, stations, refinement.

Two layouts are recognised:

* ``grid``: latitude and longitude are 1-D coordinates on two different dimensions
  (ERA5 ``(time, latitude, longitude)``, NCEP ``(time, lat, lon)``, in any order);
* ``points``: latitude and longitude share their dimensions, e.g. a station dimension
  (``lat(location)``, ``lon(location)``) or a curvilinear grid (``lat(y, x)``, ``lon(y, x)``).

Latitude/longitude are found from CF metadata (standard_name, degrees_north/east units,
``axis`` with degree units, via cf_xarray) and, failing that, from common names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from vamoh.validation import check_not_empty
from vamoh_climate.errors import DomainError, GridError, MissingLatLonError, StationLocationError
from vamoh_climate.sphere import wrap_longitude

__all__ = [
    "Domain",
    "Geometry",
    "cell_edges",
    "cell_index",
    "find_lat_lon",
    "find_latitude",
    "geometry_of",
    "other_grid_dims",
    "refine_axis",
]

LAT_NAMES = ("latitude", "lat", "lats", "nav_lat", "xlat")
LON_NAMES = ("longitude", "lon", "lons", "long", "nav_lon", "xlong")
_DEGREE_UNITS = ("degree", "degrees", "deg", "degree_n", "degree_e")
_TOL = 1e-6  # degrees: tolerance for domain checks and global-grid detection


def _candidates(ds: xr.Dataset, key: Literal["latitude", "longitude"]) -> tuple[list[str], bool]:
    """Names that look like ``key``; the flag says whether CF metadata (not just a name) said so."""
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    names = set(ds.variables)
    by_cf = [n for n in ds.cf.coordinates.get(key, []) if n in names]
    axis = "Y" if key == "latitude" else "X"
    for name in names:
        attrs = ds[name].attrs
        units = str(attrs.get("units", "")).strip().lower()
        if attrs.get("axis") == axis and units in _DEGREE_UNITS and name not in by_cf:
            by_cf.append(name)
    if by_cf:
        return sorted(by_cf), True
    wanted = LAT_NAMES if key == "latitude" else LON_NAMES
    by_name = [n for n in names if str(n).lower() in wanted]
    return sorted(by_name, key=lambda n: wanted.index(str(n).lower())), False


def _best(ds: xr.Dataset, names: list[str]) -> str | None:
    # a dimension coordinate beats an auxiliary one (e.g. bounds or a second, 2-D latitude)
    for name in names:
        if name in ds.dims:
            return name
    return names[0] if names else None


def find_lat_lon(ds: xr.Dataset) -> tuple[str, str, bool]:
    """Names of the latitude and longitude variables, and whether CF metadata identified both.

    Raises:
        MissingLatLonError: listing the dims and coordinates that were found.

    Example:
        >>> import numpy as np, xarray as xr
        >>> ds = xr.Dataset(coords={"lat": [0.0, 1.0], "lon": [0.0, 1.0, 2.0]})
        >>> find_lat_lon(ds)
        ('lat', 'lon', False)
    """
    lat_names, lat_cf = _candidates(ds, "latitude")
    lon_names, lon_cf = _candidates(ds, "longitude")
    lat, lon = _best(ds, lat_names), _best(ds, lon_names)
    if lat is None or lon is None:
        missing = " and ".join(k for k, v in (("latitude", lat), ("longitude", lon)) if v is None)
        raise MissingLatLonError(
            f"no {missing} found: dims {tuple(map(str, ds.dims))}, coordinates "
            f"{tuple(map(str, ds.coords))}. Name them 'lat'/'lon' or 'latitude'/'longitude' "
            f"(e.g. ds.rename(y='lat', x='lon')), or set attrs standard_name='latitude'/"
            f"'longitude' with units 'degrees_north'/'degrees_east'."
        )
    if lat == lon:
        raise MissingLatLonError(
            f"variable {lat!r} looks like both latitude and longitude; fix its attrs "
            f"(standard_name, units)."
        )
    return str(lat), str(lon), lat_cf and lon_cf


def find_latitude(ds: xr.Dataset) -> str:
    """The name of the latitude variable alone (area weights need nothing else).

    Example:
        >>> import xarray as xr
        >>> find_latitude(xr.Dataset(coords={"latitude": [0.0, 1.0]}))
        'latitude'
    """
    lat = _best(ds, _candidates(ds, "latitude")[0])
    if lat is None:
        raise MissingLatLonError(
            f"no latitude found for area weights: dims {tuple(map(str, ds.dims))}, coordinates "
            f"{tuple(map(str, ds.coords))}. Name it 'lat' or 'latitude', or pass "
            f"area_weighted=False."
        )
    return str(lat)


@dataclass(frozen=True)
class Domain:
    """A lat/lon box on the globe; ``lon_west``/``lon_east`` are ``None`` for a full circle.

    Longitudes are unwrapped from ``lon_west`` eastwards, so a box across the 0/360 or 180
    meridian is one interval.

    Example:
        >>> box = Domain(lat_min=50.0, lat_max=58.0, lon_west=-10.0, lon_east=2.0)
        >>> bool(box.contains([55.0, 55.0], [355.0, 10.0]).all())
        False
        >>> box.contains([55.0], [355.0]).tolist()
        [True]
    """

    lat_min: float
    lat_max: float
    lon_west: float | None = None
    lon_east: float | None = None

    def contains(self, lat: Any, lon: Any) -> np.ndarray:
        """Whether each (lat, lon) lies inside (with a tiny tolerance)."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        inside = (lat >= self.lat_min - _TOL) & (lat <= self.lat_max + _TOL)
        if self.lon_west is not None and self.lon_east is not None:
            rel = wrap_longitude(lon - self.lon_west, start=-_TOL)
            inside &= rel <= (self.lon_east - self.lon_west) + _TOL
        return inside

    def check(self, lat: Any, lon: Any, *, what: str, of: str) -> None:
        """Raise :class:`DomainError` when any point lies outside."""
        inside = self.contains(lat, lon)
        if inside.all():
            return
        bad = int((~inside).sum())
        raise DomainError(
            f"{what}: {bad} of {inside.size} points lie outside {of} ({self.describe()}). "
            f"Choose a target inside it, e.g. with .sel(lat=slice(...), lon=slice(...))."
        )

    def distance_outside(self, lat: Any, lon: Any) -> np.ndarray:
        """Great-circle distance (degrees of arc) from each point to the box; 0 inside.

        Exact for boxes all round the globe; otherwise measured to the box's edge sampled every
        0.05 degrees (error below 0.03 degrees).

        Example:
            >>> box = Domain(lat_min=50.0, lat_max=58.0, lon_west=-10.0, lon_east=2.0)
            >>> box.distance_outside([55.0, 60.0, 55.0], [0.0, 0.0, 12.0]).round(1).tolist()
            [0.0, 2.0, 5.7]
        """
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        distance = np.zeros(lat.shape)
        outside = ~self.contains(lat, lon)
        if not outside.any():
            return distance
        if self.lon_west is None or self.lon_east is None:
            # all longitudes: the nearest point of the box is on the same meridian
            gap = np.maximum(self.lat_min - lat[outside], lat[outside] - self.lat_max)
            distance[outside] = np.clip(gap, 0.0, None)
            return distance
        from scipy.spatial import cKDTree

        edge_lat, edge_lon = self._edge(step=0.05)
        chord, _ = cKDTree(_unit_xyz(edge_lat, edge_lon)).query(
            _unit_xyz(lat[outside], lon[outside])
        )
        distance[outside] = np.degrees(2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)))
        return distance

    def _edge(self, step: float) -> tuple[np.ndarray, np.ndarray]:
        """Points along the box's outline, at most ``step`` degrees apart."""
        assert self.lon_west is not None and self.lon_east is not None
        lats = np.linspace(
            self.lat_min, self.lat_max, max(2, int((self.lat_max - self.lat_min) / step) + 2)
        )
        span = self.lon_east - self.lon_west
        lons = np.linspace(self.lon_west, self.lon_east, max(2, int(span / step) + 2))
        edge_lat = np.concatenate(
            [lats, lats, np.full(lons.size, self.lat_min), np.full(lons.size, self.lat_max)]
        )
        edge_lon = np.concatenate(
            [np.full(lats.size, self.lon_west), np.full(lats.size, self.lon_east), lons, lons]
        )
        return edge_lat, edge_lon

    def describe(self) -> str:
        lon = (
            "all longitudes"
            if self.lon_west is None
            else f"longitude {self.lon_west:g}..{self.lon_east:g}"
        )
        return f"latitude {self.lat_min:g}..{self.lat_max:g}, {lon}"

    def to_dict(self) -> dict[str, float | None]:
        return {
            "lat_min": self.lat_min,
            "lat_max": self.lat_max,
            "lon_west": self.lon_west,
            "lon_east": self.lon_east,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Domain:
        return cls(**{k: data.get(k) for k in ("lat_min", "lat_max", "lon_west", "lon_east")})


@dataclass(frozen=True)
class Geometry:
    """The spatial structure of a dataset.

    Attributes:
        kind: ``"grid"`` (separate 1-D lat and lon dims) or ``"points"`` (shared dims: stations,
            curvilinear grids).
        lat_name, lon_name: the coordinate variables.
        dims: spatial dims in point order (grid: ``(lat_dim, lon_dim)``).
        shape: sizes of ``dims``; the number of points is their product.
        lat, lon: grid: the 1-D axes as given; points: ``(N,)`` per point.
        cf: whether CF metadata (not just names) identified lat/lon.

    Example:
        >>> import xarray as xr
        >>> ds = xr.Dataset(coords={"lat": ("station", [45.5, 49.3]),
        ...                         "lon": ("station", [-73.6, -123.1])})
        >>> g = geometry_of(ds, "lat", "lon")
        >>> g.kind, g.dims, g.n_points
        ('points', ('station',), 2)
    """

    kind: Literal["grid", "points"]
    lat_name: str
    lon_name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    lat: np.ndarray
    lon: np.ndarray
    cf: bool = True

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def point_latlon(self) -> tuple[np.ndarray, np.ndarray]:
        """``(N,)`` latitude and longitude of every point, in point order."""
        if self.kind == "grid":
            lat2, lon2 = np.meshgrid(self.lat, self.lon, indexing="ij")
            return lat2.ravel(), lon2.ravel()
        return self.lat, self.lon

    @property
    def is_global(self) -> bool:
        """A grid whose longitudes go all the way round (uniform spacing, n * step = 360)."""
        if self.kind != "grid" or self.lon.size < 3:
            return False
        unwrapped = np.unwrap(self.lon, period=360.0)
        steps = np.diff(unwrapped)
        step = abs(float(steps.mean()))
        uniform = np.allclose(np.abs(steps), step, rtol=1e-4, atol=_TOL)
        return bool(uniform and abs(step * self.lon.size - 360.0) < 1e-3 * step)

    def domain(self) -> Domain:
        """The lat/lon box covered: cell edges for grids, the bounding box for points."""
        if self.kind == "grid":
            lat_edges = np.clip(cell_edges(self.lat), -90.0, 90.0)
            lat_min, lat_max = float(lat_edges.min()), float(lat_edges.max())
            if self.is_global:
                return Domain(lat_min, lat_max)
            lon_edges = cell_edges(np.unwrap(self.lon, period=360.0))
            return Domain(lat_min, lat_max, float(lon_edges.min()), float(lon_edges.max()))
        lat, lon = self.lat, self.lon
        centre = float(np.degrees(np.angle(np.exp(1j * np.radians(lon)).mean())))
        rel = wrap_longitude(lon - centre)
        return Domain(
            float(lat.min()),
            float(lat.max()),
            centre + float(rel.min()),
            centre + float(rel.max()),
        )


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def _load(variable: xr.DataArray) -> np.ndarray:
    return np.asarray(variable.values, dtype=np.float64)


def _check_axis(values: np.ndarray, name: str, dim: str, *, periodic: bool) -> None:
    if not np.isfinite(values).all():
        raise GridError(
            f"coordinate {name!r} contains NaN or inf; drop those {dim!r} entries with "
            f".dropna({dim!r}) or fix the coordinate."
        )
    if values.size < 2:
        return
    steps = np.diff(values)
    if (steps == 0).any():
        dup = values[1:][steps == 0][0]
        raise GridError(
            f"coordinate {name!r} has duplicated values (e.g. {dup:g}); a grid needs each "
            f"{dim!r} once: drop duplicates with ds.drop_duplicates({dim!r})."
        )
    axis = np.unwrap(values, period=360.0) if periodic else values
    steps = np.diff(axis)
    if not ((steps > 0).all() or (steps < 0).all()):
        raise GridError(
            f"coordinate {name!r} is not monotonic; sort it with ds.sortby({name!r}) "
            f"(ascending or descending are both fine)."
        )
    if periodic and abs(axis[-1] - axis[0]) >= 360.0 - _TOL:
        raise GridError(
            f"longitude {name!r} spans {abs(axis[-1] - axis[0]):g} degrees, so its first and "
            f"last columns are the same meridian (duplicated points on the sphere); drop the "
            f"cyclic column with ds.isel({dim}=slice(None, -1))."
        )


def _check_latitude_range(lat: np.ndarray, name: str) -> None:
    if np.nanmax(np.abs(lat)) > 90.0 + _TOL:
        raise GridError(
            f"latitude {name!r} has values outside [-90, 90] (max |lat| = "
            f"{np.nanmax(np.abs(lat)):g}); is it in radians or swapped with longitude?"
        )


def _refuse_nonfinite_points(
    ds: xr.Dataset,
    lat_var: xr.DataArray,
    lat: np.ndarray,
    lon: np.ndarray,
    lat_name: str,
    lon_name: str,
) -> None:
    bad = ~(np.isfinite(lat) & np.isfinite(lon))
    count, total = int(bad.sum()), bad.size
    if lat_var.ndim == 1:
        dim = str(lat_var.dims[0])
        labels = np.asarray(ds[dim].values) if dim in ds.coords else np.flatnonzero(bad)
        shown = labels[bad] if dim in ds.coords else labels
        examples = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in shown[:3])
        raise StationLocationError(
            f"{count} of {total} stations along {dim!r} have a NaN or infinite lat/lon (e.g. "
            f"{examples}): every station needs a finite location. Fix those coordinates, or "
            f"drop the stations with ds.isel({dim}=np.isfinite(ds[{lat_name!r}].values) & "
            f"np.isfinite(ds[{lon_name!r}].values))."
        )
    raise StationLocationError(
        f"{count} of {total} points of {lat_name!r}/{lon_name!r} (dims {lat_var.dims}) have a "
        f"NaN or infinite location; every point needs one: mask them out before converting, "
        f"or fill the coordinates."
    )


def geometry_of(ds: xr.Dataset, lat_name: str, lon_name: str, cf: bool = True) -> Geometry:
    """Validate and describe the spatial structure given the lat/lon variable names.

    Raises:
        GridError: non-monotonic, duplicated or non-finite coordinates, latitudes beyond 90,
            or lat/lon whose dims form neither a grid nor a set of points.
        StationLocationError: (a ``GridError``) stations or points with a NaN or infinite
            latitude/longitude, with their count.

    Example:
        >>> import xarray as xr
        >>> ds = xr.Dataset(coords={"lat": [10.0, 0.0], "lon": [350.0, 0.0, 10.0]})
        >>> g = geometry_of(ds, "lat", "lon")
        >>> g.kind, g.dims, g.shape
        ('grid', ('lat', 'lon'), (2, 3))
    """
    lat_var, lon_var = ds[lat_name], ds[lon_name]
    sizes = {**dict(lat_var.sizes), **dict(lon_var.sizes)}
    check_not_empty(sizes, f"the grid of {lat_name!r}/{lon_name!r}", GridError)
    if lat_var.ndim == 1 and lon_var.ndim == 1 and lat_var.dims != lon_var.dims:
        lat = _load(lat_var)
        lon = _load(lon_var)
        _check_axis(lat, lat_name, str(lat_var.dims[0]), periodic=False)
        _check_axis(lon, lon_name, str(lon_var.dims[0]), periodic=True)
        _check_latitude_range(lat, lat_name)
        dims = (str(lat_var.dims[0]), str(lon_var.dims[0]))
        return Geometry("grid", lat_name, lon_name, dims, (lat.size, lon.size), lat, lon, cf)
    if lat_var.ndim >= 1 and lat_var.dims == lon_var.dims:
        lat = _load(lat_var).ravel()
        lon = _load(lon_var).ravel()
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            _refuse_nonfinite_points(ds, lat_var, lat, lon, lat_name, lon_name)
        _check_latitude_range(lat, lat_name)
        dims = tuple(str(d) for d in lat_var.dims)
        _check_distinct_points(lat, lon, lat_name, lon_name, dims)
        return Geometry("points", lat_name, lon_name, dims, tuple(lat_var.shape), lat, lon, cf)
    raise GridError(
        f"latitude {lat_name!r} has dims {lat_var.dims} and longitude {lon_name!r} has dims "
        f"{lon_var.dims}: neither a grid (two different 1-D dims) nor points (the same dims, "
        f"e.g. a station dimension). Scalar coordinates need ds.expand_dims({lat_name!r})."
    )


def _check_distinct_points(
    lat: np.ndarray, lon: np.ndarray, lat_name: str, lon_name: str, dims: tuple[str, ...]
) -> None:
    """Refuse two stations at one place (a field has one value per place; poles excepted)."""
    key = np.stack([lat, np.where(np.abs(lat) >= 90.0, 0.0, wrap_longitude(lon))], axis=1)
    _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        repeated = int((counts > 1).sum())
        where = int(first[counts > 1][0])
        extra = int((counts[counts > 1] - 1).sum())
        raise GridError(
            f"{repeated} location{'s appear' if repeated > 1 else ' appears'} more than once in "
            f"{lat_name!r}/{lon_name!r} ({extra} duplicate point{'s' if extra > 1 else ''}; e.g. "
            f"lat {lat[where]:g}, lon {lon[where]:g} at index {where} along {dims}); a field has "
            f"one value per place. Average co-located stations, or keep one of each, e.g. "
            f"ds.isel({dims[0]}=unique_index)."
        )


def other_grid_dims(ds: xr.Dataset, lat_name: str, lon_name: str) -> set[str]:
    """Dims of latitude/longitude coordinates other than ``lat_name``/``lon_name``.

    A data variable on them lies on another grid than the chosen one.

    Example:
        >>> import xarray as xr
        >>> ds = xr.Dataset(coords={"lat": [0.0, 1.0], "lon": [0.0, 1.0],
        ...                         "latitude": [0.0, 0.5, 1.0], "longitude": [0.0, 1.0]})
        >>> sorted(other_grid_dims(ds, "latitude", "longitude"))
        ['lat', 'lon']
    """
    chosen = set(map(str, ds[lat_name].dims)) | set(map(str, ds[lon_name].dims))
    names = _candidates(ds, "latitude")[0] + _candidates(ds, "longitude")[0]
    names += [n for n in ds.variables if str(n).lower() in LAT_NAMES + LON_NAMES]
    dims = {str(d) for n in set(names) for d in ds[n].dims}
    return dims - chosen


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """``n + 1`` cell edges around ``n`` centres (midpoints inside, half a step outside).

    Example:
        >>> cell_edges([57.875, 57.375]).tolist()
        [58.125, 57.625, 57.125]
    """
    c = np.asarray(centres, dtype=np.float64)
    if c.size < 2:
        raise GridError(
            "a grid axis with fewer than 2 points has no cell size; refine needs at least 2 "
            "latitudes and 2 longitudes."
        )
    mids = 0.5 * (c[:-1] + c[1:])
    return np.concatenate([[c[0] - (mids[0] - c[0])], mids, [c[-1] + (c[-1] - mids[-1])]])


def refine_axis(centres: np.ndarray, factor: int, *, clip: float | None = None) -> np.ndarray:
    """Split each cell in ``factor`` sub-cells; the sub-cell centres in the axis' own order.

    Block-averaging ``factor`` consecutive fine centres gives back the coarse centre, and the
    refinement of a block-averaged axis is the original fine axis. ``clip`` limits the outer
    edges (90 for latitudes, so no sub-cell lies beyond a pole).

    Example:
        >>> refine_axis([57.875, 57.375], 2).tolist()
        [58.0, 57.75, 57.5, 57.25]
    """
    if int(factor) != factor or factor < 1:
        raise ValueError(f"refine factor must be a positive integer; got {factor!r}.")
    edges = cell_edges(centres)
    if clip is not None:
        edges = np.clip(edges, -clip, clip)
    width = np.diff(edges)[:, None]
    offsets = (np.arange(int(factor), dtype=np.float64) + 0.5) / factor
    return (edges[:-1, None] + offsets[None, :] * width).ravel()


def cell_index(centres: np.ndarray, axis: np.ndarray, *, periodic: bool) -> np.ndarray:
    """The index of the ``axis`` cell holding each of ``centres`` (-1 outside every cell).

    Cells are bounded halfway between the axis' points (:func:`cell_edges`); ``periodic`` axes
    are longitudes, compared modulo 360.

    Example:
        >>> cell_index(np.array([0.1, 0.9, 5.0]), np.array([0.0, 1.0]), periodic=False).tolist()
        [0, 1, -1]
    """
    axis = np.unwrap(axis, period=360.0) if periodic else np.asarray(axis, dtype=np.float64)
    descending = axis.size > 1 and axis[0] > axis[-1]
    edges = np.sort(cell_edges(axis))
    values = np.asarray(centres, dtype=np.float64)
    if periodic:  # the representation of each longitude that lies east of the western edge
        values = np.mod(values - edges[0], 360.0) + edges[0]
    index = np.searchsorted(edges, values, side="right") - 1
    index[(values < edges[0]) | (values >= edges[-1])] = -1
    if descending:
        index = np.where(index >= 0, axis.size - 1 - index, -1)
    return index
