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


def hole_masks(
    coords: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    fraction: tuple[float, float] = (0.15, 0.35),
    centre_share: float = 0.5,
) -> np.ndarray:
    """``(B, N)`` True inside a ball around a random point that holds a share of the points.

    Centres are drawn among the points nearest the domain's middle (``centre_share`` of them), so
    a hole is surrounded by observations as a missing block usually is.

    Example:
        >>> import numpy as np
        >>> g = np.stack(np.meshgrid(np.arange(20.0), np.arange(20.0)), -1).reshape(-1, 2)
        >>> m = hole_masks(g, 2, np.random.default_rng(0), (0.25, 0.25))
        >>> m.shape, [int(v) for v in m.sum(1)]
        ((2, 400), [100, 100])
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = coords.shape[0]
    middle = coords.mean(0)
    central = np.argsort(((coords - middle) ** 2).sum(1))[: max(1, int(n * centre_share))]
    centres = coords[rng.choice(central, size=n_samples)]
    share = rng.uniform(fraction[0], fraction[1], size=n_samples)
    dist = ((coords[None] - centres[:, None]) ** 2).sum(-1)  # (B, N)
    order = np.argsort(dist, axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n)[None].repeat(n_samples, 0), axis=1)
    return ranks < np.maximum(1, (share * n).astype(int))[:, None]
