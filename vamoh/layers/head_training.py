"""Training and scoring the backbone head on task-shaped examples.

The head (:class:`vamoh.nn.heads.BackboneHead`) is small: it sees a handful of features per
point, so it trains in seconds on the scored points of a pool of examples
(:class:`vamoh.backbone.pool.TaskPool`) with the Gaussian negative log-likelihood. Scoring the
same pool with and without it is the ablation that decides whether it is used
(:func:`score_pool`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from vamoh.backbone.pool import KIND_CODES, TaskPool
from vamoh.metrics import gaussian_crps
from vamoh.nn.heads import BackboneHead

__all__ = ["PoolEntries", "score_pool", "train_head"]

_BATCH = 8192
_Z90 = 1.6448536269514722


@dataclass
class PoolEntries:
    """The scored entries of a pool, flattened: one row per (example, point, channel)."""

    experts: torch.Tensor  # (P, 3, 2)
    prior_std: torch.Tensor  # (P,)
    prior_mean: torch.Tensor  # (P,)
    distance: torch.Tensor  # (P,)
    means: torch.Tensor  # (P,) 0/1
    truth: torch.Tensor  # (P,)
    weight: torch.Tensor  # (P,)
    kind: np.ndarray  # (P,) task codes

    @classmethod
    def of(cls, pool: TaskPool, weights: np.ndarray | None) -> PoolEntries:
        q = pool.truth.shape[1]
        scored = pool.hidden[..., None] & np.isfinite(pool.truth)  # (E, Q, C)
        # the head's inputs: both experts' mean and std (slot 2, the backbone's own setting, is
        # only in pools that measure the layers against it)
        scored &= np.isfinite(pool.experts[:, :2]).all(axis=(1, 4))
        rows = np.nonzero(scored)
        w = np.ones(q) if weights is None else np.asarray(weights, dtype=np.float64)
        experts = np.moveaxis(pool.experts, 1, 3)[rows]  # (P, 3, 2)
        return cls(
            experts=torch.as_tensor(experts, dtype=torch.float32),
            prior_std=torch.as_tensor(pool.prior_std[rows[1], rows[2]], dtype=torch.float32),
            prior_mean=torch.as_tensor(pool.prior_mean[rows], dtype=torch.float32),
            distance=torch.as_tensor(pool.distance[rows[0], rows[1]], dtype=torch.float32),
            means=torch.as_tensor(pool.kinds[rows[0]] == KIND_CODES["means"], dtype=torch.float32),
            truth=torch.as_tensor(pool.truth[rows], dtype=torch.float32),
            weight=torch.as_tensor(w[rows[1]], dtype=torch.float32),
            kind=pool.kinds[rows[0]],
        )

    def __len__(self) -> int:
        return int(self.truth.shape[0])

    def head_output(self, head: BackboneHead, rows=slice(None), **switches) -> tuple:
        return head(
            self.experts[rows, :2],
            self.prior_std[rows],
            self.distance[rows],
            self.means[rows],
            self.prior_mean[rows],
            **switches,
        )


def train_head(
    pool: TaskPool,
    weights: np.ndarray | None = None,
    *,
    steps: int = 600,
    lr: float = 3e-3,
    seed: int = 0,
    max_seconds: float | None = None,
) -> BackboneHead:
    """Fit a :class:`BackboneHead` to the scored points of ``pool`` (Gaussian NLL), for
    ``steps`` steps or ``max_seconds`` (a share of a fit's time budget), whichever ends first.

    Example:
        >>> import numpy as np
        >>> from vamoh.modality import Modality
        >>> from vamoh.normalisation import Normaliser
        >>> from vamoh.pointset import PointSet
        >>> from vamoh.backbone.backbone import GaussianBackbone
        >>> from vamoh.backbone.pool import build_pool
        >>> x = np.linspace(0, 1, 24)[:, None].astype(np.float32)
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> points = PointSet(x, fields, ("v",), (None,))
        >>> norm = Normaliser.fit("standard", fields)
        >>> bb = GaussianBackbone.fit(points, Modality(), norm, np.arange(32))
        >>> head = train_head(build_pool(points, norm, bb, np.arange(32), 32), steps=20)
        >>> type(head).__name__
        'BackboneHead'
    """
    entries = PoolEntries.of(pool, weights)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = BackboneHead()
    if len(entries) == 0:
        return head
    optimiser = torch.optim.Adam(head.parameters(), lr=lr)
    scale = entries.prior_std.clamp_min(1e-6)
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    for _ in range(steps):
        if deadline is not None and time.perf_counter() > deadline:
            break
        rows = torch.randint(len(entries), (min(_BATCH, len(entries)),), generator=generator)
        mean, std = entries.head_output(head, rows)
        z = (entries.truth[rows] - mean) / std
        # in units of the prior std, so every point and channel weighs alike
        nll = 0.5 * z**2 + torch.log(std / scale[rows])
        w = entries.weight[rows]
        loss = (w * nll).sum() / w.sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return head.eval()


def _metrics(truth, mean, std, weight) -> dict[str, float]:
    err = mean - truth
    total = float(weight.sum())
    crps = gaussian_crps(truth, mean, np.maximum(std, 1e-12))
    return {
        "rmse": float(np.sqrt((weight * err**2).sum() / total)),
        "crps": float((weight * crps).sum() / total),
        "coverage90": float((weight * (np.abs(err) <= _Z90 * std)).sum() / total),
    }


@torch.no_grad()
def score_pool(
    pool: TaskPool, weights: np.ndarray | None, head: BackboneHead | None
) -> dict[str, dict[str, dict[str, float]]]:
    """``{task: {method: {rmse, crps, coverage90}}}`` in normalised units on the pool's scored
    points: the backbone alone (its own setting), and with the head (mixture and std; mixture
    only).

    Example:
        >>> import numpy as np
        >>> from vamoh.backbone.pool import TaskPool
        >>> pool = TaskPool(np.array([0]), np.array([0]), np.ones((1, 2), bool), np.arange(2),
        ...                 np.ones((1, 3, 2, 1, 2), np.float32), np.ones((2, 1)),
        ...                 np.zeros((1, 2, 1), np.float32), np.zeros((1, 2), np.float32),
        ...                 np.zeros((1, 2, 1), np.float32), np.zeros((1, 2, 1), np.float32))
        >>> score_pool(pool, None, None)["scattered"]["backbone"]["rmse"]
        1.0
    """
    entries = PoolEntries.of(pool, weights)
    truth = entries.truth.numpy().astype(np.float64)
    weight = entries.weight.numpy().astype(np.float64)
    methods = {"backbone": (entries.experts[:, 2, 0], entries.experts[:, 2, 1])}
    if head is not None:
        methods["backbone + head"] = entries.head_output(head)
        methods["backbone + head (mixture only)"] = entries.head_output(head, use_std=False)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for task, code in KIND_CODES.items():
        rows = entries.kind == code
        if not rows.any():
            continue
        out[task] = {
            name: _metrics(
                truth[rows],
                mean.numpy()[rows].astype(np.float64),
                std.numpy()[rows].astype(np.float64),
                weight[rows],
            )
            for name, (mean, std) in methods.items()
        }
    return out
