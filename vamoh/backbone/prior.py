"""The backbone's Gaussian prior over fields, evaluated at any points.

``f(x) ~ GP(m(x, t), s^2 [(1 - a) U(x) U(x')^T + a k(x, x')])`` per channel scale ``s``:

* ``m(x, t)``: the training mean, plus the samples' features ``g(t)`` (hour of day, season)
  times per-point coefficients, where the modality provides features;
* ``U(x)``: a low-rank basis of the training anomalies (whitened), so ``U U^T`` is their sample
  covariance; channels share it, which carries the covariance *between* variables;
* ``k``: a stationary squared-exponential kernel of distance (:mod:`vamoh.backbone.kernel`) that
  keeps the matrix full rank and holds the small-scale covariance a finite sample misses;
* ``a`` (the blend), the kernel length and the observation noise are chosen on held-out fields
  (:mod:`vamoh.backbone.select`).

This is what data assimilation calls a hybrid covariance. Off the training points (a finer grid,
stations) the mean, the feature coefficients and the basis are interpolated by the modality's
:meth:`~vamoh.modality.Modality.resample` (cubic splines on climate grids) or, where the modality
has none, by kernel regression; the stationary kernel is defined everywhere.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vamoh.backbone.estimate import AnomalyStatistics
from vamoh.backbone.kernel import SquaredExponential

__all__ = ["GaussianPrior", "Hyper", "PriorAt", "Resampler"]

# fields (k, N, C) at the training points -> (k, M, C) at query points, or None when unable
Resampler = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]

# training points up to which kernel regression may stand in for a modality's resampling
_KERNEL_RESAMPLE_LIMIT = 8000
_MATCH_TOLERANCE = 1e-5  # model-coordinate distance under which a query is a training point
_CACHE_ENTRIES = 8
_FOURIER_FEATURES = 1024  # random features of a stationary-kernel draw
_DRAW_CHUNK = 16384  # query points per chunk of a draw


@dataclass(frozen=True)
class Hyper:
    """Hyper-parameters of the covariance: blend ``a``, kernel length (in typical point
    spacings), observation noise (a fraction of the anomaly variance) and the localisation of
    the sample covariance (the support of a Gaspari-Cohn taper, in spacings; 0 = none).

    Example:
        >>> Hyper(0.05, 2.0, 1e-3).to_dict()
        {'blend': 0.05, 'length': 2.0, 'noise': 0.001, 'taper': 0.0}
    """

    blend: float
    length: float
    noise: float
    taper: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "blend": self.blend,
            "length": self.length,
            "noise": self.noise,
            "taper": self.taper,
        }

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Hyper:
        return cls(
            float(data["blend"]),
            float(data["length"]),
            float(data["noise"]),
            float(data.get("taper", 0.0)),
        )


@dataclass
class PriorAt:
    """The prior's pieces at a set of points (normalised units; basis whitened).

    Attributes:
        mean: ``(M, C)`` intercept of the mean.
        seasonal: ``(F, M, C)`` feature coefficients, or ``None``.
        basis: ``(M, C, r)``.
        known: ``(M, C)`` whether the prior is defined there (a point-channel the training data
            never observed, e.g. land in a sea-surface record, is not).
    """

    mean: np.ndarray
    seasonal: np.ndarray | None
    basis: np.ndarray
    known: np.ndarray

    def mean_for(self, features: np.ndarray | None, n: int) -> np.ndarray:
        """``(B, M, C)`` mean of ``n`` samples with ``features`` ``(B, F)`` (``None``: the
        cycle-average intercept)."""
        out = np.broadcast_to(self.mean[None], (n, *self.mean.shape))
        if self.seasonal is None or features is None:
            return np.array(out)
        return out + np.einsum("bf,fmc->bmc", np.asarray(features, np.float64), self.seasonal)


@dataclass
class GaussianPrior:
    """The learned Gaussian prior (see the module docstring).

    Args:
        coords: ``(N, d)`` training points (model coordinates).
        stats: the estimated mean, feature coefficients, channel scales and basis.
        spacing: typical distance between neighbouring training points.
        settings: hyper-parameters per observation kind (``"points"``, ``"means"``).
        resampler: the modality's interpolation to other points (set by the engine; not saved).
    """

    coords: np.ndarray
    stats: AnomalyStatistics
    spacing: float
    settings: dict[str, Hyper] = field(default_factory=dict)
    resampler: Resampler | None = None
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _regression: Any = field(default=None, repr=False)
    _trend: Any = field(default=None, repr=False)

    # -- shapes ---------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return int(self.stats.mean.shape[1])

    @property
    def rank(self) -> int:
        return int(self.stats.basis.shape[2])

    @property
    def scale(self) -> np.ndarray:
        """``(C,)`` root-mean-square anomaly per channel (normalised units)."""
        return self.stats.scale

    def kernel(self, hyper: Hyper) -> SquaredExponential:
        return SquaredExponential(hyper.length * self.spacing)

    # -- evaluation at points ---------------------------------------------------------------
    def at(self, query: np.ndarray, covariates: np.ndarray | None = None) -> PriorAt:
        """The prior's mean, feature coefficients and basis at ``query`` ``(M, d)``.

        ``covariates`` ``(M, G)`` at the query points are needed off the training points when
        the prior was fitted with covariates (a trend on them plus the interpolated rest).
        Cached by the query coordinates, so repeated calls on the same grid cost nothing.
        """
        query = np.ascontiguousarray(query, dtype=np.float64)
        digest = hashlib.blake2b(query.tobytes(), digest_size=16)
        if covariates is not None:
            digest.update(np.ascontiguousarray(covariates, dtype=np.float64).tobytes())
        key = digest.hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self._evaluate(query, covariates)
        self._cache[key] = result
        while len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return result

    def _evaluate(self, query: np.ndarray, covariates: np.ndarray | None) -> PriorAt:
        from vamoh.neighbours import knn

        s = self.stats
        idx, dist = knn(self.coords, query, 1)
        idx, dist = idx[0, :, 0], dist[0, :, 0]
        exact = dist <= _MATCH_TOLERANCE
        m = query.shape[0]
        c, r = self.n_channels, self.rank
        f = 0 if s.seasonal is None else s.seasonal.shape[0]
        mean = np.zeros((m, c))
        seasonal = None if s.seasonal is None else np.zeros((f, m, c))
        basis = np.zeros((m, c, r), dtype=s.basis.dtype)
        known = np.zeros((m, c), dtype=bool)
        hit = np.flatnonzero(exact)
        mean[hit] = s.mean[idx[hit]]
        basis[hit] = s.basis[idx[hit]]
        known[hit] = s.observed[idx[hit]]
        if seasonal is not None:
            seasonal[:, hit] = s.seasonal[:, idx[hit]]
        miss = np.flatnonzero(~exact)
        if len(miss):
            # every field that defines the prior, stacked as "samples" for one resampling call
            stacked = [s.mean[None], s.observed[None].astype(np.float64)]
            if s.seasonal is not None:
                stacked.append(s.seasonal)
            stacked.append(np.moveaxis(s.basis, 2, 0))
            fields = np.concatenate(stacked).astype(np.float64)  # (2 + F + r, N, C)
            if s.covariates is None:
                out = self._resample(fields, query[miss])
            else:
                out = self._trend_and_rest(fields, query[miss], covariates, miss)
            mean[miss] = out[0]
            known[miss] = out[1] > 0.5
            if seasonal is not None:
                seasonal[:, miss] = out[2 : 2 + f]
            basis[miss] = np.moveaxis(out[2 + f :], 0, 2)
        basis[~known] = 0.0
        return PriorAt(mean=mean, seasonal=seasonal, basis=basis, known=known)

    def _trend_and_rest(
        self, fields: np.ndarray, query: np.ndarray, covariates: np.ndarray | None, rows
    ) -> np.ndarray:
        """Regression kriging of every prior field: a linear trend on the covariates plus the
        interpolated residual (``fields`` ``(K, N, C)`` at the training points)."""
        s = self.stats
        if covariates is None:
            raise ValueError(
                f"the model uses covariates {list(s.covariate_names)}, but the points it is "
                f"asked about off its training points come without them; give them the same "
                f"covariates (e.g. an elevation coordinate at new stations)."
            )
        covariates = np.asarray(covariates, dtype=np.float64)[rows]
        k, n, c = fields.shape
        design = np.column_stack([np.ones(n), s.covariates])  # (N, G + 1)
        flat = np.moveaxis(fields, 0, 1).reshape(n, k * c)
        if self._trend is None or self._trend.shape[1] != k * c:
            self._trend = np.linalg.lstsq(design, flat, rcond=None)[0]  # (G + 1, K C)
        rest = (flat - design @ self._trend).reshape(n, k, c).transpose(1, 0, 2)
        trend = np.column_stack([np.ones(len(query)), covariates]) @ self._trend
        return trend.reshape(len(query), k, c).transpose(1, 0, 2) + self._resample(rest, query)

    def _resample(self, fields: np.ndarray, query: np.ndarray) -> np.ndarray:
        if self.resampler is not None:
            out = self.resampler(fields, query)
            if out is not None:
                return np.asarray(out, dtype=np.float64)
        n = self.coords.shape[0]
        if n > _KERNEL_RESAMPLE_LIMIT:
            raise ValueError(
                f"the backbone cannot evaluate its prior off the {n} training points: the "
                f"modality offers no resampling (Modality.resample) and kernel regression is "
                f"limited to {_KERNEL_RESAMPLE_LIMIT} points. Predict on the training points, or "
                f"use a modality that implements resample()."
            )
        return self._kernel_regression(fields, query)

    def _kernel_regression(self, fields: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Gaussian-process interpolation (length one spacing, tiny nugget) of each field."""
        kernel = SquaredExponential(self.spacing)
        x = torch.as_tensor(self.coords, dtype=torch.float64)
        if self._regression is None:
            gram = kernel(x, x)
            gram.diagonal().add_(1e-6)
            self._regression = torch.linalg.cholesky(gram)
        k, n, c = fields.shape
        rhs = torch.as_tensor(fields, dtype=torch.float64).permute(1, 0, 2).reshape(n, k * c)
        weights = torch.cholesky_solve(rhs, self._regression)
        cross = kernel(torch.as_tensor(query, dtype=torch.float64), x)
        out = (cross @ weights).reshape(query.shape[0], k, c).permute(1, 0, 2)
        return out.numpy()

    def draw(
        self,
        query: np.ndarray,
        n: int,
        hyper: Hyper,
        features: np.ndarray | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """``n`` fields ``(n, M, C)`` drawn from the prior at ``query`` (normalised units).

        The low-rank part draws basis coefficients; the stationary part is a sum of random
        Fourier features of the kernel (Rahimi & Recht 2007), so one draw is the same function
        at any resolution and costs ``O(M)`` memory in chunks.

        Example:
            >>> import numpy as np
            >>> from vamoh.backbone.estimate import estimate
            >>> from vamoh.pointset import PointSet
            >>> x = np.linspace(0, 1, 30)[:, None]
            >>> fields = np.sin(6 * x.T + np.random.default_rng(0).uniform(0, 6, (40, 1)))[..., None]
            >>> prior = GaussianPrior(x, estimate(PointSet(x, fields, ("v",), (None,))), 1 / 29)
            >>> prior.draw(x, 3, Hyper(0.05, 2.0, 1e-3), seed=0).shape
            (3, 30, 1)
        """
        query = np.asarray(query, dtype=np.float64)
        pq = self.at(query)
        rng = np.random.default_rng(seed)
        c, r = self.n_channels, self.rank
        coef = rng.standard_normal((n, r))
        low = np.einsum("mcr,nr->nmc", pq.basis.astype(np.float64), coef)
        n_features = _FOURIER_FEATURES
        omega = rng.standard_normal((n_features, query.shape[1])) / (hyper.length * self.spacing)
        phase = rng.uniform(0.0, 2.0 * np.pi, n_features)
        weights = rng.standard_normal((n, n_features, c))
        stationary = np.empty((n, query.shape[0], c))
        for start in range(0, query.shape[0], _DRAW_CHUNK):
            rows = slice(start, min(query.shape[0], start + _DRAW_CHUNK))
            feats = np.sqrt(2.0 / n_features) * np.cos(query[rows] @ omega.T + phase)
            stationary[:, rows] = np.einsum("md,ndc->nmc", feats, weights)
        anomaly = np.sqrt(1.0 - hyper.blend) * low + np.sqrt(hyper.blend) * stationary
        out = pq.mean_for(features, n) + anomaly * self.scale
        return np.where(pq.known[None], out, np.nan)

    def std_at(self, query: np.ndarray, hyper: Hyper) -> np.ndarray:
        """``(M, C)`` prior standard deviation at ``query`` (normalised units, no noise)."""
        pq = self.at(np.asarray(query, dtype=np.float64))
        var = (1.0 - hyper.blend) * np.square(pq.basis.astype(np.float64)).sum(-1) + hyper.blend
        return np.sqrt(var) * self.scale

    # -- persistence ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Tensors and plain values for a checkpoint (``torch.load(weights_only=True)``-safe)."""
        s = self.stats
        return {
            "coords": torch.as_tensor(self.coords),
            "mean": torch.as_tensor(s.mean),
            "seasonal": None if s.seasonal is None else torch.as_tensor(s.seasonal),
            "scale": torch.as_tensor(s.scale),
            "basis": torch.as_tensor(s.basis),
            "observed": torch.as_tensor(s.observed),
            "n_samples": int(s.n_samples),
            "covariates": None if s.covariates is None else torch.as_tensor(s.covariates),
            "covariate_names": list(s.covariate_names),
            "spacing": float(self.spacing),
            "settings": {k: v.to_dict() for k, v in self.settings.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], resampler: Resampler | None = None) -> GaussianPrior:
        stats = AnomalyStatistics(
            mean=state["mean"].numpy(),
            seasonal=None if state["seasonal"] is None else state["seasonal"].numpy(),
            scale=state["scale"].numpy(),
            basis=state["basis"].numpy(),
            observed=state["observed"].numpy(),
            n_samples=int(state["n_samples"]),
            covariates=None if state.get("covariates") is None else state["covariates"].numpy(),
            covariate_names=tuple(state.get("covariate_names", ())),
        )
        return cls(
            coords=state["coords"].numpy(),
            stats=stats,
            spacing=float(state["spacing"]),
            settings={k: Hyper.from_dict(v) for k, v in state["settings"].items()},
            resampler=resampler,
        )
