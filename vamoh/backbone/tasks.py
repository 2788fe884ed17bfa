"""Task-shaped observation patterns drawn from training fields.

The backbone's hyper-parameters are chosen, its predictive std calibrated and the learned layers
trained on the kinds of task users pose: scattered gaps (a random share of the points hidden),
holes (a contiguous region hidden: a cloud, a failed sensor cluster, a missing tile) and coarse
means (downscaling, when the modality can coarsen its fields). Everything works on model
coordinates, so any modality gets the first two.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TASK_KINDS", "hole_masks", "scattered_masks"]

TASK_KINDS = ("scattered", "hole", "means")


def scattered_masks(
    n_samples: int,
    n_points: int,
    rng: np.random.Generator,
    fraction: tuple[float, float] = (0.3, 0.7),
) -> np.ndarray:
    """``(B, N)`` True where hidden: each sample hides a share drawn from ``fraction``.

    Example:
        >>> import numpy as np
        >>> masks = scattered_masks(3, 1000, np.random.default_rng(0), (0.5, 0.5))
        >>> masks.shape, bool(abs(masks.mean() - 0.5) < 0.05)
        ((3, 1000), True)
    """
    share = rng.uniform(fraction[0], fraction[1], size=(n_samples, 1))
    return rng.random((n_samples, n_points)) < share


def _principal_frame(coords: np.ndarray) -> np.ndarray:
    """Coordinates in their principal axes, keeping the axes that carry the spread."""
    centred = coords - coords.mean(0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    keep = sing > 1e-3 * sing[0] if sing[0] > 0 else np.ones_like(sing, dtype=bool)
    return centred @ vt[keep].T


def hole_masks(
    coords: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    fraction: tuple[float, float] = (0.15, 0.35),
    centre_share: float = 0.5,
) -> np.ndarray:
    """``(B, N)`` True inside a box around a random point that holds a share of the points.

    Boxes are aligned with the principal axes of the point cloud (latitude and longitude for a
    regional grid) and shaped like the domain, the way a missing tile or a cloud deck hides a
    rectangle of a grid. Centres are drawn among the points nearest the domain's middle
    (``centre_share`` of them), so a hole is mostly surrounded by observations.

    Example:
        >>> import numpy as np
        >>> g = np.stack(np.meshgrid(np.arange(20.0), np.arange(30.0)), -1).reshape(-1, 2)
        >>> m = hole_masks(g, 2, np.random.default_rng(0), (0.25, 0.25))
        >>> m.shape, [int(v) for v in m.sum(1)]
        ((2, 600), [150, 150])
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = coords.shape[0]
    frame = _principal_frame(coords)  # (N, k)
    extent = np.ptp(frame, axis=0)
    extent = np.where(extent > 0, extent, 1.0)
    central = np.argsort((frame**2).sum(1))[: max(1, int(n * centre_share))]
    centres = frame[rng.choice(central, size=n_samples)]
    share = rng.uniform(fraction[0], fraction[1], size=n_samples)
    # Chebyshev distance in units of the domain's extent: level sets are boxes of its shape
    dist = (np.abs(frame[None] - centres[:, None]) / extent).max(-1)  # (B, N)
    order = np.argsort(dist, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n)[None].repeat(n_samples, 0), axis=1)
    return ranks < np.maximum(1, (share * n).astype(int))[:, None]
