"""What a conditional task observes: values at points, or weighted means over footprints.

A gap-filling task observes the field at points (rows of the identity). A downscaling task
observes coarse cells, each the mean of the field over the fine points inside it: the
observation operator ``W`` (``n_obs x n_support``, sparse) maps the field at *support* points to
the observations. The modality knows which: :meth:`vamoh.modality.Modality.footprints`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Footprints", "Observations"]


@dataclass(frozen=True)
class Footprints:
    """Observation ``i`` is ``sum_j weights[i, j] f(support[j])``.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> fp = Footprints(np.zeros((4, 2)), sp.csr_matrix(np.full((1, 4), 0.25)))
        >>> fp.n_obs, fp.n_support
        (1, 4)
    """

    support: np.ndarray  # (P, d)
    weights: sp.csr_matrix  # (n_obs, P), rows sum to 1 for means
    covariates: np.ndarray | None = None  # (P, G) at the support points, where known

    def __post_init__(self) -> None:
        weights = sp.csr_matrix(self.weights, dtype=np.float64)
        support = np.asarray(self.support, dtype=np.float64)
        if weights.shape[1] != support.shape[0]:
            raise ValueError(
                f"footprint weights have {weights.shape[1]} columns for "
                f"{support.shape[0]} support points."
            )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "support", support)

    @property
    def n_obs(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_support(self) -> int:
        return int(self.support.shape[0])


@dataclass(frozen=True)
class Observations:
    """``values`` ``(B, n_obs, C)`` (normalised, NaN = not observed) at ``coords`` ``(n_obs, d)``;
    ``footprints`` when each observation is a mean over support points, else point values.

    Example:
        >>> import numpy as np
        >>> obs = Observations(np.ones((2, 3, 1)), np.zeros((3, 2)))
        >>> obs.support.shape, obs.n_samples
        ((3, 2), 2)
    """

    values: np.ndarray
    coords: np.ndarray
    footprints: Footprints | None = None
    covariates: np.ndarray | None = None  # (n_obs, G) at point observations

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 3 or values.shape[1] != np.asarray(self.coords).shape[0]:
            raise ValueError(
                f"observations must be (B, n_obs, C) with n_obs = {len(self.coords)} points; "
                f"got {values.shape}."
            )
        if self.footprints is not None and self.footprints.n_obs != values.shape[1]:
            raise ValueError(
                f"{values.shape[1]} observations but {self.footprints.n_obs} footprints."
            )
        object.__setattr__(self, "values", values)

    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def support(self) -> np.ndarray:
        """Where the field is evaluated: the footprints' support, else the points themselves."""
        if self.footprints is not None:
            return self.footprints.support
        return np.asarray(self.coords, dtype=np.float64)

    @property
    def support_covariates(self) -> np.ndarray | None:
        """Covariates at the support points (footprints carry theirs)."""
        if self.footprints is not None:
            return self.footprints.covariates
        return self.covariates

    def weights(self) -> sp.csr_matrix:
        """``(n_obs, P)`` operator from the field at the support to the observations."""
        if self.footprints is not None:
            return self.footprints.weights
        return sp.identity(self.values.shape[1], format="csr", dtype=np.float64)
