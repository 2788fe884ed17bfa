"""Linear interpolation in time for every series and channel at once (the hybrid baseline).

For a 1-D record, linear interpolation between the neighbouring observations is the classical
gap-filler; vamoh's default (inverse-distance weighting) is meant for scattered 2-D/3-D points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["linear_interpolate"]


def linear_interpolate(coords: np.ndarray, observed: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Interpolate each series linearly between its observed neighbours; hold the ends constant.

    Args:
        coords: ``(N,)`` observation times (model coordinates, any order).
        observed: ``(S, N, C)`` values, NaN where a series lacks an observation.
        query: ``(M,)`` times to interpolate at.

    Returns:
        ``(S, M, C)`` float64; exact at observed times, NaN only for a series and channel with
        no observation at all.

    Example:
        >>> import numpy as np
        >>> y = np.array([[[0.0], [np.nan], [4.0]]])
        >>> times, query = np.array([0.0, 1.0, 2.0]), np.array([-1.0, 0.5, 1.0, 3.0])
        >>> linear_interpolate(times, y, query)[0, :, 0]
        array([0., 1., 2., 4.])
    """
    coords = np.asarray(coords, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    order = np.argsort(coords, kind="stable")
    x = coords[order]  # (N,)
    y = np.asarray(observed, dtype=np.float64)[:, order, :]  # (S, N, C)
    n = x.shape[0]
    valid = np.isfinite(y)
    positions = np.arange(n)[None, :, None]
    # index of the last observation at or before each position, and of the first at or after it
    last_before = np.maximum.accumulate(np.where(valid, positions, -1), axis=1)  # (S, N, C)
    first_after = np.minimum.accumulate(np.where(valid, positions, n)[:, ::-1], axis=1)[:, ::-1]

    at = np.searchsorted(x, query, side="right") - 1  # (M,) last position with x <= query
    at_b = at[None, :, None]
    left = np.where(at_b >= 0, last_before[:, np.clip(at, 0, n - 1), :], -1)  # (S, M, C)
    right = np.where(at_b + 1 <= n - 1, first_after[:, np.clip(at + 1, 0, n - 1), :], n)

    has_left, has_right = left >= 0, right <= n - 1
    y_left = np.take_along_axis(y, np.clip(left, 0, n - 1), axis=1)
    y_right = np.take_along_axis(y, np.clip(right, 0, n - 1), axis=1)
    x_left, x_right = x[np.clip(left, 0, n - 1)], x[np.clip(right, 0, n - 1)]
    width = x_right - x_left
    q = query[None, :, None]
    fraction = np.where(width > 0, (q - x_left) / np.where(width > 0, width, 1.0), 0.0)
    both = y_left + fraction * (y_right - y_left)
    out = np.where(has_left & has_right, both, np.where(has_left, y_left, y_right))
    return np.where(has_left | has_right, out, np.nan)
