"""Exact Gaussian conditioning of the backbone prior through a task's observation operator.

``y = W f(Z) + e``, ``e ~ N(0, s2)``: the posterior mean and standard deviation of ``f`` at query
points ``Q`` are

    mean(Q) = m(Q) + S(Q, Z) W^T G^-1 (y - W m(Z)),   G = W S(Z, Z) W^T + s2 I
    var(Q)  = diag S(Q, Q) - diag(S(Q, Z) W^T G^-1 W S(Z, Q))  (+ s2 for a new observation)

computed per channel-whitened state ``(point, channel)``, so channels share the low-rank part of
the covariance (their cross-covariance) and each has its own stationary part. Samples that
observe the same entries share one Cholesky factor; a batch of differently masked samples is one
factorisation per distinct mask, each a block of dense linear algebra (torch, float64). Query
points are processed in chunks, so memory is ``O(n_obs^2 + chunk x n_obs)``.

This dense path is exact and is used up to :data:`DENSE_LIMIT` observed values per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vamoh.backbone.observations import Observations
from vamoh.backbone.prior import GaussianPrior, Hyper, PriorAt

__all__ = ["DENSE_LIMIT", "Posterior", "condition"]

DENSE_LIMIT = 8000  # observed values (points x channels) per sample for the dense solve
_QUERY_CHUNK = 8192
_JITTER = 1e-9


@dataclass
class Posterior:
    """Posterior mean and standard deviation at the query points (normalised units).

    Attributes:
        mean: ``(B, M, C)``; NaN where the prior is undefined (never observed in training).
        std: ``(B, M, C)``; includes the observation noise when asked (a new observation's
            predictive spread rather than the field's).
        prior_std: ``(M, C)`` the prior standard deviation at the query points (same noise rule).
        prior_mean: ``(B, M, C)`` the prior mean there (with the samples' features).
    """

    mean: np.ndarray
    std: np.ndarray
    prior_std: np.ndarray
    prior_mean: np.ndarray


def _sparse_rows(weights, dense: torch.Tensor) -> torch.Tensor:
    """``weights @ dense`` for a scipy sparse ``weights`` and a torch ``dense`` (P, k)."""
    if weights.shape[0] == weights.shape[1] and (weights != weights.T).nnz == 0:
        diag = weights.diagonal()
        if weights.nnz == weights.shape[0] and np.allclose(diag, 1.0):
            return dense  # identity: point observations
    coo = weights.tocoo()
    w = torch.sparse_coo_tensor(
        np.vstack([coo.row, coo.col]), coo.data, weights.shape, dtype=torch.float64
    )
    return torch.sparse.mm(w, dense)


@dataclass
class _Operator:
    """The prior seen through the observations: what every query chunk and mask shares."""

    lowrank: torch.Tensor  # (n_obs * C, r) = W U(Z), channel-whitened
    gram: torch.Tensor  # (n_obs * C, n_obs * C) = G
    weights: object  # scipy sparse (n_obs, P)
    support: torch.Tensor  # (P, d)


def _build(prior: GaussianPrior, obs: Observations, pz: PriorAt, hyper: Hyper) -> _Operator:
    c = prior.n_channels
    weights = obs.weights()
    support = torch.as_tensor(obs.support, dtype=torch.float64)
    basis_z = torch.as_tensor(pz.basis, dtype=torch.float64)  # (P, C, r)
    p, _, r = basis_z.shape
    lowrank = _sparse_rows(weights, basis_z.reshape(p, c * r)).reshape(-1, c, r)
    n_obs = lowrank.shape[0]
    lowrank = lowrank.reshape(n_obs * c, r)
    kernel = prior.kernel(hyper)
    k_zz = kernel(support, support)
    k_oo = _sparse_rows(weights, _sparse_rows(weights, k_zz).T.contiguous()).T  # W K W^T
    gram = (1.0 - hyper.blend) * (lowrank @ lowrank.T)
    gram += hyper.blend * torch.kron(k_oo.contiguous(), torch.eye(c, dtype=torch.float64))
    gram.diagonal().add_(hyper.noise + _JITTER)
    return _Operator(lowrank=lowrank, gram=gram, weights=weights, support=support)


def _cross(
    prior: GaussianPrior, op: _Operator, pq: PriorAt, rows: slice, query: torch.Tensor, hyper: Hyper
) -> tuple[torch.Tensor, torch.Tensor]:
    """``S(Q, Z) W^T`` ``(m * C, n_obs * C)`` and the prior variance ``(m * C,)`` of a chunk."""
    c = prior.n_channels
    basis_q = torch.as_tensor(pq.basis[rows], dtype=torch.float64)  # (m, C, r)
    m = basis_q.shape[0]
    basis_q = basis_q.reshape(m * c, -1)
    k_qz = prior.kernel(hyper)(query, op.support)  # (m, P)
    k_qo = _sparse_rows(op.weights, k_qz.T.contiguous()).T  # (m, n_obs)
    cross = (1.0 - hyper.blend) * (basis_q @ op.lowrank.T)
    cross += hyper.blend * torch.kron(k_qo.contiguous(), torch.eye(c, dtype=torch.float64))
    var = (1.0 - hyper.blend) * basis_q.square().sum(1) + hyper.blend
    return cross, var


def condition(
    prior: GaussianPrior,
    obs: Observations,
    query: np.ndarray,
    hyper: Hyper,
    features: np.ndarray | None = None,
    *,
    include_noise: bool = True,
    std_where: np.ndarray | None = None,
) -> Posterior:
    """The posterior of ``prior`` given ``obs`` at ``query`` ``(M, d)`` (see the module docstring).

    Args:
        prior: the fitted Gaussian prior.
        obs: observed values ``(B, n_obs, C)`` (NaN = not observed) and their operator.
        query: where to predict.
        hyper: blend, kernel length and noise.
        features: ``(B, F)`` sample features for the mean (``None``: the cycle-average).
        include_noise: add the observation noise to the std (the spread of a new observation).
        std_where: ``(B, M)`` where the std is wanted (NaN elsewhere); the std is most of the
            cost, and training examples score only their hidden points. Samples sharing a mask
            must share this too (it is read from each mask's first sample).

    Example:
        >>> import numpy as np
        >>> from vamoh.pointset import PointSet
        >>> from vamoh.backbone.estimate import estimate
        >>> x = np.linspace(0, 1, 20)[:, None]
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> prior = GaussianPrior(x, estimate(PointSet(x, fields, ("v",), (None,))), 0.05)
        >>> truth = np.sin(6 * x.T + 1.0)[..., None]
        >>> seen = truth.copy(); seen[:, 5:15] = np.nan
        >>> post = condition(prior, Observations(seen, x), x, Hyper(0.05, 1.0, 1e-4))
        >>> bool(np.abs(post.mean - truth)[0, 5:15].max() < 0.05)
        True
    """
    values = obs.values
    b, n_obs, c = values.shape
    if c != prior.n_channels:
        raise ValueError(f"observations have {c} channels; the prior has {prior.n_channels}.")
    scale = prior.scale  # (C,)
    pz = prior.at(obs.support)
    pq = prior.at(np.asarray(query, dtype=np.float64))
    op = _build(prior, obs, pz, hyper)
    # residuals of the observations from the prior mean, whitened per channel
    m_z = torch.as_tensor(pz.mean_for(features, b), dtype=torch.float64)  # (B, P, C)
    p = m_z.shape[1]
    m_o = _sparse_rows(op.weights, m_z.permute(1, 0, 2).reshape(p, b * c))
    m_o = m_o.reshape(n_obs, b, c).permute(1, 0, 2).numpy()
    resid = ((values - m_o) / scale).reshape(b, n_obs * c)  # NaN where not observed
    finite = np.isfinite(resid)
    if (finite.sum(1) > DENSE_LIMIT).any():
        raise ValueError(
            f"a sample observes {int(finite.sum(1).max())} values, more than the dense "
            f"backbone's {DENSE_LIMIT}; predict in smaller regions or fewer variables."
        )
    # one factorisation per distinct mask; samples sharing a mask share it
    patterns, inverse = np.unique(np.packbits(finite, axis=1), axis=0, return_inverse=True)
    solved = []
    for k in range(len(patterns)):
        members = np.flatnonzero(inverse.ravel() == k)
        idx = torch.as_tensor(np.flatnonzero(finite[members[0]]))
        chol = torch.linalg.cholesky(op.gram[idx][:, idx])
        rhs = torch.as_tensor(resid[members][:, idx.numpy()].T)  # (n, k)
        solved.append((members, idx, chol, torch.cholesky_solve(rhs, chol)))
    m_q = pq.mean_for(features, b)  # (B, M, C)
    mq = m_q.shape[1]
    mean = np.empty((b, mq, c))
    var = np.empty((b, mq, c))
    prior_var = np.empty((mq, c))
    query_t = torch.as_tensor(np.asarray(query, dtype=np.float64))
    noise = hyper.noise if include_noise else 0.0
    for start in range(0, mq, _QUERY_CHUNK):
        rows = slice(start, min(mq, start + _QUERY_CHUNK))
        cross, pvar = _cross(prior, op, pq, rows, query_t[rows], hyper)
        m = rows.stop - rows.start
        prior_var[rows] = (pvar + noise).reshape(m, c).numpy()
        for members, idx, chol, alpha in solved:
            part = cross[:, idx]  # (m C, n)
            shift = (part @ alpha).T.reshape(len(members), m, c).numpy()  # whitened
            mean[members, rows] = m_q[members, rows] + shift * scale
            if std_where is None:
                wanted = slice(None)
            else:
                wanted = torch.as_tensor(np.repeat(std_where[members[0], rows], c))
            reduction = (
                torch.linalg.solve_triangular(chol, part[wanted].T, upper=False).square().sum(0)
            )
            v = torch.full((m * c,), torch.nan, dtype=torch.float64)
            v[wanted] = (pvar[wanted] - reduction).clamp_min(0.0) + noise
            var[members, rows] = v.reshape(m, c).numpy()[None]
    std = np.sqrt(var) * scale
    unknown = ~pq.known[None]
    mean = np.where(unknown, np.nan, mean)
    std = np.where(unknown, np.nan, std)
    return Posterior(mean=mean, std=std, prior_std=np.sqrt(prior_var) * scale, prior_mean=m_q)
