"""The ``voxels`` modality: 3-D occupancy grids ``(shape, x, y, z)`` as point clouds in [-1, 1]^3.

Each voxel is a point at its centre (see :mod:`vamoh_voxels.grid` for the convention) with one
value per occupancy variable, modelled with a Bernoulli likelihood on values already in {0, 1}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.config import VaMoHConfig
from vamoh.coordinates import BoxCoordinates
from vamoh.modality import Modality
from vamoh.pointset import PointSet
from vamoh.validation import check_not_empty, non_finite_message
from vamoh_voxels.errors import OccupancyArrayError
from vamoh_voxels.grid import SPATIAL_DIMS, refine_axis, resample_axis, voxel_axis

__all__ = [
    "BALANCE_OCCUPANCY",
    "CONDITIONING",
    "POINTS_PER_SAMPLE",
    "VoxelLayout",
    "VoxelModality",
]

# The voxel defaults, in one place (rerun benchmarks/voxels_quality.py to revisit them). Measured
# on held-out ModelNet10 chairs after equal 2.5-minute CPU budgets: uniform draws left the model
# predicting empty grids (IoU 0), balanced draws gave shapes (IoU about 0.2 for reconstruction and
# completion); the local conditioning copied observed voxels but completed hidden halves worse
# than the global latent and, balanced, lost on every task. So: the paper's global latent, trained
# on the paper's 4096 voxels per shape per step, drawn half occupied and half empty.
CONDITIONING = "global"
POINTS_PER_SAMPLE = 4096
BALANCE_OCCUPANCY = True

# Variable names that announce occupancy; they raise the detection score.
OCCUPANCY_NAMES = ("occupancy", "occupied", "occ", "voxel", "voxels", "solid", "inside")
# Grid points kept in memory for a refined template before it is built lazily with dask.
_EAGER_TEMPLATE_LIMIT = 16_000_000
_COORD_TOLERANCE = 1e-5


@dataclass(frozen=True)
class VoxelLayout:
    """What :meth:`VoxelModality.from_points` needs to rebuild the xarray object.

    Attributes:
        variables: the occupancy variables, one channel each, in channel order.
        var_dims: each variable's dims in its original order.
        var_attrs: each variable's attrs.
        coords: the input's coordinates (a Dataset without data variables).
        attrs: the input's dataset attrs.
        sample_dim: the shape/sample dimension, or ``None`` for a single grid.
        n_samples: how many samples the input had.
        grid_shape: voxels along x, y and z.
        axes: the x, y and z voxel-centre coordinates used for the points.

    Example:
        >>> import numpy as np
        >>> from vamoh_voxels import occupancy_dataset
        >>> layout = VoxelModality().to_points(occupancy_dataset(np.ones((2, 3, 4, 5)))).layout
        >>> layout.sample_dim, layout.n_samples, layout.grid_shape
        ('shape', 2, (3, 4, 5))
    """

    variables: tuple[str, ...]
    var_dims: dict[str, tuple[str, ...]]
    var_attrs: dict[str, dict[str, Any]]
    coords: xr.Dataset
    attrs: dict[str, Any]
    sample_dim: str | None
    n_samples: int
    grid_shape: tuple[int, int, int]
    axes: tuple[np.ndarray, np.ndarray, np.ndarray]


def _as_dataset(data: Any) -> xr.Dataset:
    if isinstance(data, xr.DataArray):
        return data.to_dataset(name=data.name if data.name is not None else "occupancy")
    if isinstance(data, xr.Dataset):
        return data
    raise TypeError(
        f"the voxels modality takes an xarray Dataset or DataArray; got {type(data).__name__}. "
        f"Wrap numpy arrays with vamoh_voxels.occupancy_dataset(array)."
    )


def _grid_variables(dataset: xr.Dataset) -> list[str]:
    return [
        str(name) for name, var in dataset.data_vars.items() if set(SPATIAL_DIMS) <= set(var.dims)
    ]


def _is_lazy(variable: xr.DataArray) -> bool:
    return hasattr(variable.data, "dask")


def _value_range(variable: xr.DataArray) -> tuple[float, float, bool]:
    """(min, max, binary) of the observed values of an in-memory variable."""
    values = np.asarray(variable.values)
    observed = values[~np.isnan(values)] if values.dtype.kind == "f" else values
    if observed.size == 0:
        return 0.0, 1.0, True
    low, high = float(observed.min()), float(observed.max())
    binary = bool(((observed == 0) | (observed == 1)).all())
    return low, high, binary


def _refuse_infinite(variable: xr.DataArray, name: str, sample: str | None) -> None:
    """Infinite occupancy (NaN marks unobserved voxels and is fine) named with its counts."""
    ordered = variable.transpose(sample, ...) if sample else variable
    values = np.asarray(ordered.values)
    if values.dtype.kind != "f":
        return
    infinite = np.isinf(values)
    if not infinite.any():
        return
    per_sample = (
        infinite.reshape(values.shape[0], -1).any(axis=1) if sample else infinite.any()[None]
    )
    raise OccupancyArrayError(
        non_finite_message(
            name,
            int((infinite & (values > 0)).sum()),
            int((infinite & (values < 0)).sum()),
            int(per_sample.sum()),
            int(per_sample.size),
            int(np.flatnonzero(per_sample)[0]),
        )
    )


class VoxelModality(Modality):
    """3-D occupancy grids: ``occupancy`` over ``(shape, x, y, z)``, values 0/1, NaN = unobserved.

    Coordinates are voxel centres in [-1, 1]^3 (x, y, z columns); the sample dimension is the
    one dim beside ``x``, ``y``, ``z`` (usually ``shape``). The default config is the paper's
    ShapeNet preset (Table 3), scaled down for small grids and for CPUs, with the module's
    :data:`CONDITIONING`.

    Args:
        points_per_sample: voxels drawn per shape per training step (the paper's 4096).
        balance_occupancy: draw training voxels half occupied and half empty (the default,
            :data:`BALANCE_OCCUPANCY`) instead of uniformly (the paper), through
            :meth:`sample_points`. Shapes fill a few percent of their grid, so uniform draws see
            few occupied voxels and a briefly trained model predicts empty grids; balanced draws
            learn shapes sooner, at the cost of occupancy probabilities that run high near the
            surface. Pass ``False`` for calibrated probabilities after long training.

    Example:
        >>> import numpy as np
        >>> from vamoh_voxels import occupancy_dataset
        >>> cube = np.zeros((2, 4, 4, 4)); cube[:, 1:3, 1:3, 1:3] = 1
        >>> ds = occupancy_dataset(cube)
        >>> modality = VoxelModality()
        >>> modality.can_handle(ds)
        1.0
        >>> points = modality.to_points(ds)
        >>> points.values.shape, points.coords.min(), points.coords.max()
        ((2, 64, 1), np.float32(-1.0), np.float32(1.0))
        >>> modality.from_points(points).identical(ds)
        True
    """

    name: ClassVar[str] = "voxels"
    likelihood: ClassVar[str] = "bernoulli"
    normalisation: ClassVar[str] = "none"
    description: ClassVar[str] = "3-D occupancy grids (shape, x, y, z): binvox, ShapeNet, meshes"
    errors: ClassVar[tuple[type[Exception], ...]] = (OccupancyArrayError,)

    def __init__(
        self,
        *,
        points_per_sample: int = POINTS_PER_SAMPLE,
        balance_occupancy: bool = BALANCE_OCCUPANCY,
    ) -> None:
        if int(points_per_sample) != points_per_sample or points_per_sample < 1:
            raise ValueError(
                f"points_per_sample must be a positive integer; got {points_per_sample!r}."
            )
        self.points_per_sample = int(points_per_sample)
        self.balance_occupancy = bool(balance_occupancy)
        self.coordinate_system = BoxCoordinates(lower=[-1.0] * 3, upper=[1.0] * 3)

    # -- conformance protocol (vamoh.testing.check_modality) ---------------------------------
    def example_data(self) -> xr.Dataset:
        """Four tiny 6^3 shapes (boxes of different sizes), the conformance suite's sample."""
        from vamoh_voxels.arrays import occupancy_dataset

        grids = np.zeros((4, 6, 6, 6), dtype=np.float32)
        for index in range(4):
            grids[index, 1 : 3 + index % 3, 1:5, 1 : 2 + index] = 1.0
        return occupancy_dataset(grids, labels=["a", "b", "c", "d"])

    def invalid_examples(self) -> list[tuple[Any, type[Exception]]]:
        """Bad inputs and the error ``to_points`` raises for each."""
        good = self.example_data()
        return [
            (good.rename(x="i"), OccupancyArrayError),  # no x dim
            (good * 5.0, OccupancyArrayError),  # values outside [0, 1]
            (good.assign_coords(x=np.arange(6.0)), OccupancyArrayError),  # index coordinates
            (good.expand_dims(view=2), OccupancyArrayError),  # two sample dims
            (good.isel(shape=slice(0, 0)), OccupancyArrayError),  # no shapes
            (good.where(good.x > 0, np.inf), OccupancyArrayError),  # infinite occupancy
            (good.astype(str), OccupancyArrayError),  # not numbers
        ]

    # -- detection ---------------------------------------------------------------------------
    def can_handle(self, data: Any) -> float:
        if not isinstance(data, xr.DataArray | xr.Dataset):
            return 0.0
        dataset = _as_dataset(data)
        names = _grid_variables(dataset)
        if not names:
            return 0.0
        if any(len(set(dataset[n].dims) - set(SPATIAL_DIMS)) > 1 for n in names):
            return 0.0
        score = 0.5
        if any(n.lower() in OCCUPANCY_NAMES for n in names):
            score += 0.3
        in_memory = [dataset[n] for n in names if not _is_lazy(dataset[n])]
        if in_memory:
            if any(dataset[n].dtype.kind not in "biuf" for n in names):
                return 0.0
            ranges = [_value_range(v) for v in in_memory]
            if any(low < 0.0 or high > 1.0 for low, high, _ in ranges):
                return 0.0  # a 3-D field that is not occupancy (temperature, density, ...)
            if len(in_memory) == len(names) and all(binary for _, _, binary in ranges):
                score += 0.2
        return round(score, 6)

    # -- conversion ----------------------------------------------------------------------------
    def _sample_dim(
        self, dataset: xr.Dataset, names: list[str], sample_dim: str | list[str] | None
    ) -> str | None:
        extra = {d for n in names for d in dataset[n].dims} - set(SPATIAL_DIMS)
        if isinstance(sample_dim, list | tuple):
            if len(sample_dim) != 1:
                raise OccupancyArrayError(
                    f"voxel grids have one sample dimension; got sample_dim={sample_dim}. Stack "
                    f"them first, e.g. data.stack(shape={list(sample_dim)})."
                )
            sample_dim = sample_dim[0]
        if sample_dim is not None:
            if sample_dim not in dataset.dims:
                raise OccupancyArrayError(
                    f"sample_dim {sample_dim!r} is not a dimension of the data; dims are "
                    f"{list(dataset.dims)}."
                )
            extra.discard(sample_dim)
            if extra:
                raise OccupancyArrayError(
                    f"occupancy variables have dims {sorted(extra)} beside x, y, z and "
                    f"{sample_dim!r}; select or stack them (data.isel(...) / data.stack(...))."
                )
            return str(sample_dim)
        if len(extra) > 1:
            raise OccupancyArrayError(
                f"occupancy variables have several dims beside x, y, z: {sorted(extra)}. Voxel "
                f"grids take one sample dim: pass sample_dim=..., or stack them, e.g. "
                f"data.stack(shape={sorted(extra)})."
            )
        return str(next(iter(extra))) if extra else None

    def _axes(self, dataset: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        axes = []
        for dim in SPATIAL_DIMS:
            size = dataset.sizes[dim]
            if dim not in dataset.coords:
                axes.append(voxel_axis(size))
                continue
            axis = np.asarray(dataset[dim].values)
            if axis.dtype.kind not in "iuf":
                raise OccupancyArrayError(
                    f"coordinate {dim!r} must be numeric voxel centres; got dtype {axis.dtype}."
                )
            if axis.size and (
                axis.min() < -1.0 - _COORD_TOLERANCE or axis.max() > 1.0 + _COORD_TOLERANCE
            ):
                raise OccupancyArrayError(
                    f"coordinate {dim!r} spans [{axis.min()}, {axis.max()}] but voxel centres "
                    f"are model coordinates in [-1, 1] (see vamoh_voxels.grid). Drop it to use "
                    f"the default grid: data.drop_vars({list(SPATIAL_DIMS)})."
                )
            axes.append(axis)
        return axes[0], axes[1], axes[2]

    def to_points(
        self,
        data: Any,
        *,
        variables: list[str] | None = None,
        sample_dim: str | list[str] | None = None,
    ) -> PointSet:
        dataset = _as_dataset(data)
        missing_dims = [d for d in SPATIAL_DIMS if d not in dataset.dims]
        if missing_dims:
            raise OccupancyArrayError(
                f"voxel grids need dims x, y and z; missing {missing_dims} (dims are "
                f"{list(dataset.dims)}). Rename them, e.g. data.rename(dim_1='x', ...)."
            )
        grid_names = _grid_variables(dataset)
        names = list(variables) if variables is not None else grid_names
        unknown = [n for n in names if n not in grid_names]
        if unknown or not names:
            raise OccupancyArrayError(
                f"no occupancy variable {unknown or ''} over (x, y, z) to model; variables over "
                f"x, y, z: {grid_names or 'none'}."
            )
        sample = self._sample_dim(dataset, names, sample_dim)
        order = (*((sample,) if sample else ()), *SPATIAL_DIMS)
        for name in names:
            variable = dataset[name]
            check_not_empty(variable.sizes, f"occupancy variable {name!r}", OccupancyArrayError)
            if variable.dtype.kind not in "biuf":
                raise OccupancyArrayError(
                    f"occupancy variable {name!r} must be numeric; got dtype {variable.dtype}. "
                    f"Convert it, e.g. data[{name!r}].astype('float32'), or threshold it to 0/1."
                )
            if not _is_lazy(variable):
                _refuse_infinite(variable, name, sample)
                low, high, _ = _value_range(variable)
                if low < 0.0 or high > 1.0:
                    raise OccupancyArrayError(
                        f"occupancy variable {name!r} has values in [{low}, {high}]; occupancy "
                        f"is 0/1 (or a probability in [0, 1], NaN where unobserved). Threshold "
                        f"or rescale it first."
                    )
        axes = self._axes(dataset)
        grid_shape = (len(axes[0]), len(axes[1]), len(axes[2]))
        n_samples = dataset.sizes[sample] if sample else 1
        n_points = int(np.prod(grid_shape))
        columns = []
        for name in names:
            values = dataset[name].transpose(*order).data
            if values.dtype.kind in "biu":
                values = values.astype(np.float32)
            columns.append(values.reshape(n_samples, n_points))  # (S, N), a view when in memory
        if len(columns) == 1:
            stacked = columns[0][..., None]
        elif any(hasattr(c, "dask") for c in columns):
            import dask.array as dask_array

            stacked = dask_array.stack(columns, axis=-1)
        else:
            stacked = np.stack(columns, axis=-1)  # (S, N, C)
        mesh = np.meshgrid(*axes, indexing="ij")
        coords = np.stack([m.ravel() for m in mesh], axis=-1).astype(np.float32)  # (N, 3)
        layout = VoxelLayout(
            variables=tuple(names),
            var_dims={n: tuple(str(d) for d in dataset[n].dims) for n in names},
            var_attrs={n: dict(dataset[n].attrs) for n in names},
            coords=dataset.coords.to_dataset(),
            attrs=dict(dataset.attrs),
            sample_dim=sample,
            n_samples=n_samples,
            grid_shape=grid_shape,
            axes=axes,
        )
        units = tuple(dataset[n].attrs.get("units") for n in names)
        return PointSet(
            coords=coords,
            values=stacked,
            channels=tuple(names),
            units=units,
            layout=layout,
            meta={"grid_shape": grid_shape, "balance_occupancy": self.balance_occupancy},
        )

    @staticmethod
    def _channel_source(layout: VoxelLayout, channel: str) -> tuple[str | None, str | None]:
        """The input variable a channel belongs to, and its suffix (``None`` for the variable)."""
        if channel in layout.variables:
            return channel, None
        owners = [v for v in layout.variables if channel.startswith(f"{v}_")]
        if not owners:
            return None, None
        owner = max(owners, key=len)
        return owner, channel[len(owner) + 1 :]

    def from_points(self, points: PointSet) -> xr.Dataset:
        layout = points.layout
        if not isinstance(layout, VoxelLayout):
            raise ValueError(
                "these points were not made by the voxels modality (no VoxelLayout); rebuild "
                "them with VoxelModality().to_points(data)."
            )
        n_samples = points.n_samples
        fresh_samples = n_samples != layout.n_samples
        sample_dim = "sample" if fresh_samples else layout.sample_dim
        coords = layout.coords
        if fresh_samples and layout.sample_dim is not None:
            coords = coords.drop_vars(
                [n for n, c in coords.coords.items() if layout.sample_dim in c.dims]
            )
        if fresh_samples:
            coords = coords.assign_coords(sample=np.arange(n_samples))
        reference = layout.var_dims[layout.variables[0]]
        variables = {}
        for index, channel in enumerate(points.channels):
            owner, suffix = self._channel_source(layout, channel)
            dims = layout.var_dims[owner] if owner else reference
            if layout.sample_dim is None:
                dims = (*((sample_dim,) if sample_dim else ()), *dims)
            elif fresh_samples:
                dims = tuple(sample_dim if d == layout.sample_dim else d for d in dims)
            grid = points.values[..., index].reshape(n_samples, *layout.grid_shape)
            built = (*((sample_dim,) if sample_dim else ()), *SPATIAL_DIMS)
            if sample_dim is None:
                grid = grid[0]
            attrs: dict[str, Any] = {}
            if owner is not None:
                attrs = dict(layout.var_attrs[owner])
                if suffix == "std":
                    label = attrs.get("long_name", owner)
                    attrs["long_name"] = f"standard deviation of {label}"
            variables[channel] = xr.Variable(built, grid, attrs).transpose(*dims)
        return xr.Dataset(variables, coords=coords.coords, attrs=dict(layout.attrs))

    # -- refinement --------------------------------------------------------------------------
    def refine(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        """``data`` as an empty (NaN) template on a finer grid over the same cube.

        ``factor=k`` inserts ``k - 1`` centres between neighbours, so ``n`` voxels become
        ``k * (n - 1) + 1`` and every original voxel centre is a point of the new grid (32 -> 63
        for ``k=2``; see :mod:`vamoh_voxels.grid` for why not 64). ``to`` is a size (``64``),
        three sizes, or an xarray object whose ``x``, ``y``, ``z`` coordinates are used as they
        are. Variables keep their dims order and attrs; the sample dim and its labels are kept.

        Example:
            >>> import numpy as np
            >>> from vamoh_voxels import occupancy_dataset
            >>> ds = occupancy_dataset(np.ones((2, 4, 4, 4)))
            >>> fine = VoxelModality().refine(ds, factor=2)
            >>> dict(fine.sizes), bool(np.isin(ds.x, fine.x).all())
            ({'shape': 2, 'x': 7, 'y': 7, 'z': 7}, True)
        """
        if (factor is None) == (to is None):
            raise ValueError("refine needs exactly one of factor=k or to=size/template.")
        dataset = _as_dataset(data)
        axes = self._axes(dataset)
        if factor is not None:
            new_axes = [refine_axis(axis, factor) for axis in axes]
        elif isinstance(to, xr.Dataset | xr.DataArray):
            missing = [d for d in SPATIAL_DIMS if d not in to.coords]
            if missing:
                raise ValueError(f"refine template lacks coordinates {missing}.")
            new_axes = [np.asarray(to[d].values) for d in SPATIAL_DIMS]
        else:
            sizes = [to] * 3 if np.ndim(to) == 0 else list(to)
            if len(sizes) != 3:
                raise ValueError(f"to= needs one size or three (x, y, z); got {to!r}.")
            new_axes = [resample_axis(axis, size) for axis, size in zip(axes, sizes)]
        names = _grid_variables(dataset)
        kept = {
            name: coord.variable
            for name, coord in dataset.coords.items()
            if not set(coord.dims) & set(SPATIAL_DIMS)
        }
        template = xr.Dataset(coords=kept, attrs=dict(dataset.attrs))
        attrs = {d: dict(dataset[d].attrs) if d in dataset.coords else {} for d in SPATIAL_DIMS}
        template = template.assign_coords(
            {d: (d, axis, attrs[d]) for d, axis in zip(SPATIAL_DIMS, new_axes)}
        )
        for name in names:
            dims = dataset[name].dims
            shape = tuple(template.sizes.get(d, dataset.sizes[d]) for d in dims)
            if int(np.prod(shape)) > _EAGER_TEMPLATE_LIMIT:
                import dask.array as dask_array

                sample_chunks = tuple(1 if d not in SPATIAL_DIMS else -1 for d in dims)
                values = dask_array.full(shape, np.nan, dtype=np.float32, chunks=sample_chunks)
            else:
                values = np.full(shape, np.nan, dtype=np.float32)
            template[name] = xr.Variable(dims, values, dict(dataset[name].attrs))
        if isinstance(data, xr.DataArray):
            return template[next(iter(template.data_vars))].rename(data.name)
        return template

    # -- engine helpers ------------------------------------------------------------------------
    def interpolate(
        self, points: PointSet, observed: np.ndarray, query_coords: np.ndarray
    ) -> np.ndarray:
        """Trilinear interpolation on complete grids; inverse-distance weighting otherwise.

        Example:
            >>> import numpy as np
            >>> from vamoh_voxels import occupancy_dataset
            >>> ds = occupancy_dataset(np.eye(2)[None, :, :, None].repeat(2, 3))
            >>> m = VoxelModality(); pts = m.to_points(ds)
            >>> m.interpolate(pts, pts.samples([0]), np.zeros((1, 3)))[0, 0, 0].item()
            0.5
        """
        from scipy.interpolate import RegularGridInterpolator

        layout = points.layout
        observed = np.asarray(observed, dtype=np.float64)
        complete = isinstance(layout, VoxelLayout) and not np.isnan(observed).any()
        if not complete or min(layout.grid_shape) < 2:
            return super().interpolate(points, observed, query_coords)
        s, _, c = observed.shape
        grids = observed.reshape(s, *layout.grid_shape, c).transpose(1, 2, 3, 0, 4)
        interpolator = RegularGridInterpolator(
            [np.asarray(a, dtype=np.float64) for a in layout.axes],
            grids.reshape(*layout.grid_shape, s * c),  # samples and channels ride along
            bounds_error=False,
            fill_value=None,
        )
        query = np.asarray(query_coords, dtype=np.float64)
        values = interpolator(query).reshape(query.shape[0], s, c).transpose(1, 0, 2)
        return np.clip(values, 0.0, 1.0)

    def sample_points(self, values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of ``n`` training voxels per sample: balanced (the default) or uniform.

        This is the per-step point subset of ``points_per_sample``; an engine that finds this
        method on the modality calls it instead of drawing uniformly.

        Args:
            values: ``(B, N, C)`` occupancy (channel 0 decides occupied vs empty), NaN where
                unobserved; unobserved voxels are never drawn.
            n: voxels per sample.
            rng: the random generator.

        Returns:
            ``(B, n)`` indices into ``N``. Balanced draws take half occupied and half empty
            voxels, topping up from the other class when one runs short; a sample with fewer
            than ``n`` observed voxels repeats some of them.

        Example:
            >>> import numpy as np
            >>> values = np.zeros((1, 100, 1)); values[0, :5] = 1
            >>> m = VoxelModality(balance_occupancy=True)
            >>> idx = m.sample_points(values, 10, np.random.default_rng(0))
            >>> idx.shape, int(values[0, idx[0], 0].sum())
            ((1, 10), 5)
        """
        first = np.asarray(values)[..., 0]  # (B, N)
        observed = ~np.isnan(first)
        priority = rng.random(first.shape)  # (B, N)
        take = np.minimum(n, observed.sum(axis=1, keepdims=True))  # (B, 1) distinct draws
        if self.balance_occupancy:
            occupied = observed & (first > 0.5)
            empty = observed & ~occupied
            n_occupied = occupied.sum(axis=1, keepdims=True)  # (B, 1)
            n_empty = empty.sum(axis=1, keepdims=True)
            want_occupied = np.clip(np.maximum(take // 2, take - n_empty), 0, n_occupied)
            want_empty = take - want_occupied
            # rank each voxel within its class by its random priority
            group = np.where(occupied, 0, np.where(empty, 1, 2))
            order = np.argsort(group * 2.0 + priority, axis=1, kind="stable")  # classes in blocks
            ranks = np.empty_like(order)
            np.put_along_axis(ranks, order, np.arange(first.shape[1])[None, :], axis=1)
            rank_in_class = ranks - np.where(group == 1, n_occupied, 0)
            chosen = (occupied & (rank_in_class < want_occupied)) | (
                empty & (rank_in_class < want_empty)
            )
        else:
            chosen = observed
        keys = np.where(chosen, priority, 2.0 + priority)  # chosen voxels first, in random order
        order = np.argsort(keys, axis=1)
        slots = np.arange(n)[None, :] % np.maximum(take, 1)  # repeat when a sample runs short
        return np.take_along_axis(order, slots, axis=1)

    def default_config(self, points: PointSet) -> dict[str, Any]:
        """The paper's ShapeNet preset (Table 3), scaled to the grid size and the device.

        The first PointConv layer has as many centroids as voxels seen per step at 64^3 (4096);
        smaller grids get an eighth of their voxels, CPUs at most 1024, and deeper layers shrink
        in the preset's ratios. Neighbour counts never exceed the points of the layer below. On
        a CPU the hypernetworks and generators are half as wide (hypernet [128, 256], generators
        [32, 32, 32]). Conditioning is :data:`CONDITIONING`.

        Example:
            >>> import numpy as np
            >>> from vamoh_voxels import occupancy_dataset
            >>> m = VoxelModality()
            >>> cfg = m.default_config(m.to_points(occupancy_dataset(np.ones((4, 16, 16, 16)))))
            >>> cfg["likelihood"], cfg["points_per_sample"], cfg["encoder_centroids"]
            ('bernoulli', 4096, [512, 64, 8, 8, 8])
            >>> cfg["conditioning"]
            'global'
        """
        import torch

        preset = VaMoHConfig.preset("shapenet")
        per_sample = min(self.points_per_sample, points.n_points)
        first = min(preset.encoder_centroids[0], per_sample, max(16, points.n_points // 8))
        on_cpu = not torch.cuda.is_available()
        if on_cpu:
            first = min(first, 1024)
        ratio = first / preset.encoder_centroids[0]
        centroids: list[int] = []
        for base in preset.encoder_centroids:
            count = max(round(base * ratio), min(base, 8))
            centroids.append(min(count, centroids[-1] if centroids else per_sample))
        neighbours = [
            min(k, below)
            for k, below in zip(preset.encoder_neighbours, [per_sample, *centroids[:-1]])
        ]
        overrides = preset.to_dict()
        overrides.pop("seed", None)
        overrides.update(
            likelihood=self.likelihood,
            conditioning=CONDITIONING,
            points_per_sample=per_sample,
            encoder_centroids=centroids,
            encoder_neighbours=neighbours,
            batch_size=int(min(preset.batch_size, max(1, points.n_samples))),
        )
        if on_cpu:
            # the preset's hypernetwork emits 39M weights; at half width (9M) a CPU epoch is
            # about five times faster
            overrides.update(hypernet_layers=[128, 256], generator_layers=[32, 32, 32])
        return overrides

    def plot(self, data: Any, **kwargs: Any) -> Any:
        """Render the grids with :func:`vamoh_voxels.render.render_voxels`."""
        from vamoh_voxels.render import render_voxels

        return render_voxels(data, **kwargs)
