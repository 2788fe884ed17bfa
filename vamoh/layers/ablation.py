"""Fitting the learned layers on top of the backbone, and the ablation that decides which stay.

Order of a backbone fit (:func:`vamoh.fit` with ``conditioning="backbone"``):

1. task pools: cross-fitted examples from the training fields, and examples from the validation
   fields conditioned with the training-field prior (:mod:`vamoh.backbone.pool`);
2. the backbone head, trained on the training pool (:mod:`vamoh.layers.head_training`);
3. the VaMoH residual network, trained with Lightning on the same pool, its base the head;
4. the ablation on the validation pool: each layer is compared with what it sits on, per task
   (scattered gaps, holes, coarse means), in RMSE and CRPS. A layer that improves no task by
   :data:`MIN_GAIN` (2%) or more is off for conditional predictions
   (``config.learned_layers="auto"``; ``"on"``/``"off"`` force it);
5. a per-kind std scale (points, means) that makes the chosen predictor's 90% intervals cover 90%
   of the validation pool's hidden points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from vamoh.backbone.pool import KIND_CODES, TaskPool
from vamoh.layers.head_training import _metrics
from vamoh.model import PointBatch, VaMoH
from vamoh.nn.heads import BackboneHead, no_narrower

__all__ = [
    "MIN_GAIN",
    "LayerDecision",
    "decide",
    "describe_layers",
    "head_outputs",
    "pool_metrics",
    "pool_sizes",
    "residual_scores",
    "std_scales",
]

MIN_GAIN = 0.02  # a learned layer stays on where it improves a task by at least this share
_Z90 = 1.6448536269514722
_BASE_EXAMPLES = 400  # training examples on a ~1500-point grid (seconds of backbone work)
_BASE_POINTS = 1536
TASKS_PER_FIELD = 4  # a field serves at most this many task examples


def pool_sizes(n_points: int, n_train: int, requested: int | None) -> tuple[int, int]:
    """Training and validation examples: fewer on large grids, where each costs more, and at
    most :data:`TASKS_PER_FIELD` per training field.

    Example:
        >>> pool_sizes(1536, 518, None), pool_sizes(16000, 518, None), pool_sizes(100, 7, None)
        ((400, 160), (64, 26), (28, 16))
    """
    if requested is not None:
        n = int(requested)
    else:
        ratio = min(1.0, _BASE_POINTS / max(n_points, 1))
        n = int(np.clip(round(_BASE_EXAMPLES * ratio**1.5), 64, _BASE_EXAMPLES))
        n = max(1, min(n, TASKS_PER_FIELD * n_train))
    return n, max(16, round(n * 0.4))


@dataclass
class LayerDecision:
    """Whether a layer is on, and what it adds per task (relative change of RMSE and CRPS:
    negative is better) over what it sits on."""

    on: bool
    adds: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"on": self.on, "adds": self.adds}


def decide(
    scores: dict[str, dict[str, dict[str, float]]], base: str, layer: str, mode: str
) -> LayerDecision:
    """``layer`` is on when it improves some task's RMSE or CRPS over ``base`` by ``MIN_GAIN``
    and worsens no task's RMSE by as much (``mode="auto"``; one fitted model serves every
    task), or as ``mode`` forces.

    Example:
        >>> s = {"hole": {"b": {"rmse": 1.0, "crps": 0.5}, "b+l": {"rmse": 0.9, "crps": 0.5}}}
        >>> d = decide(s, "b", "b+l", "auto")
        >>> d.on, d.adds["hole"]["rmse"]
        (True, -0.1)
        >>> s["means"] = {"b": {"rmse": 1.0, "crps": 0.5}, "b+l": {"rmse": 1.05, "crps": 0.4}}
        >>> decide(s, "b", "b+l", "auto").on
        False
    """
    adds = {}
    for task, methods in scores.items():
        if base in methods and layer in methods:
            adds[task] = {
                metric: round(methods[layer][metric] / max(methods[base][metric], 1e-12) - 1, 4)
                for metric in ("rmse", "crps")
            }
    helps = any(min(v.values()) <= -MIN_GAIN for v in adds.values())
    hurts = any(v["rmse"] >= MIN_GAIN for v in adds.values())
    on = {"on": True, "off": False}.get(mode, helps and not hurts)
    return LayerDecision(on=on, adds=adds)


def describe_layers(decisions: dict[str, Any]) -> str:
    """One line per learned layer: on or off, and what it adds over the layer below it on each
    validation task (relative change of RMSE and CRPS; negative is better).

    Example:
        >>> d = {"head": {"on": True, "adds": {"hole": {"rmse": -0.081, "crps": -0.2}}},
        ...      "residual": {"on": False, "adds": {"hole": {"rmse": 0.01, "crps": 0.0}}}}
        >>> print(describe_layers(d))
        learned layers on the validation fields (change over the layer below; 2% needed):
          head       on    hole rmse -8.1% crps -20.0%
          residual   off   hole rmse +1.0% crps +0.0%
    """
    lines = [
        "learned layers on the validation fields (change over the layer below; "
        f"{MIN_GAIN:.0%} needed):"
    ]
    for name, decision in decisions.items():
        adds = decision.get("adds") or {}
        cells = [f"{task} rmse {v['rmse']:+.1%} crps {v['crps']:+.1%}" for task, v in adds.items()]
        state = "on" if decision.get("on") else "off"
        lines.append(f"  {name:<10} {state:<5} " + ("; ".join(cells) or "not measured"))
    return "\n".join(lines)


@torch.no_grad()
def head_outputs(head: BackboneHead, pool: TaskPool) -> tuple[np.ndarray, np.ndarray]:
    """The head's mean and std ``(E, Q, C)`` at every query point of every example."""
    experts = torch.as_tensor(np.nan_to_num(pool.experts[:, :2], nan=1.0))  # (E, 2, Q, C, 2)
    experts = experts.permute(0, 2, 3, 1, 4)  # (E, Q, C, 2, 2)
    means = torch.as_tensor(pool.kinds == KIND_CODES["means"], dtype=torch.float32)
    mean, std = head(
        experts,
        torch.as_tensor(pool.prior_std, dtype=torch.float32),
        torch.as_tensor(pool.distance)[..., None],
        means[:, None, None],
        torch.as_tensor(pool.prior_mean),
    )
    return mean.numpy(), std.numpy()


@torch.no_grad()
def residual_scores(
    network: VaMoH,
    builder: Any,
    batch_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """The residual network's predictive mean and std ``(E, Q, C)`` on a pool
    (:class:`vamoh.layers.residual_training.PoolBatchBuilder` of it, in evaluation mode)."""
    network = network.eval()
    n = builder.pool.n_examples
    means, stds = [], []
    for start in range(0, n, batch_size):
        batch: PointBatch = builder(list(range(start, min(n, start + batch_size))))
        generator = torch.Generator().manual_seed(start)
        pred = network.predict(batch, n_samples=4, generator=generator)
        means.append(pred.mean.numpy())
        stds.append(no_narrower(pred.std, batch.base_scale).numpy())
    return np.concatenate(means), np.concatenate(stds)


def pool_metrics(
    pool: TaskPool, weights: np.ndarray | None, mean: np.ndarray, std: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{task: {rmse, crps, coverage90}}`` of a prediction ``(E, Q, C)`` on a pool's hidden
    points (normalised units)."""
    scored = pool.hidden[..., None] & np.isfinite(pool.truth) & np.isfinite(mean) & np.isfinite(std)
    w = np.ones(pool.truth.shape[1]) if weights is None else np.asarray(weights, np.float64)
    out = {}
    for task, code in KIND_CODES.items():
        rows = scored & (pool.kinds == code)[:, None, None]
        if not rows.any():
            continue
        idx = np.nonzero(rows)
        out[task] = _metrics(
            pool.truth[idx].astype(np.float64),
            mean[idx].astype(np.float64),
            std[idx].astype(np.float64),
            w[idx[1]],
        )
    return out


def std_scales(
    pool: TaskPool, weights: np.ndarray | None, mean: np.ndarray, std: np.ndarray
) -> dict[str, float]:
    """Per kind (``points``, ``means``) the factor on the std that makes 90% intervals cover
    90% of the pool's hidden points (weighted), from the 90th percentile of ``|error| / std``.
    Widening is taken in full; narrowing only half-way in log scale (the square root of the
    factor): the validation fields are a few neighbouring days, and narrowing learned on them
    did not carry over to later weeks (see :mod:`vamoh.nn.heads`)."""
    scored = pool.hidden[..., None] & np.isfinite(pool.truth) & np.isfinite(mean) & np.isfinite(std)
    w = np.ones(pool.truth.shape[1]) if weights is None else np.asarray(weights, np.float64)
    out = {}
    for kind, codes in (("points", (0, 1)), ("means", (2,))):
        rows = scored & np.isin(pool.kinds, codes)[:, None, None]
        if not rows.any():
            continue
        idx = np.nonzero(rows)
        z = np.abs(pool.truth[idx] - mean[idx]) / np.maximum(std[idx], 1e-12)
        order = np.argsort(z)
        cum = np.cumsum(w[idx[1]][order])
        q90 = float(z[order][np.searchsorted(cum, 0.9 * cum[-1])])
        factor = q90 / _Z90 if math.isfinite(q90) and q90 > 0 else 1.0
        out[kind] = factor if factor >= 1.0 else math.sqrt(factor)
    return out
