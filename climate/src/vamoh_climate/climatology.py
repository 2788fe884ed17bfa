"""The training climatology: the mean field of the training samples, anchor of the hybrid baseline.

Most fine-scale structure of a climate field (coasts, orography, land/sea contrast) sits in the
same place every day. Interpolating the *anomalies* from the training mean and adding the mean
back keeps that structure, where interpolating the field itself smooths it away: on ERA5 this
"climatology-aware" interpolation is the strongest classical baseline (see the data README), and
the hybrid conditioning mode learns its residual over it.

The climatology is part of the modality's fitted state (saved in checkpoints), so it is small: the
mean of at most :data:`MAX_SAMPLES` evenly spaced training samples, and none at all for fields
with more than :data:`MAX_VALUES` values (the plain interpolation is used there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vamoh.pointset import PointSet
from vamoh_climate.grid import Domain, Geometry, cell_index
from vamoh_climate.interpolation import interpolate_grid
from vamoh_climate.sphere import SphereCoordinates

__all__ = ["MAX_SAMPLES", "MAX_VALUES", "Climatology", "mean_field"]

MAX_SAMPLES = 512  # evenly spaced training samples averaged (bounded reading of large stores)
MAX_VALUES = 2_000_000  # points x channels kept in the state (a 0.25 deg global grid, 2 vars)


def mean_field(points: PointSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, C)`` mean field and ``(C,)`` channel mean and std of up to MAX_SAMPLES samples.

    Samples are evenly spaced over the point set and read a block at a time, so lazy stores are
    averaged in bounded memory. Points never observed take their channel's mean.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> field, offset, scale = mean_field(ClimateModality().to_points(global_field(3, 4, 8)))
        >>> field.shape, offset.shape, bool(scale[0] > 0)
        ((32, 1), (1,), True)
    """
    n = points.n_samples
    chosen = np.unique(np.linspace(0, n - 1, min(n, MAX_SAMPLES)).round().astype(np.int64))
    c = points.n_channels
    count, total = np.zeros((points.n_points, c)), np.zeros((points.n_points, c))
    total_sq = np.zeros(c)
    # a block of samples at a time (~32 MB): memory stays flat however large the store
    for block in points.blocks(index=chosen):
        finite = np.isfinite(block)
        filled = np.where(finite, block, 0.0)
        count += finite.sum(axis=0)
        total += filled.sum(axis=0)
        total_sq += (filled**2).sum(axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        field = total / count
        n_channel = count.sum(axis=0)
        offset = total.sum(axis=0) / n_channel
        scale = np.sqrt(np.maximum(total_sq / n_channel - offset**2, 0.0))
    field = np.asarray(field, dtype=np.float64)
    offset = np.asarray(offset, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    offset = np.where(np.isfinite(offset), offset, 0.0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    field = np.where(np.isfinite(field), field, offset[None, :])  # unseen points: channel mean
    return field, offset, scale


@dataclass(frozen=True, eq=False)
class Climatology:
    """The mean training field, and its channel statistics.

    The engine hands :meth:`ClimateModality.interpolate` observations in data units
    (:meth:`vamoh.normalisation.Normaliser.baseline`), so :meth:`at` and :meth:`observed_as`
    give the climatology in data units too; :meth:`normalised` puts it on the scale of
    ``offset`` and ``scale`` for comparisons.

    Attributes:
        kind: ``"grid"`` (``lat``/``lon`` are the 1-D axes) or ``"points"`` (one entry per point).
        lat, lon: where the mean field lives (degrees).
        mean: ``(N, C)`` mean field in data units, points in the training order.
        offset, scale: ``(C,)`` channel mean and standard deviation.
        periodic: a grid that goes all the way round in longitude.
        domain: the training data's lat/lon box; outside it the climatology is not used.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> clim = Climatology.of(ClimateModality().to_points(global_field(6, 8, 16)))
        >>> clim.kind, clim.mean.shape, clim.periodic
        ('grid', (128, 1), True)
        >>> Climatology.from_state(clim.to_state()).mean.shape
        (128, 1)
    """

    kind: Literal["grid", "points"]
    lat: np.ndarray
    lon: np.ndarray
    mean: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    periodic: bool
    domain: Domain

    @classmethod
    def of(cls, points: PointSet) -> Climatology | None:
        """The climatology of a climate point set (``None`` when it is too large to keep).

        Example:
            >>> from vamoh_climate import ClimateModality
            >>> from vamoh_climate.synthetic import stations
            >>> Climatology.of(ClimateModality().to_points(stations(4, 5))).kind
            'points'
        """
        geometry: Geometry | None = getattr(points.layout, "geometry", None)
        if geometry is None or points.n_samples == 0:
            return None
        if points.n_points * points.n_channels > MAX_VALUES:
            return None
        field, offset, scale = mean_field(points)
        return cls(
            kind=geometry.kind,
            lat=np.asarray(geometry.lat, dtype=np.float64),
            lon=np.asarray(geometry.lon, dtype=np.float64),
            mean=field,
            offset=offset,
            scale=scale,
            periodic=geometry.is_global,
            domain=geometry.domain(),
        )

    # -- persistence (JSON-able, for checkpoints) ------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict (lists of floats) for the modality's checkpoint state."""
        return {
            "kind": self.kind,
            "lat": self.lat.tolist(),
            "lon": self.lon.tolist(),
            "mean": self.mean.T.tolist(),  # channel-major: one list per channel
            "offset": self.offset.tolist(),
            "scale": self.scale.tolist(),
            "periodic": bool(self.periodic),
            "domain": self.domain.to_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Climatology:
        """The inverse of :meth:`to_state`."""
        return cls(
            kind=state["kind"],
            lat=np.asarray(state["lat"], dtype=np.float64),
            lon=np.asarray(state["lon"], dtype=np.float64),
            mean=np.asarray(state["mean"], dtype=np.float64).T.reshape(-1, len(state["offset"])),
            offset=np.asarray(state["offset"], dtype=np.float64),
            scale=np.asarray(state["scale"], dtype=np.float64),
            periodic=bool(state["periodic"]),
            domain=Domain.from_dict(state["domain"]),
        )

    # -- evaluation --------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return int(self.mean.shape[1])

    def normalised(self) -> np.ndarray:
        """``(N, C)`` mean field on the engine's normalised scale."""
        return (self.mean - self.offset) / self.scale

    def covers(self, lat: np.ndarray, lon: np.ndarray) -> bool:
        """Whether every point lies in the training domain (the climatology means nothing outside)."""
        return bool(self.domain.contains(lat, lon).all())

    def at(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """``(M, C)`` climatology at points, in data units: a cubic spline through a gridded
        mean, inverse-distance weighting on the sphere between stations.

        Data units, because the modality interpolates observations in data units (the hybrid
        baseline): a normalised climatology there adds only ``1 / scale`` of the detail.

        Example:
            >>> from vamoh_climate import ClimateModality
            >>> from vamoh_climate.synthetic import global_field
            >>> points = ClimateModality().to_points(global_field(6, 8, 16))
            >>> clim = Climatology.of(points)
            >>> lat, lon = points.layout.geometry.point_latlon()
            >>> bool(np.allclose(clim.at(lat, lon), clim.mean))
            True
        """
        lat = np.asarray(lat, dtype=np.float64).ravel()
        lon = np.asarray(lon, dtype=np.float64).ravel()
        field = self.mean[None]  # (1, N, C)
        if self.kind == "grid":
            return interpolate_grid(
                self.lat, self.lon, field, lat, lon, method="cubic", periodic=self.periodic
            )[0]
        from vamoh.modality import Modality

        sphere = SphereCoordinates()
        source = PointSet(
            coords=sphere.latlon_to_xyz(self.lat, self.lon),
            values=field,
            channels=tuple(f"c{i}" for i in range(self.n_channels)),
            units=(None,) * self.n_channels,
        )
        # the engine's generic inverse-distance weighting, through the public Modality API
        return Modality().interpolate(source, field, sphere.latlon_to_xyz(lat, lon))[0]

    def observed_as(self, geometry: Geometry) -> np.ndarray:
        """``(N, C)`` climatology (data units) as ``geometry``'s points observe it.

        A grid whose cells each hold several training grid points (block means of a coarser
        grid, e.g. a downscaling input) observes the *mean* of the climatology over those
        points; anything else observes its value at the point.

        Example:
            >>> from vamoh_climate import ClimateModality
            >>> from vamoh_climate.baselines import block_mean
            >>> from vamoh_climate.synthetic import global_field
            >>> fine = global_field(6, 8, 16)
            >>> m = ClimateModality()
            >>> clim = Climatology.of(m.to_points(fine))
            >>> coarse = m.to_points(block_mean(fine, 2)).layout.geometry
            >>> block = clim.mean.reshape(4, 2, 8, 2).mean(axis=(1, 3)).reshape(-1, 1)
            >>> bool(np.allclose(clim.observed_as(coarse), block))
            True
        """
        lat, lon = geometry.point_latlon()
        values = self.at(lat, lon)
        if geometry.kind != "grid" or self.kind != "grid":
            return values
        rows = cell_index(self.lat, geometry.lat, periodic=False)
        cols = cell_index(self.lon, geometry.lon, periodic=True)
        row_of, col_of = np.meshgrid(rows, cols, indexing="ij")
        inside = ((row_of >= 0) & (col_of >= 0)).ravel()
        cell = (row_of * geometry.lon.size + col_of).ravel()[inside]
        n_cells = geometry.lat.size * geometry.lon.size
        counts = np.bincount(cell, minlength=n_cells)
        field = self.mean[inside]
        sums = np.stack(
            [
                np.bincount(cell, weights=field[:, c], minlength=n_cells)
                for c in range(field.shape[1])
            ],
            axis=-1,
        )
        cell_means = sums / np.maximum(counts, 1)[:, None]
        return np.where(counts[:, None] >= 2, cell_means, values)
