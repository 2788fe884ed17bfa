"""The contract a modality plugin fulfils: xarray in, point clouds to the engine, xarray out.

A modality is a small object contributed by a plugin through the ``vamoh_modalities`` hook. The
engine never imports a modality; it only calls the methods below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

    from vamoh.backbone.observations import Footprints
    from vamoh.coordinates import CoordinateSystem
    from vamoh.pointset import PointSet

__all__ = ["Modality", "Reader"]


class Modality:
    """Base class for modalities (climate fields, voxel shapes, images, sensor series, ...).

    Subclasses set the class attributes and implement :meth:`can_handle`, :meth:`to_points` and
    :meth:`from_points`; the rest have sensible defaults.

    Attributes:
        name: unique, lower-case name used in ``vamoh.fit(data, modality=name)``.
        likelihood: name of the default likelihood (see ``vamoh.likelihoods.available()``).
        normalisation: how values are scaled before the likelihood sees them:
            ``"standard"`` (per-channel mean/std, for Gaussian), ``"minmax"`` (to [0, 1], for the
            continuous Bernoulli), ``"none"`` (already on the likelihood's support, e.g. occupancy
            in {0, 1} or 8-bit intensities).
        coordinate_system: turns the data's coordinates into model inputs in R^d.
        errors: the exception types (beyond ``ValueError``) its validation raises, for docs and the
            conformance suite.

    Example:
        >>> from vamoh.modality import Modality
        >>> class Nothing(Modality):
        ...     name = "nothing"
        ...     def can_handle(self, data):
        ...         return 0.0
        >>> Nothing().can_handle(object())
        0.0
    """

    name: ClassVar[str] = ""
    likelihood: ClassVar[str] = "gaussian"
    normalisation: ClassVar[str] = "standard"
    coordinate_system: CoordinateSystem | None = None
    description: ClassVar[str] = ""

    # -- detection -------------------------------------------------------------------------
    def can_handle(self, data: Any) -> float:
        """Score in [0, 1] how well this modality fits ``data`` (0 = not at all).

        ``vamoh.fit`` picks the unique best score; equal best scores are an ambiguity error.
        """
        raise NotImplementedError

    # -- conversion ------------------------------------------------------------------------
    def to_points(
        self,
        data: Any,
        *,
        variables: list[str] | None = None,
        sample_dim: str | list[str] | None = None,
    ) -> PointSet:
        """Turn ``data`` into a :class:`~vamoh.pointset.PointSet` without loading lazy values.

        Must raise ``ValueError`` (or a subclass) naming the problem and the fix for bad input.
        """
        raise NotImplementedError

    def from_points(self, points: PointSet) -> xr.Dataset:
        """Rebuild xarray from ``points`` whose ``layout`` came from :meth:`to_points`.

        ``points.channels`` may differ from the original (e.g. ``t2m`` and ``t2m_std``); a channel
        named after an input variable, or ``<variable>_<suffix>``, takes that variable's attrs and
        units. When ``points.n_samples`` differs from the layout's sample count (unconditional
        samples), the sample dimension is a new integer ``sample`` dimension.
        """
        raise NotImplementedError

    # -- fitted state ------------------------------------------------------------------------
    def state(self, points: PointSet) -> dict[str, Any]:
        """JSON-able state learned from the training points (e.g. a time span), saved in checkpoints.

        Modalities whose coordinates depend on the data (not on fixed conventions such as the
        sphere or [-1, 1] pixel grids) return what :meth:`with_state` needs to map new data to the
        same model coordinates. The default has no state.
        """
        return {}

    def with_state(self, state: dict[str, Any]) -> Modality:
        """This modality bound to a trained model's :meth:`state` (default: itself)."""
        return self

    # -- covariates ----------------------------------------------------------------------------
    def with_covariates(self, covariates: Any) -> Modality:
        """This modality, attaching ``covariates`` to every point set it makes.

        ``vamoh.fit(data, covariates=...)`` calls it; the bound modality's :meth:`to_points`
        then fills :attr:`PointSet.covariates` (training points, new sites, finer grids alike),
        and its :meth:`state` records the covariates so a loaded model finds them again. What
        ``covariates`` may be is the modality's to say (the climate plugin takes static fields,
        station coordinates such as ``elev`` and built-ins such as a land-sea mask).
        The default refuses: this modality has no covariates.
        """
        raise ValueError(
            f"modality {self.name!r} does not take covariates; fit without covariates=, or use a "
            f"modality that supports them (the climate plugin does)."
        )

    # -- optional --------------------------------------------------------------------------
    def refine(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        """A template of ``data`` on a finer grid (super-resolution / downscaling target)."""
        raise NotImplementedError(f"modality {self.name!r} does not support refinement")

    def default_config(self, points: PointSet) -> dict[str, Any]:
        """Config overrides suited to this data (sizes scaled to the number of points, etc.)."""
        return {}

    def interpolate(
        self, points: PointSet, observed: np.ndarray, query_coords: np.ndarray
    ) -> np.ndarray:
        """A classical interpolation of observed values at query points (the hybrid baseline).

        Args:
            points: the observed point set (its ``coords`` are the observation locations).
            observed: ``(S, N, C)`` observed values in the data's units, NaN where absent
                (the engine converts to and from its normalised units around the call).
            query_coords: ``(M, d)`` model coordinates to interpolate at.

        Returns:
            ``(S, M, C)`` interpolated values. The default is inverse-distance weighting over the
            nearest observed points in model coordinates; gridded modalities may do better.
        """
        from vamoh.interpolation import idw_interpolate

        return idw_interpolate(points.coords, observed, query_coords)

    def resample(
        self, points: PointSet, fields: np.ndarray, query_coords: np.ndarray
    ) -> np.ndarray | None:
        """Complete fields on ``points``' locations, evaluated at other points (no gaps).

        The Gaussian backbone evaluates its learned mean and covariance basis off the training
        points with it (a finer grid, new stations). Gridded modalities return a smooth
        interpolant (e.g. a cubic spline in the grid's index space); the default ``None`` lets
        the engine interpolate by kernel regression, which is exact at the points and suits
        scattered locations of up to a few thousand points.

        Args:
            points: the training point set (its ``coords`` and ``layout``).
            fields: ``(K, N, C)`` complete values at ``points.coords``.
            query_coords: ``(M, d)`` model coordinates.

        Returns:
            ``(K, M, C)``, or ``None`` to leave it to the engine.
        """
        return None

    def footprints(self, observed: PointSet, support: np.ndarray) -> Footprints | None:
        """How ``observed``'s values relate to the field at the model's ``support`` points.

        A value of a coarse grid cell is the *mean* of the field over the cell: a gridded
        modality returns :class:`~vamoh.backbone.observations.Footprints` whose rows average the
        ``support`` points (the training points) inside each observed cell, so downscaling is
        conditioned exactly on block means. The default ``None`` means point values at
        ``observed.coords``.
        """
        return None

    def coarsen(self, points: PointSet, factor: int) -> tuple[PointSet, Footprints] | None:
        """Block means of ``points``' fields on a grid ``factor`` times coarser, with the
        footprints of its cells over ``points.coords``; ``None`` where there is no grid.

        The backbone scores its downscaling setting on coarsened validation fields.
        """
        return None

    def sample_points(self, values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Which ``n`` points of each sample a training step uses (``config.points_per_sample``).

        Args:
            values: ``(B, N, C)`` normalised values, NaN where absent.
            n: points per sample.
            rng: the batch's random generator (seeded for reproducible, resumable runs).

        Returns:
            ``(B, n)`` indices into ``N``. The default draws uniformly among observed points;
            modalities override it to balance classes (e.g. occupied vs empty voxels).

        Example:
            >>> import numpy as np
            >>> from vamoh.modality import Modality
            >>> values = np.ones((2, 10, 1)); values[0, :5] = np.nan
            >>> idx = Modality().sample_points(values, 3, np.random.default_rng(0))
            >>> idx.shape, bool((idx[0] >= 5).all())
            ((2, 3), True)
        """
        from vamoh.neighbours import random_sample

        return random_sample(np.isfinite(values).any(-1), n, rng)

    def validation_report(
        self, model: Any, train: PointSet, val: PointSet
    ) -> dict[str, dict[str, float]]:
        """Scores that tell a user whether the trained model adds value on their data.

        ``vamoh.fit`` calls this after training with the training and validation samples and
        prints the result. The default hides a random half of each validation sample's points
        and scores the model's gap filling against this modality's :meth:`interpolate` on the
        same points. Modalities override it with their own tasks and their strongest classical
        baselines (e.g. downscaling against cubic interpolation).

        Returns:
            ``{task: {method: rmse}}`` in data units, e.g.
            ``{"gap filling 50%": {"vamoh": 0.31, "interpolation": 0.36}}``.

        Example:
            >>> import numpy as np, vamoh
            >>> from vamoh.toy import ToyModality
            >>> data = np.sin(np.linspace(0, 3, 24))[None, :, None] * np.ones((6, 1, 1))
            >>> with vamoh.plugins.registered(ToyModality.plugin()):
            ...     model = vamoh.fit(data, modality="toy", max_epochs=1, progress=False,
            ...                       config={"batch_size": 4}, report=False)
            ...     points = model.modality.to_points(data)
            ...     report = model.modality.validation_report(model, points, points)
            >>> sorted(report["gap filling 50%"])
            ['interpolation', 'vamoh']
        """
        from vamoh.metrics import point_metrics

        truth = np.asarray(val.samples(slice(None), dtype=np.float64))
        finite = np.isfinite(truth)
        rng = np.random.default_rng(0)
        hidden = finite & (rng.random(truth.shape[:2]) < 0.5)[..., None]
        observed = np.where(hidden, np.nan, truth)
        if not np.isfinite(observed).any(axis=(1, 2)).all() or not hidden.any():
            return {}
        mask = val.with_values(hidden.astype(np.float64))
        scores = model.evaluate(self.from_points(val), mask=self.from_points(mask))
        interpolated = self.interpolate(val, observed, val.coords)
        baseline = point_metrics(truth, interpolated, np.zeros_like(truth), hidden, val.weights)
        return {"gap filling 50%": {"vamoh": scores["rmse"], "interpolation": baseline["rmse"]}}

    def plot(self, data: Any, **kwargs: Any) -> Any:
        """Draw ``data`` (a matplotlib figure); modalities without plots raise."""
        raise NotImplementedError(f"modality {self.name!r} has no plot")

    def __repr__(self) -> str:
        return f"<Modality {self.name!r}>"


class Reader:
    """Opens files or stores as xarray; contributed through the ``vamoh_readers`` hook.

    Attributes:
        name: unique reader name for ``vamoh.open_dataset(path, reader=name)``.
        extensions: file suffixes it claims (used by the default :meth:`guess_can_open`).

    Example:
        >>> from vamoh.modality import Reader
        >>> class Csv(Reader):
        ...     name = "csv"
        ...     extensions = (".csv",)
        >>> Csv().guess_can_open("stations.csv")
        True
    """

    name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    def guess_can_open(self, path: Any) -> bool:
        """Whether this reader claims ``path`` (a cheap check: suffix, a peek at a header)."""
        return str(path).lower().rstrip("/").endswith(tuple(e.lower() for e in self.extensions))

    def open(self, path: Any, **kwargs: Any) -> xr.Dataset | xr.DataArray:
        """Open ``path`` lazily where the format allows; errors name the file."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Reader {self.name!r}>"
