"""The unit sphere: latitude/longitude in degrees as 3-D points, the paper's ERA5 coordinates.

On the sphere, longitudes -10 and 350 are the same point, the poles are single points, and
distances do not stretch towards the poles the way they do in a (lat, lon) plane.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from vamoh.coordinates import CoordinateSystem

__all__ = ["SphereCoordinates", "wrap_longitude"]


def wrap_longitude(lon: np.ndarray | float, start: float = -180.0) -> np.ndarray:
    """Longitudes shifted by multiples of 360 into ``[start, start + 360)``.

    Example:
        >>> wrap_longitude([350.0, -190.0, 180.0]).tolist()
        [-10.0, 170.0, -180.0]
        >>> wrap_longitude([-10.0], start=0.0).tolist()
        [350.0]
    """
    lon = np.asarray(lon, dtype=np.float64)
    return lon - 360.0 * np.floor((lon - start) / 360.0)


class SphereCoordinates(CoordinateSystem):
    """(latitude, longitude) in degrees <-> unit-sphere (x, y, z).

    ``(x, y, z) = (cos lat cos lon, cos lat sin lon, sin lat)``. Longitudes are wrapped into
    [-180, 180) before the trigonometry, so the 0..360 and -180..180 conventions give bit-identical
    model coordinates.

    Example:
        >>> import numpy as np
        >>> cs = SphereCoordinates()
        >>> xyz = cs.to_model(np.array([[0.0, 90.0], [90.0, 0.0]]))
        >>> xyz.round(6).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        >>> cs.from_model(cs.to_model(np.array([[45.0, 350.0]]))).round(4).tolist()
        [[45.0, -10.0]]
    """

    name: ClassVar[str] = "sphere"
    dim: int = 3

    def to_model(self, native: np.ndarray) -> np.ndarray:
        """``(N, 2)`` (lat, lon) degrees -> ``(N, 3)`` float32 unit vectors."""
        native = np.asarray(native, dtype=np.float64)
        if native.ndim != 2 or native.shape[1] != 2:
            raise ValueError(
                f"SphereCoordinates.to_model needs (N, 2) (latitude, longitude) in degrees; "
                f"got shape {native.shape}."
            )
        lat = np.radians(native[:, 0])
        lon = np.radians(wrap_longitude(native[:, 1]))
        cos_lat = np.cos(lat)
        xyz = np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)
        return xyz.astype(np.float32)

    def from_model(self, model: np.ndarray) -> np.ndarray:
        """``(N, 3)`` points (any length but zero) -> ``(N, 2)`` (lat, lon) degrees, lon in [-180, 180]."""
        model = np.asarray(model, dtype=np.float64)
        if model.ndim != 2 or model.shape[1] != 3:
            raise ValueError(
                f"SphereCoordinates.from_model needs (N, 3) points; got shape {model.shape}."
            )
        x, y, z = model[:, 0], model[:, 1], model[:, 2]
        lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
        lon = np.degrees(np.arctan2(y, x))
        return np.stack([lat, lon], axis=-1)

    def latlon_to_xyz(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Convenience form of :meth:`to_model` for separate latitude and longitude arrays.

        Example:
            >>> SphereCoordinates().latlon_to_xyz([0.0], [0.0]).tolist()
            [[1.0, 0.0, 0.0]]
        """
        lat = np.asarray(lat, dtype=np.float64).ravel()
        lon = np.asarray(lon, dtype=np.float64).ravel()
        return self.to_model(np.stack([lat, lon], axis=-1))
