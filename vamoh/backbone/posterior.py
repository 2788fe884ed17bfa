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
Larger tasks (a 0.25 degree global grid observes half a million points) are conditioned
locally, as data assimilation's local analysis does: the query points are split into compact
tiles, and each tile is conditioned exactly on the observations nearest to it plus an evenly
thinned set from the whole domain (which pins down the large-scale modes of the low-rank part).
Memory stays bounded by one tile's problem, whatever the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vamoh.backbone.observations import Observations
from vamoh.backbone.prior import GaussianPrior, Hyper, PriorAt

__all__ = ["DENSE_LIMIT", "Posterior", "condition", "taper"]

DENSE_LIMIT = 6000  # observed values (points x channels) per sample for the dense solve
TILE_QUERIES = 2048  # query points per tile of a local solve
LOCAL_OBS = 2500  # observations nearest a tile that condition it
GLOBAL_OBS = 600  # evenly thinned observations from the whole domain added to every tile
# above this many observed values the dense solve gives the exact mean, and the std (n_obs^2 per
# query point, most of the cost) comes from smaller local tiles: the posterior std is set by
# the observations near a point, as local analysis assumes
STD_DENSE_LIMIT = 2000
STD_TILE = (1024, 1200, 300)  # query points per tile, nearest and thinned observations
_QUERY_CHUNK = 2048  # query points per block: the cross-covariance block is chunk x n_obs
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
        torch.as_tensor(np.vstack([coo.row, coo.col]), dtype=torch.long),
        torch.as_tensor(coo.data, dtype=torch.float64),
        weights.shape,
        check_invariants=False,  # scipy's COO is valid by construction
    )
    return torch.sparse.mm(w, dense)


@dataclass
class _Operator:
    """The prior seen through the observations: what every query chunk and mask shares."""

    lowrank: torch.Tensor  # (P * C, r): the basis at the support, channel-whitened
    through: torch.Tensor | None  # (n_obs * C, r) = W U(Z) when untapered, else None
    gram: torch.Tensor  # (n_obs * C, n_obs * C) = G
    weights: object  # scipy sparse (n_obs, P)
    expanded: object  # scipy sparse (n_obs * C, P * C): W acting on every channel
    support: torch.Tensor  # (P, d)


def _expanded(weights, c: int):
    import scipy.sparse as sp

    return sp.kron(weights, sp.identity(c), format="csr") if c > 1 else weights


def taper(x: torch.Tensor, y: torch.Tensor, support: float) -> torch.Tensor:
    """Gaspari-Cohn localisation ``(n, m)``: 1 at distance 0, 0 beyond ``support``.

    The compactly supported fifth-order piecewise rational function of Gaspari & Cohn (1999),
    the standard taper of ensemble covariances: its Schur product with a covariance stays a
    covariance and removes spurious long-range correlations of a finite sample.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64)
        >>> taper(x, x, 1.0)[0].round(decimals=3).tolist()
        [1.0, 0.208, 0.0]
    """
    r = torch.cdist(x, y) / (support / 2.0)
    out = torch.zeros_like(r)
    inner = r <= 1.0
    outer = (r > 1.0) & (r < 2.0)
    a = r[inner]
    out[inner] = -0.25 * a**5 + 0.5 * a**4 + 0.625 * a**3 - 5.0 / 3.0 * a**2 + 1.0
    b = r[outer]
    out[outer] = (
        b**5 / 12.0 - 0.5 * b**4 + 0.625 * b**3 + 5.0 / 3.0 * b**2 - 5.0 * b + 4.0 - 2.0 / (3.0 * b)
    )
    return out


def _tapered(cov: torch.Tensor, localisation: torch.Tensor, c: int) -> torch.Tensor:
    """``cov`` ``(n C, m C)`` times the taper ``(n, m)`` on every pair of channels."""
    if c == 1:
        return cov * localisation
    return cov * torch.kron(localisation, torch.ones(c, c, dtype=cov.dtype))


def _build(prior: GaussianPrior, obs: Observations, pz: PriorAt, hyper: Hyper) -> _Operator:
    c = prior.n_channels
    weights = obs.weights()
    expanded = _expanded(weights, c)
    support = torch.as_tensor(obs.support, dtype=torch.float64)
    basis_z = torch.as_tensor(pz.basis, dtype=torch.float64)  # (P, C, r)
    p, _, r = basis_z.shape
    lowrank = basis_z.reshape(p * c, r)
    kernel = prior.kernel(hyper)
    k_zz = kernel(support, support)
    k_oo = _sparse_rows(weights, _sparse_rows(weights, k_zz).T.contiguous()).T  # W K W^T
    if hyper.taper > 0:
        local = _tapered(
            lowrank @ lowrank.T, taper(support, support, hyper.taper * prior.spacing), c
        )
        through = None
        low_oo = _sparse_rows(expanded, _sparse_rows(expanded, local).T.contiguous()).T
    else:
        through = _sparse_rows(expanded, lowrank)  # (n_obs C, r)
        low_oo = through @ through.T
    gram = (1.0 - hyper.blend) * low_oo
    gram += hyper.blend * torch.kron(k_oo.contiguous(), torch.eye(c, dtype=torch.float64))
    gram.diagonal().add_(hyper.noise + _JITTER)
    return _Operator(
        lowrank=lowrank,
        through=through,
        gram=gram,
        weights=weights,
        expanded=expanded,
        support=support,
    )


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
    if op.through is not None:
        low = basis_q @ op.through.T
    else:
        local = taper(query, op.support, hyper.taper * prior.spacing)
        low_qz = _tapered(basis_q @ op.lowrank.T, local, c)  # (m C, P C)
        low = _sparse_rows(op.expanded, low_qz.T.contiguous()).T
    cross = (1.0 - hyper.blend) * low
    cross += hyper.blend * torch.kron(k_qo.contiguous(), torch.eye(c, dtype=torch.float64))
    var = (1.0 - hyper.blend) * basis_q.square().sum(1) + hyper.blend
    return cross, var


def _condition_dense(
    prior: GaussianPrior,
    obs: Observations,
    query: np.ndarray,
    hyper: Hyper,
    features: np.ndarray | None = None,
    *,
    include_noise: bool = True,
    std_where: np.ndarray | None = None,
    query_covariates: np.ndarray | None = None,
) -> Posterior:
    """:func:`condition`'s exact solve over every observed position (same arguments): one
    operator for the batch, one Cholesky factor per distinct mask."""
    values = obs.values
    b, n_obs, c = values.shape
    if c != prior.n_channels:
        raise ValueError(f"observations have {c} channels; the prior has {prior.n_channels}.")
    scale = prior.scale  # (C,)
    pz = prior.at(obs.support, obs.support_covariates)
    pq = prior.at(np.asarray(query, dtype=np.float64), query_covariates)
    op = _build(prior, obs, pz, hyper)
    # residuals of the observations from the prior mean, whitened per channel
    m_z = torch.as_tensor(pz.mean_for(features, b), dtype=torch.float64)  # (B, P, C)
    p = m_z.shape[1]
    m_o = _sparse_rows(op.weights, m_z.permute(1, 0, 2).reshape(p, b * c))
    m_o = m_o.reshape(n_obs, b, c).permute(1, 0, 2).numpy()
    resid = ((values - m_o) / scale).reshape(b, n_obs * c)  # NaN where not observed
    finite = np.isfinite(resid)
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


def condition(
    prior: GaussianPrior,
    obs: Observations,
    query: np.ndarray,
    hyper: Hyper,
    features: np.ndarray | None = None,
    *,
    include_noise: bool = True,
    std_where: np.ndarray | None = None,
    query_covariates: np.ndarray | None = None,
) -> Posterior:
    """The posterior of ``prior`` given ``obs`` at ``query`` ``(M, d)`` (see the module docstring).

    Exact (dense) when every sample observes at most :data:`DENSE_LIMIT` values; else local
    (tiles of the query points, each conditioned on its nearest observations and a thinned
    global set).

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
        query_covariates: ``(M, G)`` covariates at the query points (a prior fitted with
            covariates needs them off its training points).

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
    observed = np.isfinite(obs.values).reshape(obs.n_samples, -1).sum(1)
    b = obs.n_samples
    kwargs = {
        "include_noise": include_noise,
        "std_where": std_where,
        "query_covariates": query_covariates,
    }
    if observed.max(initial=0) > DENSE_LIMIT:
        return _condition_local(prior, obs, query, hyper, features, **kwargs)
    if observed.max(initial=0) > STD_DENSE_LIMIT:
        m = np.asarray(query).shape[0]
        exact = _condition_points(
            prior, obs, query, hyper, features, **{**kwargs, "std_where": np.zeros((b, m), bool)}
        )
        local = _condition_local(prior, obs, query, hyper, features, sizes=STD_TILE, **kwargs)
        return Posterior(exact.mean, local.std, local.prior_std, exact.prior_mean)
    return _condition_points(prior, obs, query, hyper, features, **kwargs)


def _condition_points(
    prior: GaussianPrior,
    obs: Observations,
    query: np.ndarray,
    hyper: Hyper,
    features: np.ndarray | None,
    *,
    include_noise: bool,
    std_where: np.ndarray | None,
    query_covariates: np.ndarray | None,
) -> Posterior:
    """The dense solve; samples are grouped by mask, positions nobody observes are dropped."""
    kwargs = {
        "include_noise": include_noise,
        "std_where": std_where,
        "query_covariates": query_covariates,
    }
    seen = np.isfinite(obs.values).any(-1)  # (B, n_obs)
    used = seen.any(0)
    if not used.all():
        # positions no sample observes (land in a sea-surface record) only cost time and memory
        obs = _sub_observations(obs, np.flatnonzero(used))
        seen = seen[:, used]
    patterns, inverse = np.unique(seen, axis=0, return_inverse=True)
    sizes = patterns.sum(1).astype(np.float64)
    if len(patterns) == 1 or np.sum(sizes**2) > 0.5 * seen.shape[1] ** 2:
        # one operator over every observed position, shared by the masks, is cheaper
        return _condition_dense(prior, obs, query, hyper, features, **kwargs)
    # a few masks observing different regions: each solved on its own observations
    parts = []
    for k, pattern in enumerate(patterns):
        members = np.flatnonzero(inverse.ravel() == k)
        sub = _sub_observations(_samples(obs, members), np.flatnonzero(pattern))
        part = _condition_dense(
            prior,
            sub,
            query,
            hyper,
            None if features is None else np.asarray(features)[members],
            include_noise=include_noise,
            std_where=None if std_where is None else std_where[members],
            query_covariates=query_covariates,
        )
        parts.append((members, part))
    return _assemble(parts, obs.n_samples)


def _samples(obs: Observations, members: np.ndarray) -> Observations:
    return Observations(obs.values[members], obs.coords, obs.footprints, obs.covariates)


def _assemble(parts: list[tuple[np.ndarray, Posterior]], n_samples: int) -> Posterior:
    """One posterior from the posteriors of groups of samples (``(members, posterior)``)."""
    first = parts[0][1]
    mean = np.empty((n_samples, *first.mean.shape[1:]))
    std = np.empty_like(mean)
    prior_mean = np.empty_like(mean)
    for members, part in parts:
        mean[members], std[members], prior_mean[members] = part.mean, part.std, part.prior_mean
    return Posterior(mean=mean, std=std, prior_std=first.prior_std, prior_mean=prior_mean)


def _tiles(points: np.ndarray, size: int) -> list[np.ndarray]:
    """Indices of compact groups of at most ``size`` points (recursive median bisection)."""
    out, stack = [], [np.arange(points.shape[0])]
    while stack:
        idx = stack.pop()
        if len(idx) <= size:
            out.append(idx)
            continue
        spread = np.ptp(points[idx], axis=0)
        axis = int(np.argmax(spread))
        order = idx[np.argsort(points[idx, axis], kind="stable")]
        half = len(order) // 2
        stack += [order[:half], order[half:]]
    return out


def _sub_observations(obs: Observations, rows: np.ndarray) -> Observations:
    """The observations ``rows`` (and, for footprints, only the support they use)."""
    values = obs.values[:, rows]
    coords = np.asarray(obs.coords)[rows]
    if obs.footprints is None:
        covariates = None if obs.covariates is None else obs.covariates[rows]
        return Observations(values, coords, covariates=covariates)
    weights = obs.footprints.weights[rows]
    used = np.unique(weights.indices)
    sub = weights[:, used]
    fp = obs.footprints
    from vamoh.backbone.observations import Footprints

    covariates = None if fp.covariates is None else fp.covariates[used]
    return Observations(values, coords, Footprints(fp.support[used], sub, covariates))


def _condition_local(
    prior: GaussianPrior,
    obs: Observations,
    query: np.ndarray,
    hyper: Hyper,
    features: np.ndarray | None,
    *,
    include_noise: bool,
    std_where: np.ndarray | None,
    query_covariates: np.ndarray | None,
    sizes: tuple[int, int, int] = (TILE_QUERIES, LOCAL_OBS, GLOBAL_OBS),
) -> Posterior:
    from vamoh.neighbours import knn

    tile_queries, local_obs, global_obs = sizes
    query = np.asarray(query, dtype=np.float64)
    b, _, c = obs.values.shape
    m = query.shape[0]
    # where each observation sits: its point, or the mean of its footprint's support
    if obs.footprints is None:
        where = np.asarray(obs.coords, dtype=np.float64)
    else:
        w = obs.footprints.weights
        where = (w @ obs.footprints.support) / np.maximum(w.sum(1), 1e-12)
        where = np.asarray(where)
    seen_any = np.flatnonzero(np.isfinite(obs.values).any(axis=(0, 2)))
    per_value = max(1, c)
    n_local = max(1, min(len(seen_any), local_obs // per_value))
    n_global = max(0, min(len(seen_any), global_obs // per_value))
    thinned = seen_any[np.linspace(0, len(seen_any) - 1, n_global).round().astype(int)]
    mean = np.empty((b, m, c))
    std = np.empty((b, m, c))
    prior_std = np.empty((m, c))
    prior_mean = np.empty((b, m, c))
    for tile in _tiles(query, tile_queries):
        centre = query[tile].mean(0, keepdims=True)
        near, _ = knn(where[seen_any], centre, n_local)
        rows = np.union1d(seen_any[near[0, 0]], thinned)
        sub = _sub_observations(obs, rows)
        part = _condition_dense(
            prior,
            sub,
            query[tile],
            hyper,
            features,
            include_noise=include_noise,
            std_where=None if std_where is None else std_where[:, tile],
            query_covariates=None if query_covariates is None else query_covariates[tile],
        )
        mean[:, tile] = part.mean
        std[:, tile] = part.std
        prior_std[tile] = part.prior_std
        prior_mean[:, tile] = part.prior_mean
    return Posterior(mean=mean, std=std, prior_std=prior_std, prior_mean=prior_mean)
