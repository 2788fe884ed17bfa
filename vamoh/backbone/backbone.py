"""The Gaussian backbone bound to a modality: fitted from a PointSet, conditioned on any task.

:class:`GaussianBackbone` owns the prior (:mod:`vamoh.backbone.prior`), its hyper-parameter
settings and the modality hooks that place observations and queries: coarse grid cells observe
block means (:meth:`~vamoh.modality.Modality.footprints`), other data observe points, and the
prior is evaluated off its training points through :meth:`~vamoh.modality.Modality.resample`.
Values here are the engine's normalised values; :class:`vamoh.api.Model` converts units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vamoh.backbone.estimate import estimate
from vamoh.backbone.observations import Footprints, Observations
from vamoh.backbone.posterior import Posterior, condition
from vamoh.backbone.prior import GaussianPrior, Hyper
from vamoh.backbone.select import BLENDS, Fold, Selection, select
from vamoh.modality import Modality
from vamoh.neighbours import typical_spacing
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet

__all__ = ["SEARCHES", "VALIDATION_SAMPLES", "GaussianBackbone"]

VALIDATION_SAMPLES = 48  # held-out fields read (over all folds) to choose the hyper-parameters
# the hyper-parameter searches (config.backbone_search): folds, candidates and whether the best
# candidates' neighbours are scored too. "quick" costs about a tenth of "full": for short fits
SEARCHES: dict[str, dict[str, Any]] = {
    "full": dict(folds=4, candidates={}, refine=True),
    "quick": dict(
        folds=2,
        candidates=dict(blends=(0.05,), lengths=(1.5, 2.5), tapers=(0.0, 40.0)),
        refine=False,
    ),
}
# blends a search adds when the training fields have gaps: a covariance from overlapping
# records is poor (a 60-station network with 60% missing: gap RMSE 1.72 K at 0.05, 1.14 K at
# 0.5); with complete fields, folds of part of the record favour them wrongly (NCEP random
# gaps 0.315 K at 0.05, 0.341 K at the 0.5 a quick search chose)
GAPPY_BLENDS = (0.5, 0.9)


@dataclass
class GaussianBackbone:
    """A fitted Gaussian prior and the settings it conditions with.

    Example:
        >>> import numpy as np
        >>> from vamoh.modality import Modality
        >>> from vamoh.normalisation import Normaliser
        >>> x = np.linspace(0, 1, 24)[:, None].astype(np.float32)
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> points = PointSet(x, fields, ("v",), (None,))
        >>> norm = Normaliser.fit("standard", fields)
        >>> bb = GaussianBackbone.fit(points, Modality(), norm, np.arange(32))
        >>> sorted(bb.prior.settings)
        ['hole', 'means', 'points', 'scattered']
        >>> gappy = norm.forward(fields[32:34]).copy(); gappy[:, 8:16] = np.nan
        >>> post = bb.posterior(points.with_values(gappy), x)
        >>> bool(np.nanmax(np.abs(post.mean - norm.forward(fields[32:34]))) < 0.2)
        True
    """

    prior: GaussianPrior
    modality: Modality
    selection_seconds: float = 0.0
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    # -- fitting --------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        points: PointSet,
        modality: Modality,
        normaliser: Normaliser,
        train_idx: np.ndarray,
        seed: int = 0,
        settings: dict[str, Hyper] | None = None,
        search: str = "full",
    ) -> GaussianBackbone:
        """Estimate the prior on the samples ``train_idx`` and choose its settings.

        The settings (blend, kernel length, noise per task kind) are chosen by cross-validation
        over contiguous folds of ``train_idx`` (:func:`vamoh.backbone.select.select`); with
        ``settings`` given, or too few samples to fold, they are not chosen: ``settings`` or
        :data:`DEFAULT_SETTINGS` are used. ``search`` names one of :data:`SEARCHES`.
        """
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {sorted(SEARCHES)}; got {search!r}.")
        started = time.perf_counter()
        train_idx = np.asarray(train_idx)
        normalised = points.with_values(_Normalised(points.values, normaliser))
        prior = GaussianPrior(
            coords=np.asarray(points.coords, dtype=np.float64),
            stats=estimate(normalised, train_idx, seed),
            spacing=typical_spacing(points.coords),
            resampler=_resampler(modality, points),
        )
        backbone = cls(prior=prior, modality=modality)
        if settings is not None:
            prior.settings = dict(settings)
        elif len(train_idx) < SEARCHES[search]["folds"] * 4:
            prior.settings = dict(DEFAULT_SETTINGS)
        else:
            options = dict(SEARCHES[search])
            blends = options["candidates"].get("blends", BLENDS)
            if prior.stats.gappy:
                options["candidates"] = {**options["candidates"], "blends": blends + GAPPY_BLENDS}
            backbone._select(normalised, train_idx, seed, **options)
        backbone.selection_seconds = time.perf_counter() - started
        return backbone

    def _select(
        self,
        normalised: PointSet,
        train_idx: np.ndarray,
        seed: int,
        folds: int,
        candidates: dict[str, tuple[float, ...]],
        refine: bool,
    ) -> None:
        parts = np.array_split(np.sort(train_idx), folds)
        per_fold = max(4, VALIDATION_SAMPLES // folds)
        folds_: list[Fold] = []
        for part in parts:
            rest = np.setdiff1d(train_idx, part)
            prior = GaussianPrior(
                coords=self.prior.coords,
                stats=estimate(normalised, rest, seed),
                spacing=self.prior.spacing,
                resampler=self.prior.resampler,
            )
            held = part[
                np.unique(np.linspace(0, len(part) - 1, min(len(part), per_fold)).round()).astype(
                    int
                )
            ]
            features = (
                None if normalised.sample_features is None else normalised.sample_features[held]
            )
            folds_.append(Fold(prior, normalised.samples(held, dtype=np.float64), features))
        coarse = self.modality.coarsen(normalised.subset(train_idx[:1]), 2)
        selection: Selection = select(
            folds_,
            weights=normalised.weights,
            coarse=coarse[1] if coarse is not None else None,
            refine=refine,
            seed=seed,
            **candidates,
        )
        settings = dict(selection.settings)
        settings.setdefault("means", settings["points"])
        self.prior.settings = settings
        self.scores = {
            task: {"/".join(f"{x:g}" for x in k): v for k, v in table.items()}
            for task, table in selection.scores.items()
        }

    def refit(self, points: PointSet, normaliser: Normaliser, index: np.ndarray, seed: int = 0):
        """Re-estimate the prior on the samples ``index`` with the chosen settings kept."""
        normalised = points.with_values(_Normalised(points.values, normaliser))
        self.prior = GaussianPrior(
            coords=self.prior.coords,
            stats=estimate(normalised, np.asarray(index), seed),
            spacing=self.prior.spacing,
            settings=self.prior.settings,
            resampler=self.prior.resampler,
        )
        return self

    # -- conditioning ---------------------------------------------------------------------------
    def observations(self, observed: PointSet, values: np.ndarray) -> tuple[Observations, str]:
        """The task's observations (``values`` normalised) and their kind (points or means)."""
        footprints: Footprints | None = self.modality.footprints(observed, self.prior.coords)
        kind = "means" if footprints is not None else "points"
        if footprints is not None and self.prior.stats.covariates is not None:
            # the support is the training points (and, rarely, cell centres beside them)
            from vamoh.neighbours import knn

            nearest, _ = knn(self.prior.coords, footprints.support, 1)
            covariates = self.prior.stats.covariates[nearest[0, :, 0]]
            footprints = Footprints(footprints.support, footprints.weights, covariates)
        return Observations(values, observed.coords, footprints, observed.covariates), kind

    def posterior(
        self,
        observed: PointSet,
        query: np.ndarray,
        *,
        setting: str | None = None,
        include_noise: bool = True,
        query_covariates: np.ndarray | None = None,
    ) -> Posterior:
        """Posterior at ``query`` given ``observed`` (its values already normalised).

        ``setting`` names which hyper-parameters to use (``"points"``, ``"means"``,
        ``"scattered"``, ``"hole"``); by default the one for the observations' kind.
        """
        values = np.asarray(observed.values, dtype=np.float64)
        obs, kind = self.observations(observed, values)
        hyper = self.prior.settings[setting or kind]
        return condition(
            self.prior,
            obs,
            query,
            hyper,
            observed.sample_features,
            include_noise=include_noise,
            query_covariates=query_covariates,
        )

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {"prior": self.prior.to_state(), "scores": self.scores}

    @classmethod
    def from_state(
        cls, state: dict[str, Any], modality: Modality, points: PointSet | None = None
    ) -> GaussianBackbone:
        prior = GaussianPrior.from_state(state["prior"], _resampler(modality, points))
        return cls(prior=prior, modality=modality, scores=state.get("scores", {}))


# measured best on ERA5 UK and NCEP validation fields (used when there are none to choose on)
DEFAULT_SETTINGS: dict[str, Hyper] = {
    "points": Hyper(0.05, 2.5, 1e-3, 40.0),
    "scattered": Hyper(0.05, 2.5, 3e-4, 40.0),
    "hole": Hyper(0.2, 4.0, 3e-2, 40.0),
    "means": Hyper(0.05, 2.5, 3e-4, 40.0),
}


def _resampler(modality: Modality, points: PointSet | None):
    def resample(fields: np.ndarray, query: np.ndarray) -> np.ndarray | None:
        return modality.resample(points, fields, query)

    return resample


class _Normalised:
    """A lazy view of ``values`` through the normaliser: blocks are normalised as they are read."""

    def __init__(self, values: Any, normaliser: Normaliser) -> None:
        self.values = values
        self.normaliser = normaliser
        self.shape = values.shape
        self.dtype = np.dtype(np.float64)

    def __getitem__(self, index: Any) -> np.ndarray:
        block = self.values[index]
        if hasattr(block, "compute"):
            block = block.compute(scheduler="synchronous")
        return self.normaliser.forward(np.asarray(block, dtype=np.float64))
