"""The backbone and its learned layers during a fit: prepared, trained, measured, chosen.

:class:`LayerStack` carries what :func:`vamoh.fit` needs between its steps when
``conditioning="backbone"`` (see :mod:`vamoh.layers.ablation` for the order and the 2% rule):
the fitted backbone, the task pools, the head, and at the end the ablation scores, the layers
that stay on and the std calibration, bundled into a :class:`~vamoh.layers.conditional.ConditionalPredictor`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vamoh.backbone.backbone import GaussianBackbone
from vamoh.backbone.pool import TaskPool, build_pool
from vamoh.config import VaMoHConfig
from vamoh.layers.ablation import (
    decide,
    head_outputs,
    pool_metrics,
    pool_sizes,
    residual_scores,
    std_scales,
)
from vamoh.layers.conditional import ConditionalPredictor
from vamoh.layers.head_training import train_head
from vamoh.modality import Modality
from vamoh.model import VaMoH
from vamoh.nn.heads import BackboneHead
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet

__all__ = ["METHODS", "LayerStack"]

# the ablation's rows, in the order the layers stack
METHODS = ("backbone", "backbone + head", "backbone + head + residual")
QUICK_EXAMPLES = 128  # task examples of a short fit (config.backbone_search "quick")
HEAD_SHARE = 0.1  # of a time budget: the head's training stops there


@dataclass
class LayerStack:
    """The state of a backbone fit between its steps."""

    backbone: GaussianBackbone
    head: BackboneHead
    train_pool: TaskPool
    val_pool: TaskPool | None
    weights: np.ndarray | None
    mode: str
    seconds: dict[str, float] = field(default_factory=dict)
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    predictor: ConditionalPredictor | None = None
    _coords: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def prepare(
        cls,
        points: PointSet,
        modality: Modality,
        normaliser: Normaliser,
        cfg: VaMoHConfig,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        progress: bool,
        budget_seconds: float | None = None,
    ) -> LayerStack:
        """Fit the backbone, build the task pools and train the head (within
        :data:`HEAD_SHARE` of ``budget_seconds``, a fit's time budget, if given)."""
        seconds: dict[str, float] = {}
        clock = time.perf_counter()
        search = "full" if cfg.backbone_search == "auto" else cfg.backbone_search
        backbone = GaussianBackbone.fit(
            points, modality, normaliser, train_idx, cfg.seed, search=search
        )
        seconds["backbone"] = time.perf_counter() - clock
        clock = time.perf_counter()
        n_train, n_val = pool_sizes(points.n_points, len(train_idx), cfg.pool_examples)
        if cfg.backbone_search == "quick" and cfg.pool_examples is None:
            n_train, n_val = min(n_train, QUICK_EXAMPLES), min(n_val, QUICK_EXAMPLES // 2)
        train_pool = build_pool(points, normaliser, backbone, train_idx, n_train, cfg.seed)
        val_pool = (
            build_pool(points, normaliser, backbone, val_idx, n_val, cfg.seed + 1, cross_fit=False)
            if len(val_idx)
            else None
        )
        seconds["pools"] = time.perf_counter() - clock
        clock = time.perf_counter()
        weights = points.weights
        head = train_head(
            train_pool,
            None if weights is None else weights[train_pool.query],
            steps=cfg.head_steps,
            seed=cfg.seed,
            max_seconds=None if budget_seconds is None else HEAD_SHARE * budget_seconds,
        )
        seconds["head"] = time.perf_counter() - clock
        if progress:
            settings = ", ".join(
                f"{k} a={h.blend:g} l={h.length:g} s2={h.noise:g}"
                for k, h in backbone.prior.settings.items()
            )
            print(
                f"vamoh backbone: rank {backbone.prior.rank} covariance + stationary kernel "
                f"({settings}); {seconds['backbone']:.0f} s; {train_pool.n_examples} task "
                f"examples and the head in {seconds['pools'] + seconds['head']:.0f} s",
                flush=True,
            )
        return cls(
            backbone=backbone,
            head=head,
            train_pool=train_pool,
            val_pool=val_pool,
            weights=weights,
            mode=cfg.learned_layers,
            seconds=seconds,
        )

    def _pool_weights(self, pool: TaskPool) -> np.ndarray | None:
        return None if self.weights is None else self.weights[pool.query]

    def _builder(self, pool: TaskPool, coords: np.ndarray, cfg: VaMoHConfig, training: bool):
        from vamoh.layers.residual_training import PoolBatchBuilder

        mean, std = head_outputs(self.head, pool)
        return PoolBatchBuilder(pool, mean, std, coords, cfg, training)

    def datamodule(self, points: PointSet, cfg: VaMoHConfig) -> Any:
        """Batches of the pools for the residual network (its base: the head)."""
        from vamoh.layers.residual_training import PoolDataModule

        train = self._builder(self.train_pool, points.coords, cfg, True)
        val = (
            self._builder(self.val_pool, points.coords, cfg, False)
            if self.val_pool is not None
            else None
        )
        self._coords = points.coords
        return PoolDataModule(train, val, cfg)

    def finish(self, network: VaMoH, cfg: VaMoHConfig) -> ConditionalPredictor:
        """Measure each layer on the validation pool, keep those that help, calibrate the std."""
        predictor = ConditionalPredictor(self.backbone, self.head, network)
        pool = self.val_pool
        if pool is None:
            forced = self.mode == "on"
            predictor.on = {"head": forced, "residual": forced}
            self.decisions = {"head": {"on": forced}, "residual": {"on": forced}}
            self.predictor = predictor
            return predictor
        weights = self._pool_weights(pool)
        head_mean, head_std = head_outputs(self.head, pool)
        builder = self._builder(pool, self._coords, cfg, False)
        res_mean, res_std = residual_scores(network, builder)
        predictions = {
            "backbone": (pool.experts[:, 2, ..., 0], pool.experts[:, 2, ..., 1]),
            "backbone + head": (head_mean, head_std),
            "backbone + head + residual": (res_mean, res_std),
        }
        per_method = {
            name: pool_metrics(pool, weights, *pred) for name, pred in predictions.items()
        }
        self.scores = {
            task: {name: per_method[name][task] for name in per_method if task in per_method[name]}
            for task in per_method["backbone"]
        }
        head = decide(self.scores, "backbone", "backbone + head", self.mode)
        below = "backbone + head" if head.on else "backbone"
        residual = decide(self.scores, below, "backbone + head + residual", self.mode)
        predictor.on = {"head": head.on or residual.on, "residual": residual.on}
        self.decisions = {"head": head.to_dict(), "residual": residual.to_dict()}
        chosen = "backbone + head + residual" if residual.on else below
        predictor.std_scale = std_scales(pool, weights, *predictions[chosen])
        self.predictor = predictor
        return predictor

    def summary(self) -> dict[str, Any]:
        """For ``model.info["layers"]``: which layers are on, what each adds, the scores."""
        return {
            **self.decisions,
            "scores": self.scores,
            "std_scale": dict(self.predictor.std_scale) if self.predictor else {},
            "examples": {
                "train": self.train_pool.n_examples,
                "val": self.val_pool.n_examples if self.val_pool is not None else 0,
            },
        }

    def backbone_summary(self) -> dict[str, Any]:
        prior = self.backbone.prior
        return {
            "rank": prior.rank,
            "settings": {k: v.to_dict() for k, v in prior.settings.items()},
            "features": list(prior.stats.seasonal.shape[:1])
            if prior.stats.seasonal is not None
            else [],
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }

    def refit(self, points: PointSet, normaliser: Normaliser, index: np.ndarray, seed: int) -> None:
        """Re-estimate the prior on ``index`` (the predictor keeps using this backbone)."""
        self.backbone.refit(points, normaliser, index, seed)
