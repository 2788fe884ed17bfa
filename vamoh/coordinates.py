"""Coordinate systems: how a dataset's own coordinates become model inputs x in R^d.

The engine works on model coordinates only. A modality owns a coordinate system; plugins can
register more through the ``vamoh_coordinate_systems`` hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

__all__ = ["BoxCoordinates", "CoordinateSystem", "grid_axis"]


class CoordinateSystem:
    """Maps native coordinates ``(N, r)`` to model coordinates ``(N, d)`` and back.

    Attributes:
        name: registry name.
        dim: ``d``, the dimension of model coordinates.

    Example:
        >>> import numpy as np
        >>> cs = BoxCoordinates(lower=[0.0], upper=[10.0])
        >>> cs.to_model(np.array([[0.0], [5.0], [10.0]])).ravel().tolist()
        [-1.0, 0.0, 1.0]
    """

    name: ClassVar[str] = ""
    dim: int = 0

    def to_model(self, native: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def from_model(self, model: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} cannot invert model coordinates")

    def to_dict(self) -> dict[str, object]:
        """A JSON-able description, stored in checkpoints."""
        return {"name": self.name, "dim": self.dim}


class BoxCoordinates(CoordinateSystem):
    """An axis-aligned box ``[lower, upper]`` mapped affinely onto ``[-1, 1]^d``.

    ``lower``/``upper`` are fixed when the model is trained, so a finer grid over the same box
    lands between the training points and a wider one extrapolates beyond [-1, 1].
    """

    name: ClassVar[str] = "box"

    def __init__(self, lower: Sequence[float], upper: Sequence[float]) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        if self.lower.shape != self.upper.shape or self.lower.ndim != 1:
            raise ValueError("BoxCoordinates needs lower and upper of the same length d.")
        if not np.all(self.upper > self.lower):
            raise ValueError(f"BoxCoordinates needs upper > lower; got {self.lower}, {self.upper}.")
        self.dim = int(self.lower.shape[0])

    def to_model(self, native: np.ndarray) -> np.ndarray:
        native = np.asarray(native, dtype=np.float64)
        scaled = 2.0 * (native - self.lower) / (self.upper - self.lower) - 1.0
        return scaled.astype(np.float32)

    def from_model(self, model: np.ndarray) -> np.ndarray:
        model = np.asarray(model, dtype=np.float64)
        return (model + 1.0) / 2.0 * (self.upper - self.lower) + self.lower

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "dim": self.dim,
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
        }


def grid_axis(n: int) -> np.ndarray:
    """The paper's pixel/voxel axis: ``2 * (i / (n - 1) - 0.5)`` for i in 0..n-1, in [-1, 1].

    Example:
        >>> grid_axis(3).tolist()
        [-1.0, 0.0, 1.0]
    """
    if n < 1:
        raise ValueError(f"grid_axis needs n >= 1; got {n}.")
    if n == 1:
        return np.zeros(1, dtype=np.float32)
    return (2.0 * (np.arange(n, dtype=np.float64) / (n - 1) - 0.5)).astype(np.float32)
