"""Modality-neutral scores of a probabilistic prediction at points."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gaussian_crps", "point_metrics"]


def gaussian_crps(truth: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of N(mean, std^2) at ``truth`` (Gneiting & Raftery 2007).

    Example:
        >>> import numpy as np
        >>> round(float(gaussian_crps(np.array(0.0), np.array(0.0), np.array(1.0))), 4)
        0.2337
    """
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    z = (np.asarray(truth) - mean) / std
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2))) if z.ndim == 0 else None
    if cdf is None:
        from scipy.special import ndtr

        cdf = ndtr(z)
    return std * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def point_metrics(
    truth: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    scored: np.ndarray,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Weighted RMSE, MAE, CRPS and 90% coverage over ``scored`` entries of ``(S, N, C)`` arrays.

    Example:
        >>> import numpy as np
        >>> t = np.zeros((1, 2, 1)); m = np.array([[[1.0], [-1.0]]]); s = np.ones((1, 2, 1))
        >>> point_metrics(t, m, s, np.ones_like(t, bool))["rmse"]
        1.0
    """
    w = np.ones(truth.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.broadcast_to(w[None, :, None], truth.shape) * scored
    total = w.sum()
    if total <= 0:
        raise ValueError("no point is scored: the mask hides nothing that has a true value.")
    err = np.where(scored, mean - truth, 0.0)
    z90 = 1.6448536269514722
    inside = np.abs(err) <= z90 * std
    crps = np.where(scored, gaussian_crps(np.where(scored, truth, 0.0), mean, std), 0.0)
    return {
        "rmse": float(np.sqrt((w * err**2).sum() / total)),
        "mae": float((w * np.abs(err)).sum() / total),
        "crps": float((w * crps).sum() / total),
        "coverage90": float((w * inside).sum() / total),
        "n_scored": int(scored.sum()),
    }
