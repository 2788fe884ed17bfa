"""Generic scattered interpolation in model coordinates (the hybrid mode's default baseline)."""

from __future__ import annotations

import numpy as np

from vamoh.neighbours import knn

__all__ = ["idw_interpolate"]


def idw_interpolate(
    coords: np.ndarray,
    observed: np.ndarray,
    query: np.ndarray,
    *,
    k: int = 8,
    power: float = 2.0,
) -> np.ndarray:
    """Inverse-distance-weighted interpolation of each sample's observed points.

    Args:
        coords: ``(N, d)`` observation locations (model coordinates).
        observed: ``(S, N, C)`` values, NaN where a sample lacks a point (per channel).
        query: ``(M, d)`` locations to interpolate at.

    Returns:
        ``(S, M, C)``; exact at observed locations.

    Example:
        >>> import numpy as np
        >>> xy = np.array([[0.0], [1.0]])
        >>> idw_interpolate(xy, np.array([[[0.0], [2.0]]]), np.array([[0.5], [1.0]]))[0, :, 0]
        array([1., 2.])
    """
    coords = np.asarray(coords, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    s, _, c = observed.shape
    # one pass per (sample, channel) pattern of missing values: the batched kNN below handles all
    # samples at once by offsetting them in an extra coordinate
    valid = np.isfinite(observed)  # (S, N, C)
    out = np.full((s, query.shape[0], c), np.nan)
    for ch in range(c):  # channels are few (variables); samples are batched inside knn
        v = valid[:, :, ch]
        counts = v.sum(axis=1)
        usable = counts > 0
        if not usable.any():
            continue
        kk = int(min(k, counts[usable].min()))
        idx, dist = knn(coords, query, kk, ref_mask=v[usable])  # (S', M, k)
        vals = observed[usable, :, ch][np.arange(idx.shape[0])[:, None, None], idx]
        w = 1.0 / np.maximum(dist, 1e-12) ** power
        exact = dist <= 1e-9
        has_exact = exact.any(axis=2, keepdims=True)
        w = np.where(has_exact, exact.astype(np.float64), w)
        out[usable, :, ch] = (w * vals).sum(axis=2) / w.sum(axis=2)
    return out
