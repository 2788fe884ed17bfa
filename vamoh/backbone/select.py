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
from vamoh.backbone.posterior import _sparse_rows
from vamoh.backbone.prior import GaussianPrior, Hyper
from vamoh.backbone.tasks import hole_masks, scattered_masks

__all__ = ["BLENDS", "LENGTHS", "NOISES", "Selection", "select"]

BLENDS = (0.02, 0.05, 0.1, 0.2)
LENGTHS = (1.5, 2.5, 4.0)  # typical point spacings
NOISES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
WINDOW_POINTS = 1200  # state entries scored when the state is larger
_PATTERNS = 6  # distinct masks per point task
_PER_PATTERN = 8  # validation fields sharing each mask


@dataclass
class Selection:
    """The chosen settings and the validation RMSE (whitened units) of every candidate.

    Attributes:
        settings: ``{"points": Hyper, "means": Hyper, "scattered": Hyper, "hole": Hyper}``
            (``"means"`` only when coarse footprints were given).
        scores: ``{task: {(blend, length, noise): rmse}}``.
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


def _state_cov(prior, basis: torch.Tensor, k: torch.Tensor, blend: float) -> torch.Tensor:
    c = basis.shape[1]
    u = basis.reshape(-1, basis.shape[2])
    return (1 - blend) * (u @ u.T) + blend * torch.kron(k, torch.eye(c, dtype=torch.float64))


def _score_patterns(
    cov: torch.Tensor,
    resid: np.ndarray,
    hidden: np.ndarray,
    truth: np.ndarray,
    weight: np.ndarray,
    noises: tuple[float, ...],
) -> np.ndarray:
    """Weighted squared-error sums per noise over samples; one eigh per distinct mask.

    ``resid``/``truth`` ``(B, S)`` whitened anomalies (NaN where hidden), ``hidden`` ``(B, S)``.
    """
    sse = np.zeros(len(noises))
    patterns, inverse = np.unique(np.packbits(hidden, axis=1), axis=0, return_inverse=True)
    for k in range(len(patterns)):
        members = np.flatnonzero(inverse.ravel() == k)
        hid = hidden[members[0]]
        obs = np.flatnonzero(~hid & np.isfinite(resid[members[0]]))
        tgt = np.flatnonzero(hid & np.isfinite(truth[members[0]]))
        if len(obs) == 0 or len(tgt) == 0:
            continue
        lam, vec = torch.linalg.eigh(cov[obs][:, obs])
        cv = cov[tgt][:, obs] @ vec  # (t, n)
        vr = vec.T @ torch.as_tensor(resid[members][:, obs].T)  # (n, b)
        target = torch.as_tensor(truth[members][:, tgt].T)  # (t, b)
        w = torch.as_tensor(weight[tgt])[:, None]
        for i, s2 in enumerate(noises):
            pred = cv @ (vr / (lam + s2)[:, None].clamp_min(1e-12))
            sse[i] += float((w * (pred - target) ** 2).sum())
    return sse


def _means_sse(
    prior: GaussianPrior,
    basis: torch.Tensor,
    k_zz: torch.Tensor,
    blend: float,
    footprints: Footprints,
    resid_state: np.ndarray,
    weight: np.ndarray,
    noises: tuple[float, ...],
) -> np.ndarray:
    """Coarse means of complete validation fields, predicted back at every support point."""
    c = prior.n_channels
    w = sp.kron(footprints.weights, sp.identity(c), format="csr")
    cov = _state_cov(prior, basis, k_zz, blend)  # (P C, P C)
    cw = _sparse_rows(w, cov).T.contiguous()  # S W^T (P C, n C)
    g = _sparse_rows(w, cw).T.contiguous()  # W S W^T
    complete = np.isfinite(resid_state).all(1)
    if not complete.any():
        return np.zeros(len(noises))
    truth = torch.as_tensor(resid_state[complete].T)  # (P C, b)
    y = _sparse_rows(w, truth)  # (n C, b)
    lam, vec = torch.linalg.eigh(g)
    cv = cw @ vec
    vy = vec.T @ y
    wt = torch.as_tensor(np.repeat(weight, c))[:, None]
    return np.array(
        [
            float((wt * (cv @ (vy / (lam + s2)[:, None].clamp_min(1e-12)) - truth) ** 2).sum())
            for s2 in noises
        ]
    )


def select(
    prior: GaussianPrior,
    values: np.ndarray,
    features: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    coarse: Footprints | None = None,
    *,
    blends: tuple[float, ...] = BLENDS,
    lengths: tuple[float, ...] = LENGTHS,
    noises: tuple[float, ...] = NOISES,
    seed: int = 0,
) -> Selection:
    """Score every candidate on validation ``values`` ``(V, N, C)`` (normalised, at the prior's
    training points) and return the chosen settings.

    Args:
        prior: the prior estimated *without* the validation fields.
        values: validation fields at ``prior.coords``.
        features: ``(V, F)`` their sample features.
        weights: ``(N,)`` point weights of the score (e.g. cos latitude).
        coarse: footprints of a coarser grid's cells over the training points, to score
            downscaling from coarse means.

    Example:
        >>> import numpy as np
        >>> from vamoh.pointset import PointSet
        >>> from vamoh.backbone.estimate import estimate
        >>> x = np.linspace(0, 1, 30)[:, None]
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> prior = GaussianPrior(x, estimate(PointSet(x, fields[:32], ("v",), (None,))), 1 / 29)
        >>> chosen = select(prior, fields[32:], blends=(0.05,), lengths=(1.5,), noises=(1e-4, 1e-1))
        >>> chosen.settings["points"].noise
        0.0001
    """
    rng = np.random.default_rng(seed)
    n_channels = prior.n_channels
    values = np.asarray(values, dtype=np.float64)
    v = values.shape[0]
    point_weight = np.ones(prior.coords.shape[0]) if weights is None else np.asarray(weights)
    # anomalies from the prior mean, whitened: the posterior shift is linear in them
    mean = prior.at(prior.coords).mean_for(features, v)
    anomalies = (values - mean) / prior.scale  # (V, N, C)
    window = _window(prior.coords, n_channels)
    wcoords = torch.as_tensor(prior.coords[window], dtype=torch.float64)
    basis = torch.as_tensor(prior.stats.basis[window], dtype=torch.float64)
    resid = anomalies[:, window].reshape(v, -1)  # (V, S) over the window's state
    state_weight = np.repeat(point_weight[window], n_channels)
    # task masks over points (every channel of a hidden point is hidden): a few distinct masks,
    # each shared by a group of validation fields, so one eigendecomposition serves the group
    chosen = rng.permutation(v)[: _PATTERNS * _PER_PATTERN] if v > 0 else np.arange(0)
    if len(chosen) < _PATTERNS:
        chosen = rng.choice(v, size=_PATTERNS, replace=True)
    group = np.arange(len(chosen)) % _PATTERNS
    masks = {
        "scattered": scattered_masks(_PATTERNS, len(window), rng, (0.4, 0.6))[group],
        "hole": hole_masks(prior.coords[window], _PATTERNS, rng, (0.2, 0.3))[group],
    }
    scores: dict[str, dict[tuple[float, float, float], float]] = {t: {} for t in masks}
    local = None if coarse is None else _window_footprints(prior, coarse, window)
    if local is not None:
        scores["means"] = {}
    for blend, length in itertools.product(blends, lengths):
        hyper = Hyper(blend, length, noises[0])
        k_w = prior.kernel(hyper)(wcoords, wcoords)
        cov = _state_cov(prior, basis, k_w, blend)
        for task, point_mask in masks.items():
            hidden = np.repeat(point_mask, n_channels, axis=1)  # (b, S)
            truth = resid[chosen]
            seen = np.where(hidden, np.nan, truth)
            scored = hidden & np.isfinite(truth)
            sse = _score_patterns(cov, seen, hidden, truth, state_weight, noises)
            total = float((scored * state_weight).sum())
            for s2, e in zip(noises, sse):
                scores[task][(blend, length, s2)] = math.sqrt(e / max(total, 1e-12))
        if local is not None:
            sse = _means_sse(prior, basis, k_w, blend, local, resid, point_weight[window], noises)
            total = float(np.isfinite(resid).all(1).sum() * state_weight.sum())
            for s2, e in zip(noises, sse):
                scores["means"][(blend, length, s2)] = math.sqrt(e / max(total, 1e-12))

    def best(task: str) -> Hyper:
        return Hyper(*min(scores[task], key=scores[task].get))

    def compromise() -> Hyper:
        tasks = [t for t in ("scattered", "hole") if scores[t]]
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
