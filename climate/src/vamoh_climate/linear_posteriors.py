"""Linear-Gaussian baselines learned from training fields: the bars a learned prior must beat.

Three methods that data assimilation and oceanography use to fill gaps and downscale gridded
fields, each learned from the same training fields a vamoh model sees:

* :class:`LinearPosterior` with ``kind="hybrid"``: optimal interpolation with a *hybrid
  covariance*, the training anomalies' sample covariance shrunk toward a stationary
  squared-exponential kernel, ``S = (1 - a) C + a K``, conditioned exactly through the task's
  observation operator (rows of the identity for observed points, block means for downscaling).
* :class:`LinearPosterior` with ``kind="eof"``: the EOF (probabilistic PCA) posterior, the same
  conditioning with the rank-``k`` truncation of ``C`` plus white noise.
* :func:`dineof`: DINEOF (Beckers and Rixen 2003), iterative truncated SVD of the training and
  gappy fields together, the rank chosen by cross-validation on observed points.

The posteriors' hyper-parameters (``a``, the kernel length in grid cells, the rank, the noise)
are chosen *per task* on the last 10 % of the training fields, which play the test fields' part
(a random half hidden, the central block hidden, 2 x 2 block means), with the prior learned from
the first 90 %; the prior is then learned again from every training field. The engine's own
backbone (:mod:`vamoh.backbone`, the report's ``optimal interp.`` column) is the scalable,
continuous form of the hybrid posterior; these dense versions are its independent reference on
grids of a few thousand points (``n x n`` matrices: keep ``lat x lon`` below about 5000).

Example:
    >>> from vamoh_climate.synthetic import global_field
    >>> fields = global_field(40, 8, 16, seed=0)["t2m"]
    >>> train, test = fields[:36], fields[36:]
    >>> oi = LinearPosterior.fit(train, kind="hybrid", tasks=("gaps",))
    >>> filled = oi.fill_gaps(test.where(test.latitude > 0))
    >>> bool(filled["t2m"].notnull().all()), bool((filled["t2m_std"] >= 0).all())
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xarray as xr
from scipy import linalg
from scipy.sparse.linalg import svds

__all__ = ["LinearPosterior", "dineof"]

Kind = Literal["hybrid", "eof"]
Task = Literal["gaps", "block", "downscale"]
TASKS: tuple[Task, ...] = ("gaps", "block", "downscale")
BLENDS = (0.01, 0.02, 0.05, 0.1, 0.2)
LENGTHS = (1.0, 1.5, 2.0)  # grid cells
RANKS = (5, 10, 20, 50, 100, 200, 300, 400, 500)
NOISES = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  # fractions of the mean prior variance
VALIDATION_FRACTION = 0.1
_MAX_RANDOM_VALIDATION_FIELDS = 8  # one eigen-decomposition per field and candidate
_MAX_POINTS = 6000
DINEOF_RANKS = (1, 2, 3, 5, 8, 12, 16, 20, 25, 30, 40, 50, 60, 80, 100)


@dataclass(frozen=True)
class Choice:
    """The hyper-parameters chosen for one task and their validation RMSE (data units)."""

    blend: float
    length: float
    rank: int
    noise: float
    rmse: float


def _fields(data: xr.DataArray) -> np.ndarray:
    if data.ndim != 3:
        raise ValueError(
            f"expected fields with dims (time, lat, lon); got dims {data.dims}. Select one "
            f"variable and level first."
        )
    return np.asarray(data.values, dtype=np.float64)


def _cos_lat(data: xr.DataArray) -> np.ndarray:
    lat = np.asarray(data[data.dims[1]].values, dtype=np.float64)
    if np.abs(lat).max() > 90:
        return np.ones(data.shape[1:]).ravel()
    return np.broadcast_to(
        np.clip(np.cos(np.radians(lat)), 0, None)[:, None], data.shape[1:]
    ).ravel()


def _kernel(shape: tuple[int, int], length: float) -> np.ndarray:
    """Squared-exponential correlation between grid cells, distance in cells."""
    rows, cols = np.indices(shape)
    where = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64)
    squared = ((where[:, None, :] - where[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * squared / length**2)


def block_operator(shape: tuple[int, int], factor: int) -> np.ndarray:
    """The ``(coarse cells, fine cells)`` matrix of ``factor x factor`` block means (trimmed).

    Example:
        >>> block_operator((2, 4), 2).tolist()[0]
        [0.25, 0.25, 0.0, 0.0, 0.25, 0.25, 0.0, 0.0]
    """
    n_lat, n_lon = shape
    c_lat, c_lon = n_lat // factor, n_lon // factor
    operator = np.zeros((c_lat * c_lon, n_lat * n_lon))
    rows, cols = np.indices((c_lat * factor, c_lon * factor))
    fine = (rows * n_lon + cols).ravel()
    coarse = ((rows // factor) * c_lon + cols // factor).ravel()
    operator[coarse, fine] = 1.0 / factor**2
    return operator


class _Conditioner:
    """Exact Gaussian conditioning of ``N(0, S)`` on ``H f + e``, for several noise levels.

    One eigen-decomposition of ``H S H^T`` serves every noise level: ``(HSH^T + s I)^-1 =
    Q (w + s)^-1 Q^T``.
    """

    def __init__(self, cov: np.ndarray, operator: np.ndarray) -> None:
        self.cov = cov
        self.hs = operator @ cov  # (m, n)
        w, q = linalg.eigh(self.hs @ operator.T)
        self.w = np.clip(w, 0.0, None)
        self.q = q
        self.qt_hs = q.T @ self.hs  # (m, n)

    def mean(self, observed: np.ndarray, noise: float) -> np.ndarray:
        # observed: (F, m) anomalies -> (F, n) posterior mean anomalies
        return ((observed @ self.q) / (self.w + noise)) @ self.qt_hs

    def variance(self, noise: float) -> np.ndarray:
        scaled = self.qt_hs / np.sqrt(self.w + noise)[:, None]
        return np.clip(np.diag(self.cov) - (scaled**2).sum(0), 0.0, None)


def _operator_for(task: Task, shape: tuple[int, int], hidden: np.ndarray | None) -> np.ndarray:
    if task == "downscale":
        return block_operator(shape, 2)
    assert hidden is not None
    return np.eye(hidden.size)[~hidden.ravel()]


def _central_block(shape: tuple[int, int]) -> np.ndarray:
    n_lat, n_lon = shape
    hidden = np.zeros(shape, dtype=bool)
    hidden[n_lat // 4 : n_lat // 4 + n_lat // 2, n_lon // 4 : n_lon // 4 + n_lon // 2] = True
    return hidden


@dataclass
class LinearPosterior:
    """A Gaussian prior learned from training fields, conditioned exactly per task.

    Build it with :meth:`fit`; :meth:`fill_gaps` and :meth:`downscale` return the posterior
    mean and std as a Dataset (``<name>`` and ``<name>_std``) on the fields' grid.

    Example:
        >>> from vamoh_climate.synthetic import global_field
        >>> fields = global_field(30, 8, 16, seed=1)["t2m"]
        >>> eof = LinearPosterior.fit(fields[:28], kind="eof", tasks=("downscale",))
        >>> from vamoh_climate.baselines import block_mean
        >>> eof.downscale(block_mean(fields[28:], 2), like=fields[28:])["t2m"].shape
        (2, 8, 16)
    """

    kind: Kind
    mean: np.ndarray  # (lat, lon) training mean
    cov_sample: np.ndarray  # (n, n) sample covariance of the training anomalies
    choices: dict[str, Choice] = field(default_factory=dict)
    # the candidate covariances depend only on the grid: built once, reused by every call
    _candidates: dict[tuple[int, ...], list[tuple[float, float, int, np.ndarray]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def fit(
        cls,
        train: xr.DataArray,
        kind: Kind = "hybrid",
        tasks: Sequence[Task] = TASKS,
        *,
        seed: int = 1,
    ) -> LinearPosterior:
        """Learn the prior from ``train`` (time, lat, lon) and choose each task's settings."""
        if kind not in ("hybrid", "eof"):
            raise ValueError(f"kind must be 'hybrid' or 'eof'; got {kind!r}.")
        values = _fields(train)
        if not np.isfinite(values).all():
            raise ValueError(
                "the training fields hold NaN; these dense baselines need full fields."
            )
        n_points = values[0].size
        if n_points > _MAX_POINTS:
            raise ValueError(
                f"{n_points} points per field is too many for a dense {n_points}^2 covariance; "
                f"crop the grid below {_MAX_POINTS} points or use vamoh's backbone."
            )
        n_val = max(2, round(VALIDATION_FRACTION * len(values)))
        if len(values) - n_val < 3:
            raise ValueError(f"need at least {n_val + 3} training fields; got {len(values)}.")
        weights = _cos_lat(train)
        fit_part, val_part = values[:-n_val], values[-n_val:]
        shape = values.shape[1:]
        partial = cls(kind, fit_part.mean(0), _covariance(fit_part))
        rng = np.random.default_rng(seed)
        choices = {task: partial._choose(task, val_part, shape, weights, rng) for task in tasks}
        return cls(kind, values.mean(0), _covariance(values), choices)

    # -- priors ---------------------------------------------------------------------------
    def _scale(self) -> float:
        return float(np.trace(self.cov_sample) / len(self.cov_sample))

    def _covariances(self, shape: tuple[int, int]) -> list[tuple[float, float, int, np.ndarray]]:
        key = tuple(shape)
        if key not in self._candidates:
            self._candidates[key] = self._build_covariances(shape)
        return self._candidates[key]

    def _build_covariances(
        self, shape: tuple[int, int]
    ) -> list[tuple[float, float, int, np.ndarray]]:
        if self.kind == "hybrid":
            kernels = {length: _kernel(shape, length) * self._scale() for length in LENGTHS}
            return [
                (a, length, 0, (1 - a) * self.cov_sample + a * kernel)
                for a in BLENDS
                for length, kernel in kernels.items()
            ]
        w, v = linalg.eigh(self.cov_sample)
        w, v = w[::-1], v[:, ::-1]
        out = []
        for rank in RANKS:
            if rank < len(w):
                lead = v[:, :rank] * np.clip(w[:rank], 0.0, None)
                out.append((0.0, 0.0, rank, lead @ v[:, :rank].T))
        return out

    def _covariance_for(self, choice: Choice, shape: tuple[int, int]) -> np.ndarray:
        for a, length, rank, cov in self._covariances(shape):
            if (a, length, rank) == (choice.blend, choice.length, choice.rank):
                return cov
        raise AssertionError("a chosen covariance is always among the candidates")

    # -- choosing ------------------------------------------------------------------------
    def _choose(
        self,
        task: Task,
        val: np.ndarray,
        shape: tuple[int, int],
        weights: np.ndarray,
        rng: np.random.Generator,
    ) -> Choice:
        anomalies = (val - self.mean).reshape(len(val), -1)
        scale = self._scale()
        best: Choice | None = None
        if task == "gaps":
            hidden = rng.random((min(len(val), _MAX_RANDOM_VALIDATION_FIELDS), *shape)) < 0.5
        for a, length, rank, cov in self._covariances(shape):
            errors = np.zeros(len(NOISES))
            total = 0.0
            if task == "gaps":
                for index, mask in enumerate(hidden):
                    flat = mask.ravel()
                    conditioner = _Conditioner(cov, _operator_for(task, shape, mask))
                    for k, noise in enumerate(NOISES):
                        guess = conditioner.mean(anomalies[index : index + 1, ~flat], noise * scale)
                        errors[k] += (
                            weights[flat] * (guess[0, flat] - anomalies[index, flat]) ** 2
                        ).sum()
                    total += weights[flat].sum()
            else:
                mask = _central_block(shape) if task == "block" else np.zeros(shape, bool)
                operator = _operator_for(task, shape, mask)
                conditioner = _Conditioner(cov, operator)
                scored = mask.ravel() if task == "block" else np.ones(mask.size, bool)
                observed = anomalies @ operator.T
                for k, noise in enumerate(NOISES):
                    guess = conditioner.mean(observed, noise * scale)
                    errors[k] = (
                        weights[scored] * (guess[:, scored] - anomalies[:, scored]) ** 2
                    ).sum()
                total = weights[scored].sum() * len(anomalies)
            k = int(np.argmin(errors))
            rmse = float(np.sqrt(errors[k] / total))
            if best is None or rmse < best.rmse:
                best = Choice(a, length, rank, NOISES[k], rmse)
        assert best is not None
        return best

    # -- predicting ----------------------------------------------------------------------
    def _predict(
        self, task: Task, observed: np.ndarray, hidden: np.ndarray | None, shape: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        if task not in self.choices:
            raise ValueError(
                f"this posterior was fitted for tasks {sorted(self.choices)}; fit it with "
                f"tasks=(..., {task!r})."
            )
        choice = self.choices[task]
        cov = self._covariance_for(choice, shape)
        noise = choice.noise * self._scale()
        mean = np.empty((len(observed), *shape))
        std = np.empty_like(mean)
        prior = self.mean.ravel()
        if task == "downscale":
            operator = block_operator(shape, 2)
            conditioner = _Conditioner(cov, operator)
            guess = conditioner.mean(observed - operator @ prior, noise)
            mean[:] = (prior + guess).reshape(-1, *shape)
            std[:] = np.sqrt(conditioner.variance(noise) + noise).reshape(shape)
            return mean, std
        assert hidden is not None
        # fields that hide the same points share one decomposition
        patterns, which = np.unique(hidden.reshape(len(hidden), -1), axis=0, return_inverse=True)
        for index, pattern in enumerate(patterns):
            members = np.flatnonzero(which.ravel() == index)
            conditioner = _Conditioner(cov, np.eye(pattern.size)[~pattern])
            values = observed[members].reshape(len(members), -1)[:, ~pattern]
            guess = conditioner.mean(values - prior[~pattern], noise)
            filled = prior + guess
            filled[:, ~pattern] = values  # observed points keep their values
            mean[members] = filled.reshape(-1, *shape)
            spread = np.sqrt(conditioner.variance(noise) + noise)
            spread[~pattern] = 0.0
            std[members] = spread.reshape(shape)
        return mean, std

    def fill_gaps(self, gappy: xr.DataArray, task: Task = "gaps") -> xr.Dataset:
        """Posterior mean and std of the NaN points of ``gappy`` (time, lat, lon).

        ``task`` names whose hyper-parameters to use: ``"gaps"`` (scattered points) or
        ``"block"`` (a contiguous region).
        """
        values = _fields(gappy)
        hidden = ~np.isfinite(values)
        mean, std = self._predict(task, np.nan_to_num(values), hidden, values.shape[1:])
        return _dataset(gappy, mean, std)

    def downscale(self, coarse: xr.DataArray, like: xr.DataArray) -> xr.Dataset:
        """Posterior mean and std on ``like``'s grid of fields whose 2 x 2 block means are ``coarse``."""
        values = _fields(coarse).reshape(len(coarse), -1)
        shape = like.shape[1:]
        mean, std = self._predict("downscale", values, None, shape)
        return _dataset(like, mean, std, time=coarse[coarse.dims[0]])


def _covariance(fields: np.ndarray) -> np.ndarray:
    anomalies = (fields - fields.mean(0)).reshape(len(fields), -1)
    return anomalies.T @ anomalies / max(1, len(fields) - 1)


def _dataset(
    like: xr.DataArray, mean: np.ndarray, std: np.ndarray, time: xr.DataArray | None = None
) -> xr.Dataset:
    name = str(like.name) if like.name is not None else "field"
    coords = {dim: like[dim] for dim in like.dims[1:] if dim in like.coords}
    sample_dim = like.dims[0]
    samples = time if time is not None else like[sample_dim] if sample_dim in like.coords else None
    if samples is not None:
        coords[sample_dim] = samples.values
    attrs = dict(like.attrs)
    return xr.Dataset(
        {
            name: (like.dims, mean.astype(np.float32), attrs),
            f"{name}_std": (like.dims, std.astype(np.float32), attrs),
        },
        coords=coords,
    )


def dineof(
    gappy: xr.DataArray,
    train: xr.DataArray,
    *,
    ranks: Sequence[int] = DINEOF_RANKS,
    max_iterations: int = 40,
    tolerance: float = 1e-3,
    seed: int = 1,
) -> xr.DataArray:
    """DINEOF gap-filling: iterative truncated SVD of the training and gappy fields together.

    Anomalies from the training mean; the missing entries start at 0 and are replaced by the
    rank-``k`` reconstruction until they settle. ``k`` is chosen by hiding 3 % of the observed
    points of ``gappy`` and keeping the rank that restores them best (Beckers and Rixen 2003).
    Observed points keep their values; DINEOF gives no predictive std.

    Example:
        >>> from vamoh_climate.synthetic import global_field
        >>> fields = global_field(30, 8, 16, seed=2)["t2m"]
        >>> gappy = fields[28:].where(fields.longitude > 90)
        >>> filled = dineof(gappy, fields[:28])
        >>> bool(filled.notnull().all()), float(abs(filled - fields[28:]).max()) < 5
        (True, True)
    """
    values = _fields(gappy)
    training = _fields(train)
    mean = training.mean(0)
    matrix = np.concatenate([training - mean, values - mean]).reshape(
        len(training) + len(values), -1
    )
    missing = ~np.isfinite(matrix)
    rng = np.random.default_rng(seed)
    observed_test = np.flatnonzero(~missing[len(training) :].ravel()) + training[0].size * len(
        training
    )
    check = rng.choice(
        observed_test,
        size=min(len(observed_test) - 1, max(1, len(observed_test) // 33)),
        replace=False,
    )
    truth = matrix.ravel()[check]
    cross = missing.copy().ravel()
    cross[check] = True
    cross = cross.reshape(missing.shape)
    usable = [k for k in ranks if k < min(matrix.shape) - 1]
    if not usable or len(check) == 0:
        raise ValueError(
            f"DINEOF needs more fields and observed points than {matrix.shape[0]} fields of "
            f"{matrix.shape[1]} points with ranks {tuple(ranks)}."
        )
    errors = _dineof_path(
        np.where(cross, 0.0, matrix), cross, usable, max_iterations, tolerance, check, truth
    )
    best = usable[int(np.argmin(errors))]
    filled = _dineof_path(
        np.where(missing, 0.0, matrix),
        missing,
        [k for k in usable if k <= best],
        max_iterations,
        tolerance,
        None,
        None,
    )
    result = filled[len(training) :].reshape(values.shape) + mean
    out = gappy.copy(data=np.where(np.isfinite(values), values, result).astype(gappy.dtype))
    return out


def _dineof_path(
    matrix: np.ndarray,
    missing: np.ndarray,
    ranks: Sequence[int],
    max_iterations: int,
    tolerance: float,
    check: np.ndarray | None,
    truth: np.ndarray | None,
) -> np.ndarray | list[float]:
    """Reconstruct with increasing ranks (warm-started); errors at ``check`` or the last fill."""
    work = matrix.copy()
    errors: list[float] = []
    for rank in ranks:
        for _ in range(max_iterations):
            u, s, vt = svds(work, k=rank, random_state=0)
            rebuilt = (u * s) @ vt
            before = work[missing]
            work[missing] = rebuilt[missing]
            change = np.sqrt(np.mean((work[missing] - before) ** 2)) if missing.any() else 0.0
            if change <= tolerance * (np.sqrt(np.mean(work**2)) + 1e-12):
                break
        if check is not None and truth is not None:
            errors.append(float(np.sqrt(np.mean((work.ravel()[check] - truth) ** 2))))
    return errors if check is not None else work
