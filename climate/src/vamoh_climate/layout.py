"""The climate point set and its way back: xarray -> ``(S, N, C)`` values and the exact inverse.

:func:`encode` flattens the spatial dims into points (grid: (lat, lon) row-major, as stored, so a
descending latitude stays descending) and stacks the sample dims; values that are dask arrays stay
dask arrays. :class:`ClimateLayout` keeps everything :func:`decode` needs to rebuild the Dataset:
dims order, coordinates (incl. non-index ones such as a station's lat/lon), attrs and units.

Samples that are entirely NaN are kept: ``to_points`` is a pure conversion (a prediction template
may legitimately be all NaN, and finding such samples in a lazy store would read all of it).
``vamoh.fit`` leaves them out of training, checking the values chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
import xarray as xr

from vamoh.pointset import PointSet
from vamoh_climate.errors import LayoutError
from vamoh_climate.grid import Geometry
from vamoh_climate.sphere import SphereCoordinates
from vamoh_climate.units import units_of
from vamoh_climate.variables import Selection

__all__ = ["SAMPLE_DIM", "ClimateLayout", "decode", "encode"]

SAMPLE_DIM = "sample"  # the integer dim of outputs whose samples are not the input's samples


@dataclass(frozen=True, eq=False)
class ClimateLayout:
    """What ``from_points`` needs to rebuild xarray from a climate :class:`PointSet`.

    Attributes:
        geometry: spatial structure (grid axes or station locations).
        variables: the input variables, in channel order.
        var_dims: each variable's dims in the input's order.
        var_attrs: each variable's attrs (units included).
        attrs: the dataset's attrs.
        coords: the input's coordinates (a coords-only Dataset).
        sample_dims: the dims stacked into samples, in order (may be empty: one sample).
        sample_shape: their sizes (their product is the number of samples).

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> layout = ClimateModality().to_points(global_field(3, 4, 8)).layout
        >>> layout.sample_dims, layout.n_samples, layout.var_dims["t2m"]
        (('time',), 3, ('time', 'latitude', 'longitude'))
    """

    geometry: Geometry
    variables: tuple[str, ...]
    var_dims: dict[str, tuple[str, ...]]
    var_attrs: dict[str, dict[str, Any]]
    attrs: dict[str, Any]
    coords: xr.Dataset
    sample_dims: tuple[str, ...]
    sample_shape: tuple[int, ...]

    @property
    def n_samples(self) -> int:
        return int(np.prod(self.sample_shape)) if self.sample_shape else 1

    def __repr__(self) -> str:
        return (
            f"ClimateLayout({self.geometry.kind} {dict(zip(self.geometry.dims, self.geometry.shape))}, "
            f"variables={self.variables}, samples={self.n_samples} over {self.sample_dims})"
        )


def _is_dask(array: Any) -> bool:
    return dask.is_dask_collection(array)


def encode(ds: xr.Dataset, geometry: Geometry, selection: Selection) -> PointSet:
    """The point set of ``ds``'s selected variables; lazy values stay lazy (nothing computes).

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate.grid import geometry_of
        >>> from vamoh_climate.variables import select
        >>> ds = xr.Dataset({"t": (("time", "lat", "lon"), np.zeros((2, 3, 4)), {"units": "K"})},
        ...                 coords={"lat": [10.0, 0.0, -10.0], "lon": [0.0, 90.0, 180.0, 270.0]})
        >>> g = geometry_of(ds, "lat", "lon")
        >>> ps = encode(ds, g, select(ds, g.dims))
        >>> ps.values.shape, ps.coords.shape, ps.units
        ((2, 12, 1), (12, 3), ('K',))
    """
    sample_dims = selection.sample_dims
    sample_shape = tuple(int(ds.sizes[d]) for d in sample_dims)
    n_total = int(np.prod(sample_shape)) if sample_shape else 1
    n_points = geometry.n_points
    columns = []
    for name in selection.variables:
        array = ds[name].variable.transpose(*sample_dims, *geometry.dims).data
        if array.dtype.kind not in "fc":  # ints/bools need NaN for gaps
            array = array.astype(np.float32)
        columns.append(array.reshape(n_total, n_points))
    lazy = any(_is_dask(c) for c in columns)
    if lazy:
        import dask.array as da

        values: Any = da.stack([da.asarray(c) for c in columns], axis=-1)
    else:
        values = np.stack([np.asarray(c) for c in columns], axis=-1)
    lat, lon = geometry.point_latlon()
    layout = ClimateLayout(
        geometry=geometry,
        variables=selection.variables,
        var_dims={n: tuple(map(str, ds[n].dims)) for n in selection.variables},
        var_attrs={n: dict(ds[n].attrs) for n in selection.variables},
        attrs=dict(ds.attrs),
        coords=xr.Dataset(coords=ds[list(selection.variables)].coords),
        sample_dims=sample_dims,
        sample_shape=sample_shape,
    )
    return PointSet(
        coords=SphereCoordinates().latlon_to_xyz(lat, lon),
        values=values,
        channels=selection.variables,
        units=tuple(units_of(ds[n], n) for n in selection.variables),
        layout=layout,
        weights=np.clip(np.cos(np.radians(lat)), 0.0, None),
        meta={"kind": geometry.kind, "spatial_shape": geometry.shape},
    )


def _channel_base(channel: str, variables: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(variable, suffix) for ``t2m`` -> (t2m, None), ``t2m_std`` -> (t2m, std), else (None, None)."""
    if channel in variables:
        return channel, None
    matches = [v for v in variables if channel.startswith(v + "_")]
    if not matches:
        return None, None
    base = max(matches, key=len)
    return base, channel[len(base) + 1 :]


def _channel_attrs(layout: ClimateLayout, base: str | None, suffix: str | None) -> dict[str, Any]:
    if base is None:
        return {}
    attrs = dict(layout.var_attrs[base])
    if suffix == "std":
        described = attrs.get("long_name", base)
        attrs["long_name"] = f"standard deviation of {described}"
        attrs.pop("standard_name", None)
    return attrs


def _output_dims(layout: ClimateLayout, base: str | None, new_sample: bool) -> tuple[str, ...]:
    dims = layout.var_dims[base if base is not None else layout.variables[0]]
    if not new_sample:
        return dims
    out: list[str] = []
    for d in dims:
        if d in layout.sample_dims:
            if SAMPLE_DIM not in out:
                out.append(SAMPLE_DIM)
        else:
            out.append(d)
    return tuple(out) if SAMPLE_DIM in out else (SAMPLE_DIM, *out)


def decode(points: PointSet) -> xr.Dataset:
    """Rebuild the Dataset of ``points`` (from :func:`encode`, values possibly replaced).

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate.grid import geometry_of
        >>> from vamoh_climate.variables import select
        >>> ds = xr.Dataset({"t": (("lon", "lat"), np.arange(6.0).reshape(3, 2), {"units": "degC"})},
        ...                 coords={"lat": [10.0, 0.0], "lon": [0.0, 90.0, 180.0]})
        >>> g = geometry_of(ds, "lat", "lon")
        >>> back = decode(encode(ds, g, select(ds, g.dims)))
        >>> back.identical(ds)
        True
    """
    layout = points.layout
    if not isinstance(layout, ClimateLayout):
        raise LayoutError(
            f"these points have layout {type(layout).__name__}, not a ClimateLayout; pass a "
            f"PointSet made by the climate modality's to_points (or .with_values of one)."
        )
    geometry = layout.geometry
    values = points.values
    s, n, c = (int(x) for x in values.shape)
    if n != geometry.n_points:
        raise LayoutError(
            f"points have {n} locations but the layout has {geometry.n_points} "
            f"({dict(zip(geometry.dims, geometry.shape))}); use the PointSet from to_points."
        )
    new_sample = s != layout.n_samples
    if not _is_dask(values):
        values = np.asarray(values)
    if new_sample:
        shape: tuple[int, ...] = (s,)
        dims: tuple[str, ...] = (SAMPLE_DIM,)
    else:
        shape, dims = layout.sample_shape, layout.sample_dims
    block = values.reshape(*shape, *geometry.shape, c)
    coords = layout.coords
    if new_sample:
        coords = coords.drop_vars(
            [k for k, v in coords.variables.items() if set(v.dims) & set(layout.sample_dims)]
        ).assign_coords({SAMPLE_DIM: np.arange(s)})
    full_dims = (*dims, *geometry.dims)
    arrays = {}
    for index, channel in enumerate(points.channels):
        base, suffix = _channel_base(channel, layout.variables)
        variable = xr.Variable(
            full_dims, block[..., index], attrs=_channel_attrs(layout, base, suffix)
        )
        arrays[channel] = variable.transpose(*_output_dims(layout, base, new_sample))
    return xr.Dataset(arrays, coords=coords.coords, attrs=dict(layout.attrs))
