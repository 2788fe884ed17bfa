"""Estimating the backbone's prior from training fields: a mean and an anomaly basis.

Everything is read a block of samples at a time (:meth:`vamoh.pointset.PointSet.blocks`), so a
store larger than memory is summarised with flat memory. Values are the engine's normalised
values; NaN marks a missing observation and is never filled with zeros in the statistics:

* the mean is a per-point (and per-channel) least-squares fit of ``m + beta . g(t)`` where
  ``g(t)`` are the samples' features (e.g. the hour of day as cos/sin), so a diurnal or seasonal
  cycle is part of the mean where the modality provides features;
* the covariance of the anomalies is the plain sample covariance when the fields are complete
  (its square root is the anomaly matrix itself, kept as a basis of rank = number of samples), the
  pairwise-complete covariance (eigen-clipped to be positive semi-definite) when fields have gaps
  and the state is small, and a randomized low-rank approximation of the zero-filled anomalies
  (each point scaled by its observed fraction) when the state is large.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vamoh.pointset import PointSet

__all__ = ["AnomalyStatistics", "estimate"]

# state entries (points x channels) up to which the pairwise-complete covariance is formed
PAIRWISE_LIMIT = 4096
# basis rank kept for large states (randomized range finder) and at most for small ones
LARGE_RANK = 96
MAX_RANK = 2048
_RIDGE = 1e-6


@dataclass(frozen=True)
class AnomalyStatistics:
    """What :func:`estimate` learns from training fields (normalised units).

    Attributes:
        mean: ``(N, C)`` mean field (the intercept when there are sample features).
        seasonal: ``(F, N, C)`` coefficients of the sample features, or ``None``.
        scale: ``(C,)`` root-mean-square anomaly per channel (the backbone whitens with it).
        basis: ``(N, C, r)`` whitened anomaly basis: ``basis @ basis.T`` is the anomalies'
            covariance divided by ``scale**2`` per channel.
        observed: ``(N, C)`` whether a point-channel was ever observed in training.
        n_samples: training samples used.
        covariates: ``(N, G)`` static covariates at the training points, or ``None``.
        covariate_names: their names.
        gappy: whether the fields had missing values at points observed elsewhere (the
            covariance then comes from overlapping records; not saved).
    """

    mean: np.ndarray
    seasonal: np.ndarray | None
    scale: np.ndarray
    basis: np.ndarray
    observed: np.ndarray
    n_samples: int
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] = ()
    gappy: bool = False


def _blocks(values: np.ndarray | object, points: PointSet, index: np.ndarray) -> Iterator:
    features = points.sample_features
    start = 0
    for block in points.blocks(index=index):
        rows = index[start : start + block.shape[0]]
        start += block.shape[0]
        g = None if features is None else np.asarray(features, dtype=np.float64)[rows]
        yield block, g


def _mean_fit(points: PointSet, index: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Per point-channel least squares of ``y = m + beta . g`` over the observed samples."""
    n, c = points.n_points, points.n_channels
    f = 0 if points.sample_features is None else np.asarray(points.sample_features).shape[1]
    xtx = np.zeros((n, c, f + 1, f + 1))
    xty = np.zeros((n, c, f + 1))
    for block, g in _blocks(points.values, points, index):
        finite = np.isfinite(block)  # (b, N, C)
        y = np.where(finite, block, 0.0)
        x = np.ones((block.shape[0], f + 1))
        if f:
            x[:, 1:] = g
        w = finite.astype(np.float64)
        # sum_t w_tnc x_t x_t^T and sum_t w_tnc x_t y_tnc without a loop over samples
        xtx += np.einsum("tnc,ti,tj->ncij", w, x, x, optimize=True)
        xty += np.einsum("tnc,ti->nci", y, x, optimize=True)
    count = xtx[..., 0, 0]
    ridge = _RIDGE * np.maximum(count, 1.0)[..., None, None] * np.eye(f + 1)
    ridge[..., 0, 0] = 0.0
    # too few observations to fit the features: fall back to the plain mean there
    few = count < 4 * (f + 1)
    coef = np.zeros((n, c, f + 1))
    seen = count > 0
    if f:
        fit = seen & ~few
        if fit.any():
            coef[fit] = np.linalg.solve(xtx[fit] + ridge[fit], xty[fit][..., None])[..., 0]
        plain = seen & few
        coef[plain, 0] = xty[plain, 0] / count[plain]
    else:
        coef[seen, 0] = xty[seen, 0] / count[seen]
    mean = coef[..., 0]
    seasonal = np.moveaxis(coef[..., 1:], -1, 0) if f else None
    return mean, seasonal


def _anomalies(block: np.ndarray, g: np.ndarray | None, mean, seasonal) -> np.ndarray:
    expected = mean[None]
    if seasonal is not None:
        expected = expected + np.einsum("tf,fnc->tnc", g, seasonal)
    return block - expected  # NaN stays NaN


def _pairwise(points, index, mean, seasonal, scale) -> np.ndarray:
    nc = points.n_points * points.n_channels
    prod = np.zeros((nc, nc))
    count = np.zeros((nc, nc))
    for block, g in _blocks(points.values, points, index):
        a = _anomalies(block, g, mean, seasonal) / scale
        a = a.reshape(a.shape[0], nc)
        m = np.isfinite(a).astype(np.float64)
        a = np.where(m > 0, a, 0.0)
        prod += a.T @ a
        count += m.T @ m
    cov = prod / np.maximum(count, 1.0)
    lam, vec = np.linalg.eigh(cov)
    keep = lam > 1e-10 * max(float(lam[-1]), 1e-30)
    lam, vec = lam[keep][::-1][:MAX_RANK], vec[:, keep][:, ::-1][:, :MAX_RANK]
    return vec * np.sqrt(lam)


def _complete_basis(points, index, mean, seasonal, scale) -> np.ndarray:
    """The anomaly matrix itself (rank = samples), or its leading singular vectors."""
    nc = points.n_points * points.n_channels
    rows = []
    for block, g in _blocks(points.values, points, index):
        a = _anomalies(block, g, mean, seasonal) / scale
        rows.append(a.reshape(a.shape[0], nc).astype(np.float32))
    anomalies = np.concatenate(rows)  # (S, NC)
    s = anomalies.shape[0]
    if s <= MAX_RANK:
        return anomalies.T.astype(np.float64) / np.sqrt(s)
    gram = anomalies.astype(np.float64) @ anomalies.T.astype(np.float64) / s
    lam, vec = np.linalg.eigh(gram)
    lam, vec = lam[::-1][:MAX_RANK], vec[:, ::-1][:, :MAX_RANK]
    keep = lam > 1e-10 * max(float(lam[0]), 1e-30)
    lam, vec = lam[keep], vec[:, keep]
    # right singular vectors times singular values: A^T v / sqrt(s lam) * sqrt(lam)
    return (anomalies.T.astype(np.float64) @ vec) / np.sqrt(s)


def _randomized(points, index, mean, seasonal, scale, observed_fraction, seed: int) -> np.ndarray:
    """Two passes over the store: a range finder then a projection (Halko et al. 2011)."""
    nc = points.n_points * points.n_channels
    rank = min(LARGE_RANK, len(index))
    width = rank + 10
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal((len(index), width)).astype(np.float32)
    weight = (1.0 / np.sqrt(np.maximum(observed_fraction, 1e-3))).reshape(nc).astype(np.float32)
    sketch = np.zeros((nc, width), dtype=np.float32)
    start = 0

    def filled(block, g):
        a = (_anomalies(block, g, mean, seasonal) / scale).reshape(block.shape[0], nc)
        return np.nan_to_num(a).astype(np.float32) * weight

    for block, g in _blocks(points.values, points, index):
        a = filled(block, g)
        sketch += a.T @ omega[start : start + a.shape[0]]
        start += a.shape[0]
    q, _ = np.linalg.qr(sketch)  # (NC, width)
    projected = []
    for block, g in _blocks(points.values, points, index):
        projected.append(filled(block, g) @ q)
    z = np.concatenate(projected)  # (S, width)
    _, sing, vt = np.linalg.svd(z, full_matrices=False)
    sing, vt = sing[:rank], vt[:rank]
    return (q @ vt.T).astype(np.float64) * (sing / np.sqrt(len(index)))


def estimate(points: PointSet, index: np.ndarray | None = None, seed: int = 0) -> AnomalyStatistics:
    """Mean, feature coefficients and whitened anomaly basis of ``points``' samples ``index``.

    Example:
        >>> import numpy as np
        >>> from vamoh.pointset import PointSet
        >>> rng = np.random.default_rng(0)
        >>> values = rng.normal(size=(50, 6, 1))
        >>> ps = PointSet(np.zeros((6, 2), np.float32), values, ("v",), (None,))
        >>> stats = estimate(ps)
        >>> stats.basis.shape, bool(np.allclose(stats.mean[:, 0], values.mean(0)[:, 0]))
        ((6, 1, 50), True)
    """
    index = np.arange(points.n_samples) if index is None else np.asarray(index)
    if len(index) < 2:
        raise ValueError("the Gaussian backbone needs at least 2 training samples.")
    mean, seasonal = _mean_fit(points, index)
    n, c = points.n_points, points.n_channels
    total_sq = np.zeros(c)
    counts = np.zeros((n, c))
    gaps = False
    for block, g in _blocks(points.values, points, index):
        a = _anomalies(block, g, mean, seasonal)
        finite = np.isfinite(a)
        gaps = gaps or not finite.all()
        counts += finite.sum(0)
        total_sq += np.where(finite, a, 0.0).__pow__(2).sum((0, 1))
    observed = counts > 0
    scale = np.sqrt(total_sq / np.maximum(counts.sum(0), 1.0))
    scale = np.where(scale > 0, scale, 1.0)
    if not gaps:
        basis = _complete_basis(points, index, mean, seasonal, scale)
    elif n * c <= PAIRWISE_LIMIT:
        basis = _pairwise(points, index, mean, seasonal, scale)
    else:
        fraction = counts / len(index)
        basis = _randomized(points, index, mean, seasonal, scale, fraction, seed)
    # float32: the covariance needs no more, and a 0.25 degree global basis stays < 0.5 GB
    basis = basis.reshape(n, c, -1).astype(np.float32)
    basis[~observed] = 0.0
    return AnomalyStatistics(
        mean=np.where(observed, mean, 0.0),
        seasonal=None if seasonal is None else np.where(observed[None], seasonal, 0.0),
        scale=scale,
        basis=basis,
        observed=observed,
        n_samples=len(index),
        covariates=points.covariates,
        covariate_names=points.covariate_names,
        gappy=bool(gaps and (counts[observed] < len(index)).any()),
    )
