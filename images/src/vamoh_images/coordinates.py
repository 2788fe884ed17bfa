"""Pixel grids as model coordinates: the image's box in [-1, 1]^2 with its aspect ratio kept.

An image's native coordinates are its ``y`` and ``x`` coordinate values (pixel indices unless the
data carry others). The first and last pixel centres along the longer side map to -1 and 1; the
shorter side gets the same scale, so a 28x56 image spans [-0.49, 0.49] x [-1, 1]. A finer grid
over the same extent (super-resolution) lands between the training pixels, whatever its size.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from vamoh.coordinates import CoordinateSystem

__all__ = ["PixelGridCoordinates"]


class PixelGridCoordinates(CoordinateSystem):
    """Maps native ``(y, x)`` pixel coordinates of one image box onto [-1, 1]^2, aspect kept.

    Args:
        y_first, y_last: native ``y`` of the first and last rows (the first maps to the negative
            end, so a descending axis keeps row order).
        x_first, x_last: native ``x`` of the first and last columns.

    Example:
        >>> import numpy as np
        >>> grid = PixelGridCoordinates(0, 27, 0, 55)  # 28 rows, 56 columns
        >>> grid.to_model(np.array([[0.0, 0.0], [27.0, 55.0]])).astype(float).round(3).tolist()
        [[-0.491, -1.0], [0.491, 1.0]]
        >>> grid.from_model(grid.to_model(np.array([[3.0, 7.0]]))).round(4).tolist()
        [[3.0, 7.0]]
    """

    name: ClassVar[str] = "pixel_grid"

    def __init__(
        self,
        y_first: float = -1.0,
        y_last: float = 1.0,
        x_first: float = -1.0,
        x_last: float = 1.0,
    ) -> None:
        self.y_first, self.y_last = float(y_first), float(y_last)
        self.x_first, self.x_last = float(x_first), float(x_last)
        self.dim = 2
        extent_y, extent_x = self.y_last - self.y_first, self.x_last - self.x_first
        longest = max(abs(extent_y), abs(extent_x))
        # a single pixel (no extent) sits at the origin; any positive scale keeps the maths finite
        self._half_scale = longest / 2.0 if longest > 0 else 1.0
        self._centre = np.array(
            [(self.y_first + self.y_last) / 2, (self.x_first + self.x_last) / 2]
        )
        self._sign = np.array([-1.0 if extent_y < 0 else 1.0, -1.0 if extent_x < 0 else 1.0])

    @classmethod
    def from_axes(cls, y: np.ndarray, x: np.ndarray) -> PixelGridCoordinates:
        """The box spanned by the pixel-centre axes ``y`` and ``x`` (1-D, first to last).

        Example:
            >>> import numpy as np
            >>> PixelGridCoordinates.from_axes(np.arange(3), np.arange(3)).to_dict()["y_last"]
            2.0
        """
        y = np.asarray(y, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        return cls(y[0], y[-1], x[0], x[-1])

    def to_model(self, native: np.ndarray) -> np.ndarray:
        native = np.asarray(native, dtype=np.float64)
        return ((native - self._centre) * self._sign / self._half_scale).astype(np.float32)

    def from_model(self, model: np.ndarray) -> np.ndarray:
        model = np.asarray(model, dtype=np.float64)
        return model * self._half_scale * self._sign + self._centre

    def axes(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model coordinates of the row axis ``y`` and the column axis ``x`` separately.

        Example:
            >>> import numpy as np
            >>> ys, xs = PixelGridCoordinates(0, 2, 0, 2).axes(np.arange(3), np.arange(3))
            >>> ys.tolist(), xs.tolist()
            ([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0])
        """
        y = np.asarray(y, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        ys = (y - self._centre[0]) * self._sign[0] / self._half_scale
        xs = (x - self._centre[1]) * self._sign[1] / self._half_scale
        return ys.astype(np.float32), xs.astype(np.float32)

    def grid(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``(len(y) * len(x), 2)`` model coordinates of the full grid, rows outermost.

        Example:
            >>> import numpy as np
            >>> PixelGridCoordinates(0, 1, 0, 1).grid(np.arange(2), np.arange(2)).tolist()
            [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
        """
        ys, xs = self.axes(y, x)
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        return np.stack([yy.ravel(), xx.ravel()], axis=-1)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "dim": self.dim,
            "y_first": self.y_first,
            "y_last": self.y_last,
            "x_first": self.x_first,
            "x_last": self.x_last,
        }
