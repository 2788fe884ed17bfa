"""The sensors modality: 1-D time series with irregular sampling and gaps, as vamoh point sets.

Each series (a sensor, a station) is one sample; each variable is one channel; the time stamps,
mapped onto [-1, 1] over the training span, are the points. A series that misses a time stamp
simply has NaN there, so irregular, unaligned records need no resampling.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.coordinates import BoxCoordinates
from vamoh.modality import Modality
from vamoh.pointset import PointSet
from vamoh_sensors.errors import SensorDataError
from vamoh_sensors.examples import invalid_records, synthetic_records
from vamoh_sensors.layout import SensorLayout
from vamoh_sensors.linear import linear_interpolate
from vamoh_sensors.records import SensorRecords, looks_spatial, parse_records
from vamoh_sensors.timespan import TimeSpan, time_kind

__all__ = ["SensorModality"]

_NEW_SAMPLE_DIM = "sample"


def _values_of(records: SensorRecords) -> Any:
    """``(S, N, C)`` values (numpy or lazy dask), float dtypes kept, others as float32."""
    ds = records.dataset[list(records.variables)]
    quantities = [v for v in records.variables if hasattr(ds[v].data, "magnitude")]
    if quantities:  # pint-xarray quantities: model the magnitudes, keep the units as attrs
        ds = ds.assign({v: ds[v].copy(data=ds[v].data.magnitude) for v in quantities})
    order = (records.sample_dim, records.time_dim) if records.sample_dim else (records.time_dim,)
    stacked = ds.to_dataarray(dim="__channel__").transpose(*order, "__channel__").data
    if records.sample_dim is None:
        stacked = stacked[None]
    return stacked if stacked.dtype.kind == "f" else stacked.astype(np.float32)


def _attrs_of(records: SensorRecords, name: str) -> dict[str, Any]:
    da = records.dataset[name]
    attrs = dict(da.attrs)
    if hasattr(da.data, "magnitude") and hasattr(da.data, "units"):
        attrs["units"] = str(da.data.units)
    return attrs


def _refined_times(times: np.ndarray, factor: int) -> np.ndarray:
    """``factor - 1`` equally spaced stamps between each pair of consecutive (sorted) stamps."""
    ordered = np.unique(times)
    kind = time_kind(ordered)
    fractions = np.arange(factor)[None, :]
    if kind == "numeric":
        base = ordered.astype(np.float64)
        inner = base[:-1, None] + np.diff(base)[:, None] * fractions / factor
        return np.concatenate([inner.ravel(), base[-1:]])
    unit = "datetime64[ns]" if kind == "datetime" else "timedelta64[ns]"
    ns = ordered.astype(unit).astype(np.int64)
    inner = ns[:-1, None] + (np.diff(ns)[:, None] * fractions) // factor
    return np.concatenate([inner.ravel(), ns[-1:]]).astype(unit)


class SensorModality(Modality):
    """Sensor time series: dims ``(series, time)`` or ``(time)``, one channel per variable.

    Unbound, the modality maps each dataset's own time span onto [-1, 1]; a trained model binds
    it to the training span (:meth:`state` / :meth:`with_state`), so new records map to the same
    model coordinates.

    Example:
        >>> modality = SensorModality()
        >>> data = modality.example_data()
        >>> points = modality.to_points(data)
        >>> points.n_samples, points.dim, points.channels
        (4, 1, ('temperature', 'humidity'))
        >>> modality.from_points(points)["temperature"].dims
        ('sensor', 'time')
    """

    name: ClassVar[str] = "sensors"
    likelihood: ClassVar[str] = "gaussian"
    normalisation: ClassVar[str] = "standard"
    description: ClassVar[str] = "1-D sensor time series: irregular time stamps, NaN gaps"
    errors: ClassVar[tuple[type[Exception], ...]] = (SensorDataError,)

    def __init__(self, span: TimeSpan | None = None) -> None:
        self.span = span

    @property  # type: ignore[override]
    def coordinate_system(self) -> BoxCoordinates | None:
        """The training span as a box on [-1, 1]; ``None`` until bound to a span."""
        return None if self.span is None else self.span.coordinate_system()

    # -- detection -----------------------------------------------------------------------------
    def can_handle(self, data: Any) -> float:
        """0.3 for records along time, 0.1 when they look like stations on a map, else 0.

        Stations with latitude/longitude are usually better served by a spatial modality
        (``climate``), which scores them higher.

        Example:
            >>> modality = SensorModality()
            >>> modality.can_handle(modality.example_data()), modality.can_handle([1, 2])
            (0.3, 0.0)
        """
        if not isinstance(data, (xr.Dataset, xr.DataArray)):
            return 0.0
        try:
            records = parse_records(data)
        except SensorDataError:
            return 0.0
        return 0.1 if looks_spatial(records) else 0.3

    # -- conversion ----------------------------------------------------------------------------
    def to_points(
        self,
        data: Any,
        *,
        variables: list[str] | None = None,
        sample_dim: str | list[str] | None = None,
    ) -> PointSet:
        """Records -> points: ``(N, 1)`` times in [-1, 1], ``(S, N, C)`` values (dask stays lazy).

        Raises:
            SensorDataError: when ``data`` is not a set of numeric records along one time axis
                (see :func:`vamoh_sensors.records.parse_records`), or its time stamps are of
                another kind than the span this modality is bound to.
        """
        records = parse_records(data, variables=variables, sample_dim=sample_dim)
        times = records.times
        span = self.span if self.span is not None else TimeSpan.of(times)
        coords = span.to_model(times)  # (N, 1)
        ds = records.dataset
        keep = {records.time_dim, records.sample_dim} - {None}
        coord_names = [c for c in ds.coords if set(ds[c].dims) <= keep]
        layout = SensorLayout(
            time_dim=records.time_dim,
            sample_dim=records.sample_dim,
            n_samples=records.n_samples,
            variables=records.variables,
            dims={v: tuple(map(str, ds[v].dims)) for v in records.variables},
            attrs={v: _attrs_of(records, v) for v in records.variables},
            dataset_attrs=dict(ds.attrs),
            coords=xr.Dataset(coords={c: ds.coords[c].variable for c in coord_names}),
            from_dataarray=records.from_dataarray,
            span=span,
        )
        units = tuple(layout.attrs[v].get("units") for v in records.variables)
        return PointSet(
            coords=coords,
            values=_values_of(records),
            channels=records.variables,
            units=tuple(None if u is None else str(u) for u in units),
            layout=layout,
        )

    def from_points(self, points: PointSet) -> xr.Dataset:
        """A point set on a layout from :meth:`to_points` -> a Dataset with the user's dims, attrs.

        Channels ``<variable>_<suffix>`` take the variable's attrs and units (``_std`` gets the
        long name "standard deviation of ..."); other channels get no attrs. A sample count that
        differs from the layout's becomes a new integer ``sample`` dimension.
        """
        layout = points.layout
        if not isinstance(layout, SensorLayout):
            raise SensorDataError(
                "from_points needs a PointSet made by SensorModality.to_points (its layout is "
                f"{type(layout).__name__}); convert the data with the same modality."
            )
        n_times = layout.coords.sizes[layout.time_dim]
        if points.n_points != n_times:
            raise SensorDataError(
                f"the point set has {points.n_points} points but its layout has {n_times} time "
                f"stamps; keep the layout that to_points produced for these points."
            )
        n_samples = points.n_samples
        same_samples = n_samples == layout.n_samples
        coords = layout.coords
        if same_samples:
            sample_dim = layout.sample_dim
        else:
            sample_dim = _NEW_SAMPLE_DIM
            if layout.sample_dim is not None:
                along_samples = [c for c in coords.coords if layout.sample_dim in coords[c].dims]
                coords = coords.drop_vars(along_samples)
            coords = coords.assign_coords({_NEW_SAMPLE_DIM: np.arange(n_samples)})

        data_vars = {}
        for index, channel in enumerate(points.channels):
            base = layout.base_variable(channel)
            user_dims = layout.dims[base if base is not None else layout.variables[0]]
            values = points.values[..., index]  # (S, N)
            if sample_dim is None:
                array = xr.DataArray(values[0], dims=(layout.time_dim,))
            else:
                array = xr.DataArray(values, dims=(sample_dim, layout.time_dim))
                target = tuple(sample_dim if d == layout.sample_dim else d for d in user_dims)
                if sample_dim not in target:
                    target = (sample_dim, *target)
                array = array.transpose(*target)
            data_vars[channel] = array.assign_attrs(self._channel_attrs(layout, channel, base))
        return xr.Dataset(
            data_vars, coords=coords.copy(deep=True).coords, attrs=dict(layout.dataset_attrs)
        )

    @staticmethod
    def _channel_attrs(layout: SensorLayout, channel: str, base: str | None) -> dict[str, Any]:
        if base is None:
            return {}
        attrs = dict(layout.attrs[base])
        if channel != base and channel[len(base) + 1 :] == "std":
            attrs["long_name"] = f"standard deviation of {attrs.get('long_name', base)}"
        return attrs

    # -- fitted state ------------------------------------------------------------------------
    def state(self, points: PointSet) -> dict[str, Any]:
        """The training time span, JSON-able (kind, start, stop in seconds).

        Example:
            >>> modality = SensorModality()
            >>> state = modality.state(modality.to_points(modality.example_data()))
            >>> state["kind"], state["units"]
            ('datetime', 'seconds since 1970-01-01T00:00:00')
        """
        layout = points.layout
        if not isinstance(layout, SensorLayout):
            raise SensorDataError("state needs a PointSet made by SensorModality.to_points.")
        return layout.span.to_state()

    def with_state(self, state: dict[str, Any]) -> SensorModality:
        """A modality bound to a saved span (an empty state leaves it unbound).

        Example:
            >>> bound = SensorModality().with_state({"kind": "numeric", "start": 0, "stop": 10})
            >>> bound.coordinate_system.to_model([[5.0]]).tolist()
            [[0.0]]
        """
        return SensorModality(TimeSpan.from_state(state)) if state else SensorModality(self.span)

    # -- optional ----------------------------------------------------------------------------
    def refine(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        """An all-NaN template of ``data`` at finer or chosen time stamps.

        Args:
            data: the records (Dataset or DataArray); the template has the same type.
            factor: put ``factor - 1`` equally spaced stamps between consecutive stamps.
            to: the time stamps to use instead: an array, or an xarray object with the time
                coordinate.

        Example:
            >>> import numpy as np, xarray as xr
            >>> da = xr.DataArray([1.0, 3.0], dims="time", coords={"time": [0.0, 1.0]}, name="v")
            >>> SensorModality().refine(da, factor=4)["time"].values.tolist()
            [0.0, 0.25, 0.5, 0.75, 1.0]
        """
        if (factor is None) == (to is None):
            raise SensorDataError("refine needs exactly one of factor=k or to=time stamps.")
        records = parse_records(data)
        times = records.times
        if factor is not None:
            if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
                raise SensorDataError(f"factor must be a positive integer; got {factor!r}.")
            new_times = _refined_times(times, int(factor))
        else:
            new_times = self._target_times(to, records)
        ds = records.dataset[list(records.variables)]
        along_time = [c for c in ds.coords if records.time_dim in ds[c].dims]
        ds = ds.drop_vars([c for c in along_time if c != records.time_dim])
        template = xr.full_like(ds.reindex({records.time_dim: new_times}), np.nan, dtype=float)
        if records.from_dataarray:
            return template[records.variables[0]].rename(getattr(data, "name", None))
        return template

    @staticmethod
    def _target_times(to: Any, records: SensorRecords) -> np.ndarray:
        if isinstance(to, (xr.Dataset, xr.DataArray)):
            if records.time_dim not in to.coords:
                raise SensorDataError(
                    f"the target has no {records.time_dim!r} coordinate; pass an object with one, "
                    f"or the time stamps themselves."
                )
            new_times = np.asarray(to[records.time_dim].values)
        else:
            new_times = np.asarray(to)
        if new_times.ndim != 1 or new_times.size == 0:
            raise SensorDataError(
                f"to= needs a 1-D list of time stamps; got shape {new_times.shape}."
            )
        if time_kind(new_times) != time_kind(records.times):
            raise SensorDataError(
                f"to= has {time_kind(new_times)} time stamps but the data has "
                f"{time_kind(records.times)} ones; give the same kind."
            )
        return new_times

    def default_config(self, points: PointSet) -> dict[str, Any]:
        """A small hybrid model sized to the record length: three 1-D PointConv levels, K=2, dim_z=8.

        Example:
            >>> modality = SensorModality()
            >>> config = modality.default_config(modality.to_points(modality.example_data()))
            >>> config["encoder_centroids"], config["encoder_neighbours"]
            ([24, 6, 1], [5, 5, 5])
        """
        n = points.n_points
        first = max(1, min(128, n // 2))
        second = max(1, first // 4)
        third = max(1, second // 4)
        return {
            "dim_z": 8,
            "n_components": 2,
            "fourier_features": 32,
            # a record of n stamps can vary n / 2 times over [-1, 1]; resolve a few samples
            "fourier_scale": float(np.clip(n / 16.0, 2.0, 16.0)),
            "encoder_centroids": [first, second, third],
            "encoder_neighbours": [min(5, n), min(5, first), min(5, second)],
            "encoder_channels": [16, 32, 32],
            "encoder_weight_net": [16, 16],
            "hypernet_layers": [32, 64],
            "generator_layers": [32, 32],
            "categorical_layers": [16, 16],
            "flow_layers": 2,
            # a few short records are too little for the global latent alone: start from
            # linear interpolation in time and learn the residual over it
            "conditioning": "hybrid",
            "likelihood": self.likelihood,
            "batch_size": max(1, min(32, points.n_samples)),
            "lr": 1e-3,
            "max_epochs": 300,
            "flow_warmup_epochs": 100,
            "categorical_warmup_epochs": 50,
        }

    def interpolate(
        self, points: PointSet, observed: np.ndarray, query_coords: np.ndarray
    ) -> np.ndarray:
        """Linear interpolation in time between each series' neighbouring observations.

        Example:
            >>> import numpy as np, xarray as xr
            >>> da = xr.DataArray([[0.0, np.nan, 4.0]], dims=("sensor", "time"),
            ...                   coords={"time": [0.0, 1.0, 2.0]}, name="v")
            >>> modality = SensorModality()
            >>> points = modality.to_points(da)
            >>> modality.interpolate(points, points.samples([0]), points.coords)[0, :, 0].tolist()
            [0.0, 2.0, 4.0]
        """
        return linear_interpolate(points.coords[:, 0], observed, np.asarray(query_coords)[:, 0])

    # -- conformance examples (vamoh.testing) ------------------------------------------------
    def example_data(self) -> xr.Dataset:
        """Tiny valid records: 4 sensors, 48 irregular hourly stamps, 2 variables, gaps."""
        return synthetic_records(n_series=4, n_times=48, seed=0)

    def invalid_examples(self) -> list[tuple[Any, type[Exception]]]:
        """Bad inputs and the error each raises (checked by ``vamoh.testing.check_modality``)."""
        return [(data, SensorDataError) for data in invalid_records()]
