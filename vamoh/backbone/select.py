"""Choosing the backbone's hyper-parameters on held-out fields.

The blend ``a`` between the sample covariance and the stationary kernel, the kernel length and the
observation noise are chosen by the RMSE of task-shaped predictions (:mod:`vamoh.backbone.tasks`)
on validation fields, with the prior estimated from the other training fields. Point observations
are scored on scattered gaps and on holes, and one setting serves both (the one closest to each
task's best, in relative RMSE); coarse means get their own setting. Every noise level of a
``(blend, length)`` pair comes from one eigendecomposition per observation pattern.

Large states are scored on a window of the points nearest the domain's middle: the settings are
in units of the typical point spacing, so they carry over to the whole domain.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from vamoh.backbone.observations import Footprints
from vamoh.backbone.posterior import _sparse_rows, _tapered, taper
from vamoh.backbone.prior import GaussianPrior, Hyper
from vamoh.backbone.tasks import hole_masks, scattered_masks

__all__ = ["BLENDS", "LENGTHS", "NOISES", "Selection", "select"]

BLENDS = (0.02, 0.05, 0.2)  # the engine adds higher ones for gappy records (GAPPY_BLENDS)
LENGTHS = (1.5, 2.5, 4.0)  # typical point spacings
NOISES = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
# localisation of the sample covariance: the support of a Gaspari-Cohn taper in spacings (0 =
# none); on ERA5 UK a taper of 30-60 spacings cut the error by 7-16% on every task
TAPERS = (0.0, 40.0)
WINDOW_POINTS = 900  # state entries scored when the state is larger
_PATTERNS = 6  # distinct masks per point task, over all folds
_PER_PATTERN = 4  # validation fields sharing each mask
_LENGTH_STEPS = (0.8, 1.25)  # refinement of the best kernel length
_TAPER_STEPS = (0.5, 2.0)  # refinement of the best localisation


@dataclass
class Selection:
    """The chosen settings and the validation RMSE (whitened units) of every candidate.

    Attributes:
        settings: ``{"points": Hyper, "means": Hyper, "scattered": Hyper, "hole": Hyper}``
            (``"means"`` only when coarse footprints were given).
        scores: ``{task: {(blend, length, noise, taper): rmse}}``.
    """

    settings: dict[str, Hyper]
    scores: dict[str, dict[tuple[float, float, float], float]] = field(default_factory=dict)

    def best(self, task: str) -> float:
        return min(self.scores[task].values())


def _window(coords: np.ndarray, n_channels: int) -> np.ndarray:
    n = coords.shape[0]
    keep = max(16, WINDOW_POINTS // max(1, n_channels))
    if n <= keep:
        return np.arange(n)
    middle = coords.mean(0)
    return np.sort(np.argsort(((coords - middle) ** 2).sum(1))[:keep])


def _state_cov(
    basis: torch.Tensor, k: torch.Tensor, blend: float, localisation: torch.Tensor | None
) -> torch.Tensor:
    c = basis.shape[1]
    u = basis.reshape(-1, basis.shape[2])
    low = u @ u.T
    if localisation is not None:
        low = _tapered(low, localisation, c)
    return (1 - blend) * low + blend * torch.kron(k, torch.eye(c, dtype=torch.float64))


def _score_patterns(
    cov: torch.Tensor,
    resid: np.ndarray,
    hidden: np.ndarray,
    truth: np.ndarray,
    weight: np.ndarray,
    noises: tuple[float, ...],
) -> np.ndarray:
    """Weighted squared-error sums per noise over samples; one eigh per distinct observed set.

    ``resid``/``truth`` ``(B, S)`` whitened anomalies (NaN where hidden or missing), ``hidden``
    ``(B, S)``. Fields sharing a task mask and complete data share one factorisation; a field
    with gaps of its own (station records) gets its own, so its missing values are neither
    observations nor targets.
    """
    sse = np.zeros(len(noises))
    observed = ~hidden & np.isfinite(resid)
    target = hidden & np.isfinite(truth)
    patterns, inverse = np.unique(np.packbits(observed, axis=1), axis=0, return_inverse=True)
    for k in range(len(patterns)):
        members = np.flatnonzero(inverse.ravel() == k)
        obs = np.flatnonzero(observed[members[0]])
        tgt = np.flatnonzero(target[members].any(0))
        if len(obs) == 0 or len(tgt) == 0:
            continue
        # shifted by the smallest noise: eigenvalues near zero make the solver crawl
        shift = min(noises)
        block = cov[obs][:, obs]
        block.diagonal().add_(shift)
        lam, vec = torch.linalg.eigh(block)
        cv = cov[tgt][:, obs] @ vec  # (t, n)
        vr = vec.T @ torch.as_tensor(resid[members][:, obs].T)  # (n, b)
        scored = torch.as_tensor(target[members][:, tgt].T)  # (t, b)
        truth_t = torch.as_tensor(np.nan_to_num(truth[members][:, tgt].T))
        w = torch.as_tensor(weight[tgt])[:, None] * scored
        for i, s2 in enumerate(noises):
            pred = cv @ (vr / (lam + s2 - shift)[:, None].clamp_min(1e-12))
            sse[i] += float((w * (pred - truth_t) ** 2).sum())
    return sse


def _means_sse(
    prior: GaussianPrior,
    cov: torch.Tensor,
    footprints: Footprints,
    resid_state: np.ndarray,
    weight: np.ndarray,
    noises: tuple[float, ...],
) -> np.ndarray:
    """Coarse means of complete validation fields, predicted back at every support point."""
    c = prior.n_channels
    w = sp.kron(footprints.weights, sp.identity(c), format="csr")
    cw = _sparse_rows(w, cov).T.contiguous()  # S W^T (P C, n C)
    g = _sparse_rows(w, cw).T.contiguous()  # W S W^T
    complete = np.isfinite(resid_state).all(1)
    if not complete.any():
        return np.zeros(len(noises))
    truth = torch.as_tensor(resid_state[complete].T)  # (P C, b)
    y = _sparse_rows(w, truth)  # (n C, b)
    shift = min(noises)
    g.diagonal().add_(shift)
    lam, vec = torch.linalg.eigh(g)
    lam = lam - shift
    cv = cw @ vec
    vy = vec.T @ y
    wt = torch.as_tensor(np.repeat(weight, c))[:, None]
    return np.array(
        [
            float((wt * (cv @ (vy / (lam + s2)[:, None].clamp_min(1e-12)) - truth) ** 2).sum())
            for s2 in noises
        ]
    )


@dataclass
class Fold:
    """A prior and held-out fields it was estimated without (normalised, at its points)."""

    prior: GaussianPrior
    values: np.ndarray  # (V, N, C)
    features: np.ndarray | None = None  # (V, F)


def _fold_sse(
    fold: Fold,
    weights: np.ndarray | None,
    coarse: Footprints | None,
    candidates: list[tuple[float, float, float]],
    noises: tuple[float, ...],
    n_patterns: int,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Squared-error sums ``{task: (len(candidates), len(noises))}`` and weight totals."""
    prior = fold.prior
    n_channels = prior.n_channels
    values = np.asarray(fold.values, dtype=np.float64)
    v = values.shape[0]
    point_weight = np.ones(prior.coords.shape[0]) if weights is None else np.asarray(weights)
    # anomalies from the prior mean, whitened: the posterior shift is linear in them
    mean = prior.at(prior.coords).mean_for(fold.features, v)
    anomalies = (values - mean) / prior.scale  # (V, N, C)
    window = _window(prior.coords, n_channels)
    wcoords = torch.as_tensor(prior.coords[window], dtype=torch.float64)
    basis = torch.as_tensor(prior.stats.basis[window], dtype=torch.float64)
    resid = anomalies[:, window].reshape(v, -1)  # (V, S) over the window's state
    state_weight = np.repeat(point_weight[window], n_channels)
    # task masks over points (every channel of a hidden point is hidden): a few distinct masks,
    # each shared by a group of fields, so one eigendecomposition serves the group
    chosen = rng.permutation(v)[: n_patterns * _PER_PATTERN]
    if len(chosen) < n_patterns:
        chosen = rng.choice(v, size=n_patterns, replace=True)
    group = np.arange(len(chosen)) % n_patterns
    masks = {
        "scattered": scattered_masks(n_patterns, len(window), rng, (0.4, 0.6))[group],
        "hole": hole_masks(prior.coords[window], n_patterns, rng, (0.2, 0.35))[group],
    }
    local = None if coarse is None else _window_footprints(prior, coarse, window)
    tasks = [*masks, *(["means"] if local is not None else [])]
    sse = {t: np.zeros((len(candidates), len(noises))) for t in tasks}
    totals: dict[str, float] = {}
    truth = resid[chosen]
    for task, point_mask in masks.items():
        hidden = np.repeat(point_mask, n_channels, axis=1)  # (b, S)
        totals[task] = float(((hidden & np.isfinite(truth)) * state_weight).sum())
    if local is not None:
        totals["means"] = float(np.isfinite(resid).all(1).sum() * state_weight.sum())
    for i, (blend, length, support) in enumerate(candidates):
        k_w = prior.kernel(Hyper(blend, length, noises[0]))(wcoords, wcoords)
        localisation = taper(wcoords, wcoords, support * prior.spacing) if support > 0 else None
        cov = _state_cov(basis, k_w, blend, localisation)
        for task, point_mask in masks.items():
            hidden = np.repeat(point_mask, n_channels, axis=1)
            seen = np.where(hidden, np.nan, truth)
            sse[task][i] = _score_patterns(cov, seen, hidden, truth, state_weight, noises)
        if local is not None:
            sse["means"][i] = _means_sse(prior, cov, local, resid, point_weight[window], noises)
    return sse, totals


def select(
    folds: list[Fold],
    weights: np.ndarray | None = None,
    coarse: Footprints | None = None,
    *,
    blends: tuple[float, ...] = BLENDS,
    lengths: tuple[float, ...] = LENGTHS,
    noises: tuple[float, ...] = NOISES,
    tapers: tuple[float, ...] = TAPERS,
    refine: bool = True,
    seed: int = 0,
) -> Selection:
    """Score every candidate on each fold's held-out fields and return the chosen settings.

    Cross-validation: each fold's prior was estimated without its fields; errors are pooled
    over the folds before choosing, so every training field can serve once as a test field.

    Args:
        folds: priors and the fields each was estimated without.
        weights: ``(N,)`` point weights of the score (e.g. cos latitude).
        coarse: footprints of a coarser grid's cells over the training points, to score
            downscaling from coarse means.
        blends: candidate blends of the kernel into the sample covariance.
        lengths: candidate kernel lengths (typical point spacings).
        noises: candidate observation noise variances (whitened units).
        tapers: candidate localisation supports (spacings; 0 is none). Every combination of
            the candidates is scored.
        refine: also score lengths and tapers beside each task's best candidate.
        seed: seeds the task masks.

    Example:
        >>> import numpy as np
        >>> from vamoh.pointset import PointSet
        >>> from vamoh.backbone.estimate import estimate
        >>> x = np.linspace(0, 1, 30)[:, None]
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> prior = GaussianPrior(x, estimate(PointSet(x, fields[:32], ("v",), (None,))), 1 / 29)
        >>> chosen = select([Fold(prior, fields[32:])], blends=(0.05,), lengths=(1.5,),
        ...                 noises=(1e-4, 1e-1))
        >>> chosen.settings["points"].noise
        0.0001
    """
    candidates = list(itertools.product(blends, lengths, tapers))
    n_patterns = max(2, math.ceil(_PATTERNS / len(folds)))
    sse: dict[str, dict[tuple[float, float], np.ndarray]] = {}
    totals: dict[str, float] = {}

    def score(pairs: list[tuple[float, float, float]]) -> None:
        # the same masks for every call: each fold's generator is seeded by its position
        totals.clear()
        for k, fold in enumerate(folds):
            rng = np.random.default_rng([seed, k])
            part, weight = _fold_sse(fold, weights, coarse, pairs, noises, n_patterns, rng)
            for task, table in part.items():
                rows = sse.setdefault(task, {})
                for pair, row in zip(pairs, table):
                    rows[pair] = rows.get(pair, 0.0) + row
                totals[task] = totals.get(task, 0.0) + weight[task]

    def rmse(task: str) -> dict[tuple[float, float, float], float]:
        return {
            (blend, length, s2, support): math.sqrt(row[j] / max(totals[task], 1e-12))
            for (blend, length, support), row in sse[task].items()
            for j, s2 in enumerate(noises)
        }

    score(candidates)
    # refine the kernel length and the localisation around each task's best: the error is
    # sharp in both (NCEP random gaps: 0.36 K at a length of 2.0 spacings, 0.42 K at 1.5)
    nearby = set()
    for task in sse if refine else ():
        blend, length, _, support = min(rmse(task).items(), key=lambda kv: kv[1])[0]
        for factor in _LENGTH_STEPS:
            nearby.add((blend, round(length * factor, 3), support))
        for factor in _TAPER_STEPS if support > 0 else ():
            nearby.add((blend, length, round(support * factor, 3)))
    nearby = {pair for pair in nearby if any(pair not in sse[t] for t in sse)}
    if nearby:
        score(sorted(nearby))
    scores = {task: rmse(task) for task in sse}

    def best(task: str) -> Hyper:
        return Hyper(*min(scores[task], key=scores[task].get))

    def compromise() -> Hyper:
        tasks = [t for t in ("scattered", "hole") if scores.get(t)]
        lowest = {t: min(scores[t].values()) for t in tasks}
        key = min(
            scores[tasks[0]],
            key=lambda h: sum(math.log(scores[t][h] / max(lowest[t], 1e-12)) for t in tasks),
        )
        return Hyper(*key)

    settings = {"points": compromise(), "scattered": best("scattered"), "hole": best("hole")}
    if scores.get("means"):
        settings["means"] = best("means")
    return Selection(settings=settings, scores=scores)


def _window_footprints(
    prior: GaussianPrior, coarse: Footprints, window: np.ndarray
) -> Footprints | None:
    """The coarse cells whose support lies inside ``window``, re-indexed onto its points.

    The support must be training points (coarse means of the training grid).
    """
    from vamoh.neighbours import knn

    idx, dist = knn(prior.coords, coarse.support, 1)
    if float(dist.max()) > 1e-5:
        raise ValueError("coarse footprints for selection must be supported on training points.")
    position = np.full(prior.coords.shape[0], -1)
    position[window] = np.arange(len(window))
    column = position[idx[0, :, 0]]  # support point -> window index (-1 outside)
    w = coarse.weights.tocsr()
    outside = np.asarray((w[:, column < 0] != 0).sum(1)).ravel() > 0
    rows = np.flatnonzero(~outside & (np.diff(w.indptr) > 0))
    if len(rows) == 0:
        return None
    sub = w[rows].tocoo()
    weights = sp.csr_matrix((sub.data, (sub.row, column[sub.col])), shape=(len(rows), len(window)))
    return Footprints(prior.coords[window], weights)
