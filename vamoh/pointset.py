"""Fields as point clouds: the one data structure that flows from a modality into the engine.

A modality turns the user's xarray object into a :class:`PointSet` (``to_points``) and turns model
outputs back into xarray (``from_points``). The engine sees only coordinates and values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vamoh.memory import large_blocks_returned

__all__ = ["PointSet", "read_samples", "sample_blocks"]


@dataclass(frozen=True)
class PointSet:
    """``S`` samples of a field observed at ``N`` shared locations with ``C`` channels.

    Attributes:
        coords: ``(N, d)`` float32 model coordinates (e.g. unit-sphere xyz, or [-1, 1]^d grids),
            shared by all samples. A sample that lacks a point has NaN there in ``values``.
        values: ``(S, N, C)`` array (numpy or dask; dask stays lazy until a batch is read).
            NaN marks an absent observation: the engine drops it, it never zero-fills.
        channels: ``C`` names, one per channel (variable names for climate, "occupancy", "r/g/b").
        units: ``C`` unit strings (``None`` where the data has none).
        layout: opaque to the engine; whatever the modality's ``from_points`` needs to rebuild
            xarray (dims order, coordinates, attrs, sample labels).
        weights: ``(N,)`` quadrature weights for metrics (cos latitude on the sphere), or ``None``
            for uniform weights.
        sample_features: ``(S, F)`` known features of each sample (e.g. the hour of day and the
            day of the year as cos/sin pairs), or ``None``. The Gaussian backbone fits its mean as
            a function of them, so a diurnal or seasonal cycle is part of the prior.
        sample_feature_names: ``F`` names of those features.
        covariates: ``(N, G)`` known static covariates at the points (elevation, a land-sea
            mask, latitude...), or ``None``. The backbone fits a trend on them where it needs
            the prior off its training points (new stations, a finer grid).
        covariate_names: ``G`` names of those covariates.

    Example:
        >>> import numpy as np
        >>> ps = PointSet(coords=np.zeros((4, 2), np.float32), values=np.ones((3, 4, 1)),
        ...               channels=("t2m",), units=("K",))
        >>> ps.n_samples, ps.n_points, ps.n_channels, ps.dim
        (3, 4, 1, 2)
    """

    coords: np.ndarray
    values: Any
    channels: tuple[str, ...]
    units: tuple[str | None, ...]
    layout: Any = None
    weights: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sample_features: np.ndarray | None = None
    sample_feature_names: tuple[str, ...] = ()
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        coords = np.asarray(self.coords)
        if coords.ndim != 2:
            raise ValueError(f"PointSet.coords must be (N, d); got shape {coords.shape}.")
        if not np.isfinite(coords).all():
            raise ValueError("PointSet.coords contains NaN or inf; every location must be finite.")
        object.__setattr__(self, "coords", np.ascontiguousarray(coords, dtype=np.float32))
        shape = tuple(self.values.shape)
        if len(shape) != 3 or shape[1] != coords.shape[0]:
            raise ValueError(
                f"PointSet.values must be (S, N, C) with N={coords.shape[0]}; got shape {shape}."
            )
        if len(self.channels) != shape[2] or len(self.units) != shape[2]:
            raise ValueError(
                f"PointSet has {shape[2]} channels but {len(self.channels)} names and "
                f"{len(self.units)} units."
            )
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "units", tuple(self.units))
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.shape != (coords.shape[0],):
                raise ValueError(f"PointSet.weights must be (N,); got shape {w.shape}.")
            object.__setattr__(self, "weights", w)
        if self.sample_features is not None:
            g = np.asarray(self.sample_features, dtype=np.float64)
            if (
                g.ndim != 2
                or g.shape[0] != shape[0]
                or g.shape[1] != len(self.sample_feature_names)
            ):
                raise ValueError(
                    f"PointSet.sample_features must be (S, F) with S={shape[0]} and one name per "
                    f"feature; got shape {g.shape} and {len(self.sample_feature_names)} names."
                )
            object.__setattr__(self, "sample_features", g)
        object.__setattr__(self, "sample_feature_names", tuple(self.sample_feature_names))
        if self.covariates is not None:
            cov = np.asarray(self.covariates, dtype=np.float64)
            if cov.ndim != 2 or cov.shape[0] != coords.shape[0]:
                raise ValueError(
                    f"PointSet.covariates must be (N, G) with N={coords.shape[0]}; got shape "
                    f"{cov.shape}."
                )
            if cov.shape[1] != len(self.covariate_names):
                raise ValueError(
                    f"PointSet has {cov.shape[1]} covariates but {len(self.covariate_names)} names."
                )
            if not np.isfinite(cov).all():
                bad = [n for n, ok in zip(self.covariate_names, np.isfinite(cov).all(0)) if not ok]
                raise ValueError(
                    f"covariates {bad} have {int((~np.isfinite(cov)).sum())} NaN or infinite "
                    f"values at the points; fill them or choose covariates known everywhere."
                )
            object.__setattr__(self, "covariates", cov)
        object.__setattr__(self, "covariate_names", tuple(self.covariate_names))

    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_points(self) -> int:
        return int(self.coords.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.values.shape[2])

    @property
    def dim(self) -> int:
        return int(self.coords.shape[1])

    def samples(
        self, index: Sequence[int] | slice | np.ndarray, dtype: type = np.float32
    ) -> np.ndarray:
        """Read samples into memory ``(s, N, C)``; dask arrays compute only these."""
        return read_samples(self.values, index, dtype)

    def blocks(
        self,
        size: int | None = None,
        dtype: type = np.float64,
        index: Sequence[int] | np.ndarray | None = None,
    ) -> Iterator[np.ndarray]:
        """Read all samples (or those in ``index``) a block at a time (:func:`sample_blocks`).

        Example:
            >>> import numpy as np
            >>> ps = PointSet(np.zeros((3, 1), np.float32), np.ones((5, 3, 1)), ("v",), (None,))
            >>> [b.shape[0] for b in ps.blocks(2)]
            [2, 2, 1]
            >>> [b.shape[0] for b in ps.blocks(2, index=[0, 3, 4])]
            [2, 1]
        """
        return sample_blocks(self.values, size, dtype, index)

    def with_values(self, values: Any) -> PointSet:
        """The same locations and layout with other values (e.g. a prediction).

        Sample features stay when the number of samples does not change; otherwise they are
        dropped (use :meth:`subset` to keep them with a selection of samples).
        """
        same = self.sample_features is not None and values.shape[0] == self.n_samples
        return replace(
            self,
            values=values,
            sample_features=self.sample_features if same else None,
            sample_feature_names=self.sample_feature_names if same else (),
        )

    def subset(self, index: Sequence[int] | np.ndarray | slice) -> PointSet:
        """The samples ``index`` (values stay lazy) with their sample features.

        Example:
            >>> import numpy as np
            >>> ps = PointSet(np.zeros((2, 1), np.float32), np.ones((4, 2, 1)), ("v",), (None,),
            ...               sample_features=np.arange(4.0)[:, None], sample_feature_names=("t",))
            >>> ps.subset([1, 3]).sample_features[:, 0].tolist()
            [1.0, 3.0]
        """
        rows = index if isinstance(index, slice) else np.asarray(index)
        features = None if self.sample_features is None else self.sample_features[rows]
        return replace(self, values=self.values[rows], sample_features=features)


def read_samples(
    values: Any, index: Sequence[int] | slice | np.ndarray, dtype: type = np.float32
) -> np.ndarray:
    """``values[index]`` ``(s, N, C)`` in memory; a dask array computes only these samples.

    Example:
        >>> import numpy as np
        >>> read_samples(np.ones((4, 2, 1)), [0, 2]).shape
        (2, 2, 1)
    """
    block = values[index] if isinstance(index, slice) else values[np.asarray(index)]
    if not hasattr(block, "compute"):
        return np.asarray(block, dtype=dtype)
    # chunk-sized temporaries go back to the OS, so memory does not grow with the store;
    # one thread: the threaded scheduler's per-thread arenas grow RSS with store size
    with large_blocks_returned():
        return np.asarray(block.compute(scheduler="synchronous"), dtype=dtype)


def sample_blocks(
    values: Any,
    size: int | None = None,
    dtype: type = np.float64,
    index: Sequence[int] | np.ndarray | None = None,
) -> Iterator[np.ndarray]:
    """``values`` ``(S, N, C)`` (or the samples in ``index``) as numpy blocks: whole-store
    passes in bounded memory.

    ``size`` samples per block; by default about 4 M numbers (32 MB as float64). While the pass
    runs, large temporaries (the reader's and the caller's work on each block) are returned to
    the OS when freed (:func:`vamoh.memory.large_blocks_returned`), so memory does not creep up
    with the number of blocks.

    Example:
        >>> import numpy as np
        >>> [b.shape for b in sample_blocks(np.zeros((5, 2, 1)), size=2)]
        [(2, 2, 1), (2, 2, 1), (1, 2, 1)]
    """
    chosen = np.arange(values.shape[0]) if index is None else np.asarray(index)
    if size is None:
        size = max(1, 2**22 // max(1, int(np.prod(values.shape[1:]))))
    with large_blocks_returned():
        for start in range(0, len(chosen), size):
            part = chosen[start : start + size]
            contiguous = part[-1] - part[0] == len(part) - 1
            # a slice keeps a lazy store's chunks intact; an index array may merge them
            sel = slice(int(part[0]), int(part[-1]) + 1) if contiguous else part
            yield read_samples(values, sel, dtype)
