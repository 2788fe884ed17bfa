"""A tiny built-in modality for examples and engine tests: 1-D functions held in numpy arrays.

It is not registered by default (core registers no modality); register it explicitly::

    with vamoh.plugins.registered(ToyModality.plugin()):
        model = vamoh.fit(array, modality="toy")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from vamoh.coordinates import grid_axis
from vamoh.modality import Modality
from vamoh.plugins import hookimpl
from vamoh.pointset import PointSet

__all__ = ["ToyModality"]


class ToyModality(Modality):
    """Arrays ``(S, N)`` or ``(S, N, C)`` of functions sampled on an even grid of [-1, 1].

    Results come back as an ``xarray.Dataset`` with dims ``(sample, x)`` and one variable per
    channel (``v0``, ``v1``, ...).

    Example:
        >>> import numpy as np
        >>> toy = ToyModality()
        >>> ps = toy.to_points(np.zeros((2, 5)))
        >>> ps.values.shape, float(ps.coords[0, 0])
        ((2, 5, 1), -1.0)
        >>> toy.from_points(ps)["v0"].dims
        ('sample', 'x')
    """

    name = "toy"
    likelihood = "gaussian"
    normalisation = "standard"

    def can_handle(self, data: Any) -> float:
        return 0.1 if isinstance(data, np.ndarray) and data.ndim in (2, 3) else 0.0

    def to_points(self, data: Any, *, variables=None, sample_dim=None) -> PointSet:
        if isinstance(data, xr.Dataset):
            names = list(variables or data.data_vars)
            arr = np.stack([data[v].values for v in names], axis=-1)
        else:
            arr = np.asarray(data, dtype=np.float64)
            if arr.ndim == 2:
                arr = arr[..., None]
            if arr.ndim != 3:
                raise ValueError(f"toy data must be (S, N) or (S, N, C); got shape {arr.shape}.")
            names = [f"v{i}" for i in range(arr.shape[2])]
        coords = grid_axis(arr.shape[1])[:, None]
        return PointSet(
            coords=coords,
            values=arr,
            channels=tuple(names),
            units=(None,) * len(names),
            layout={"x": coords[:, 0].astype(np.float64), "n_samples": arr.shape[0]},
        )

    def default_config(self, points: PointSet) -> dict[str, Any]:
        """Sizes for short 1-D functions: the encoder never asks for more centroids than points."""
        n = points.n_points
        first = max(2, min(64, n // 2))
        return {
            "encoder_centroids": [first, max(1, first // 4)],
            "encoder_neighbours": [min(6, n), min(4, first)],
            "encoder_channels": [32, 32],
            "encoder_weight_net": [8],
            "hypernet_layers": [64, 128],
            "generator_layers": [32, 32],
            "categorical_layers": [16],
            "dim_z": 16,
            "flow_layers": 2,
            "lr": 3e-3,
            "batch_size": 16,
            "fourier_features": 32,
        }

    def from_points(self, points: PointSet) -> xr.Dataset:
        values = np.asarray(points.values)
        return xr.Dataset(
            {name: (("sample", "x"), values[..., i]) for i, name in enumerate(points.channels)},
            coords={"x": points.coords[:, 0].astype(np.float64)},
        )

    def refine(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        arr = np.asarray(data if not isinstance(data, xr.Dataset) else self.to_points(data).values)
        n = arr.shape[1] if arr.ndim >= 2 else len(arr)
        size = int(to) if to is not None else (n - 1) * int(factor) + 1
        shape = (arr.shape[0], size) + arr.shape[2:]
        return np.full(shape, np.nan)

    @classmethod
    def plugin(cls) -> object:
        """A plugin object registering this modality (for ``vamoh.plugins.registered``)."""

        class _ToyPlugin:
            @hookimpl
            def vamoh_modalities(self) -> list[Modality]:
                return [cls()]

        return _ToyPlugin()
