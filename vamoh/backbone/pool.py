"""Task-shaped training examples with the backbone's posteriors, for the learned layers.

The learned layers are trained on what the backbone leaves: for each example a training field is
observed through a task (scattered gaps, a hole, coarse means), the backbone conditions on it and
the layers learn from the truth at the points it predicts. The backbone must not have seen the
field: its prior then reproduces it too well and the layers would learn nothing (or learn to
trust it too much). So the training fields are split into contiguous folds and each fold's
examples are conditioned with a prior estimated on the other folds (cross-fitting).

Each example stores, at a set of query points, the posterior mean and std of the two point
"experts" (the hyper-parameters best for scattered gaps and for holes; for coarse means both are
the means setting) and of the backbone's own setting, the prior std there, and the distance from
each query point to the nearest observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vamoh.backbone.backbone import GaussianBackbone
from vamoh.backbone.observations import Footprints, Observations
from vamoh.backbone.posterior import condition
from vamoh.backbone.tasks import hole_masks, scattered_masks
from vamoh.neighbours import knn
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet

__all__ = ["KIND_CODES", "TaskPool", "build_pool"]

KIND_CODES = {"scattered": 0, "hole": 1, "means": 2}
_FOLDS = 4
_QUERY_POINTS = 4096  # points per example where posteriors are kept (all when fewer)
_GROUP = 4  # examples sharing one mask (one factorisation per group and setting)


@dataclass
class TaskPool:
    """Examples ``E`` at query points ``Q`` (normalised units; ``C`` channels).

    Attributes:
        samples: ``(E,)`` sample index of each example in the point set.
        kinds: ``(E,)`` task codes (:data:`KIND_CODES`).
        hidden: ``(E, Q)`` whether the query point was hidden (scored) in the example.
        query: ``(Q,)`` indices of the query points among the training points.
        experts: ``(E, 3, Q, C, 2)`` float32 posterior (mean, std) of the two experts and, in
            slot 2, of the backbone's own setting for the task's kind (``points`` or ``means``):
            the "backbone alone" the learned layers are measured against (NaN in cross-fitted
            training pools, which do not need it). Stds are kept at hidden points only.
        prior_std: ``(Q, C)``.
        prior_mean: ``(E, Q, C)`` float32 the prior mean (with the sample's features).
        distance: ``(E, Q)`` float32 ``log1p(distance to the nearest observation / spacing)``.
        truth: ``(E, Q, C)`` float32 the field (NaN where the training data have none).
        observed: ``(E, N, C)`` float32 what the example observed at every training point (NaN
            elsewhere; coarse means repeated over their cells), the learned layers' context.
    """

    samples: np.ndarray
    kinds: np.ndarray
    hidden: np.ndarray
    query: np.ndarray
    experts: np.ndarray
    prior_std: np.ndarray
    prior_mean: np.ndarray
    distance: np.ndarray
    truth: np.ndarray
    observed: np.ndarray

    @property
    def n_examples(self) -> int:
        return int(self.samples.shape[0])

    def select(self, rows: np.ndarray) -> TaskPool:
        """The examples ``rows``."""
        return TaskPool(
            samples=self.samples[rows],
            kinds=self.kinds[rows],
            hidden=self.hidden[rows],
            query=self.query,
            experts=self.experts[rows],
            prior_std=self.prior_std,
            prior_mean=self.prior_mean[rows],
            distance=self.distance[rows],
            truth=self.truth[rows],
            observed=self.observed[rows],
        )


def _folds(index: np.ndarray, n_folds: int) -> list[np.ndarray]:
    return [part for part in np.array_split(np.asarray(index), n_folds) if len(part)]


def _examples_for(
    backbone: GaussianBackbone,
    normalised: np.ndarray,
    features: np.ndarray | None,
    kinds: np.ndarray,
    coords: np.ndarray,
    query: np.ndarray,
    coarse: Footprints | None,
    rng: np.random.Generator,
    settings: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """Posteriors of every example in a fold (``normalised`` ``(b, N, C)`` complete fields)."""
    prior = backbone.prior
    b, n, c = normalised.shape
    q = len(query)
    experts = np.full((b, 3, q, c, 2), np.nan, dtype=np.float32)
    hidden = np.zeros((b, n), dtype=bool)
    observed = np.full((b, n, c), np.nan, dtype=np.float32)
    distance = np.zeros((b, q), dtype=np.float32)
    prior_mean = np.zeros((b, q, c), dtype=np.float32)
    prior_std = None
    points_rows = np.flatnonzero(kinds != KIND_CODES["means"])
    scattered = np.flatnonzero(kinds == KIND_CODES["scattered"])
    holes = np.flatnonzero(kinds == KIND_CODES["hole"])
    n_masks = max(1, int(np.ceil(len(scattered) / _GROUP)))
    hidden[scattered] = scattered_masks(n_masks, n, rng)[np.arange(len(scattered)) % n_masks]
    n_holes = max(1, int(np.ceil(len(holes) / _GROUP)))
    hidden[holes] = hole_masks(coords, n_holes, rng)[np.arange(len(holes)) % n_holes]
    # every example keeps at least one observed point (a handful of stations with gaps may
    # otherwise lose them all)
    present = np.isfinite(normalised).any(-1)  # (b, N)
    empty = ~(present & ~hidden).any(1) & present.any(1)
    if empty.any():
        first = np.argmax(present[empty], axis=1)
        hidden[np.flatnonzero(empty), first] = False
    if len(points_rows):
        seen = np.where(hidden[points_rows][..., None], np.nan, normalised[points_rows])
        obs = Observations(seen, coords)
        feats = None if features is None else features[points_rows]
        for slot, name in enumerate(settings):
            post = condition(
                prior,
                obs,
                coords[query],
                prior.settings[name],
                feats,
                std_where=hidden[points_rows][:, query],
            )
            experts[points_rows, slot, ..., 0] = post.mean
            experts[points_rows, slot, ..., 1] = post.std
            prior_std = post.prior_std
        prior_mean[points_rows] = post.prior_mean
        observed[points_rows] = seen
        _, dist = _nearest_observed(coords, ~hidden[points_rows], query)
        distance[points_rows] = dist
    means_rows = np.flatnonzero(kinds == KIND_CODES["means"])
    if len(means_rows) and coarse is not None:
        w = coarse.weights
        # coarse means of each field (support = training points, by construction of coarsen)
        flat = normalised[means_rows].transpose(1, 0, 2).reshape(n, -1)
        cells = (w[:, :n] @ flat).reshape(w.shape[0], len(means_rows), c).transpose(1, 0, 2)
        obs = Observations(cells, np.zeros((w.shape[0], coords.shape[1])), coarse)
        feats = None if features is None else features[means_rows]
        post = condition(prior, obs, coords[query], prior.settings["means"], feats)
        for slot in range(len(settings)):
            experts[means_rows, slot, ..., 0] = post.mean
            experts[means_rows, slot, ..., 1] = post.std
        prior_std = post.prior_std if prior_std is None else prior_std
        prior_mean[means_rows] = post.prior_mean
        hidden[means_rows] = True
        # the context of a means example: each point carries its cell's mean
        member = w[:, :n].tocsc()
        cell_of = np.asarray(member.argmax(axis=0)).ravel()
        in_cell = np.diff(member.indptr) > 0  # trailing rows/columns no cell covers stay NaN
        spread = cells[:, cell_of].astype(np.float32)
        observed[means_rows] = np.where(in_cell[None, :, None], spread, np.nan)
        distance[means_rows] = 0.0
    return {
        "experts": experts,
        "hidden": hidden[:, query],
        "observed": observed,
        "distance": distance,
        "prior_std": prior_std,
        "prior_mean": prior_mean,
    }


def _nearest_observed(
    coords: np.ndarray, observed: np.ndarray, query: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log1p(distance / spacing)`` from each query point to the nearest observed point."""
    from vamoh.neighbours import typical_spacing

    spacing = typical_spacing(coords)
    idx, dist = knn(coords, coords[query], 1, ref_mask=observed)
    return idx[..., 0], np.log1p(dist[..., 0] / spacing).astype(np.float32)


def build_pool(
    points: PointSet,
    normaliser: Normaliser,
    backbone: GaussianBackbone,
    train_idx: np.ndarray,
    n_examples: int,
    seed: int = 0,
    *,
    cross_fit: bool = True,
) -> TaskPool:
    """``n_examples`` task-shaped examples from the samples ``train_idx``, cross-fitted.

    With ``cross_fit=False`` every example is conditioned with ``backbone`` itself (for samples
    it was not estimated on, e.g. validation fields). Samples with gaps keep them: a point the
    data lack is neither context nor scored.

    Example:
        >>> import numpy as np
        >>> from vamoh.modality import Modality
        >>> x = np.linspace(0, 1, 24)[:, None].astype(np.float32)
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> points = PointSet(x, fields, ("v",), (None,))
        >>> norm = Normaliser.fit("standard", fields)
        >>> bb = GaussianBackbone.fit(points, Modality(), norm, np.arange(32))
        >>> pool = build_pool(points, norm, bb, np.arange(32), 16)
        >>> pool.experts.shape, pool.kinds.tolist().count(2)
        ((16, 3, 24, 1, 2), 0)
    """
    rng = np.random.default_rng([seed, 7])
    modality = backbone.modality
    coords = np.asarray(points.coords, dtype=np.float64)
    n = coords.shape[0]
    query = np.arange(n) if n <= _QUERY_POINTS else np.sort(rng.choice(n, _QUERY_POINTS, False))
    train_idx = np.asarray(train_idx)
    coarse = modality.coarsen(points.subset(train_idx[:1]), 2)
    footprints = coarse[1] if coarse is not None else None
    # more examples than fields: each field serves several tasks
    chosen = rng.choice(train_idx, size=n_examples, replace=n_examples > len(train_idx))
    shares = [0.4, 0.35, 0.25] if footprints is not None else [0.55, 0.45, 0.0]
    kinds = rng.choice(3, size=n_examples, p=shares)
    n_folds = _FOLDS if cross_fit and len(train_idx) >= 2 * _FOLDS else 1
    folds = _folds(np.sort(train_idx), n_folds)
    parts: list[dict[str, np.ndarray]] = []
    order: list[np.ndarray] = []
    for k, fold in enumerate(folds):
        rows = np.flatnonzero(np.isin(chosen, fold))
        if not len(rows):
            continue
        if len(folds) > 1:
            fold_backbone = GaussianBackbone.fit(
                points,
                modality,
                normaliser,
                np.setdiff1d(train_idx, fold),
                seed=seed,
                settings=backbone.prior.settings,
            )
        else:
            fold_backbone = backbone
        samples = chosen[rows]
        values = normaliser.forward(points.samples(samples, dtype=np.float64))
        features = None if points.sample_features is None else points.sample_features[samples]
        part = _examples_for(
            fold_backbone,
            values,
            features,
            kinds[rows],
            coords,
            query,
            footprints,
            np.random.default_rng([seed, k]),
            # the backbone's own setting only where the pool measures the layers against it
            ("scattered", "hole") if cross_fit else ("scattered", "hole", "points"),
        )
        part["truth"] = values[:, query].astype(np.float32)
        parts.append(part)
        order.append(rows)
    rows = np.concatenate(order)
    inverse = np.argsort(rows)

    def stack(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts])[inverse]

    return TaskPool(
        samples=chosen[rows][inverse],
        kinds=kinds[rows][inverse],
        hidden=stack("hidden"),
        query=query,
        experts=stack("experts"),
        prior_std=next(p["prior_std"] for p in parts if p["prior_std"] is not None),
        prior_mean=stack("prior_mean"),
        distance=stack("distance"),
        truth=stack("truth"),
        observed=stack("observed"),
    )
