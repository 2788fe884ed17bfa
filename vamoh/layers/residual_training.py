"""Batches of task-shaped examples for the VaMoH residual over the backbone.

With ``conditioning="backbone"`` the network learns what the Gaussian backbone (and its head)
leave: its context is what a task observed, its targets are the points the task hid, its base is
the head's mean and its scale the head's std there (so it models *standardised* residuals and its
learned scale calibrates the std), and its generators see the backbone's features at each target
(:func:`backbone_features`). Examples come from a :class:`~vamoh.backbone.pool.TaskPool`, whose
backbone posteriors were computed once, so a training step costs only the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import numpy as np
import torch

from vamoh.backbone.pool import TaskPool
from vamoh.batching import EpochSampler
from vamoh.config import VaMoHConfig
from vamoh.model import PointBatch
from vamoh.training import _Indices

__all__ = ["PoolBatchBuilder", "PoolDataModule", "backbone_features"]


def backbone_features(
    std: np.ndarray, prior_std: np.ndarray, distance: np.ndarray, anomaly: np.ndarray
) -> np.ndarray:
    """``(B, M, BACKBONE_FEATURES)`` per-point inputs of the residual network (averaged over
    channels; :data:`vamoh.model.BACKBONE_FEATURES`).

    ``std`` and ``anomaly`` (mean minus prior mean) are ``(B, M, C)``, ``prior_std`` ``(M, C)``,
    ``distance`` ``(B, M)`` (``log1p`` of the distance to the nearest observation in spacings).

    Example:
        >>> import numpy as np
        >>> f = backbone_features(np.ones((2, 3, 1)), np.ones((3, 1)), np.zeros((2, 3)),
        ...                       np.zeros((2, 3, 1)))
        >>> f.shape, float(f[0, 0, 0])
        ((2, 3, 3), 0.0)
    """
    sd_p = np.maximum(prior_std, 1e-6)[None]
    ratio = np.log(np.maximum(std, 1e-6) / sd_p).mean(-1)
    size = np.log1p(np.abs(anomaly) / sd_p).mean(-1)
    out = np.stack([ratio, np.broadcast_to(distance, ratio.shape), size], -1)
    return np.nan_to_num(out).astype(np.float32)


@dataclass
class PoolBatchBuilder:
    """Example indices -> :class:`PointBatch` (context at every training point, targets at the
    pool's query points that the example hid).

    Attributes:
        pool: the examples.
        base_mean, base_std: ``(E, Q, C)`` the head's prediction at the query points.
        coords: ``(N, d)`` the training points.
        config: the likelihood points per step.
        training: draw a random subset of target points per step (else all of them).
    """

    pool: TaskPool
    base_mean: np.ndarray
    base_std: np.ndarray
    coords: np.ndarray
    config: VaMoHConfig
    training: bool
    epoch: int = 0

    def __post_init__(self) -> None:
        self.ctx_x = torch.as_tensor(np.asarray(self.coords, dtype=np.float32))
        self.query_x = self.ctx_x[torch.as_tensor(self.pool.query)]
        anomaly = self.base_mean - self.pool.prior_mean
        self.features = backbone_features(
            self.base_std, self.pool.prior_std, self.pool.distance, anomaly
        )
        self.epoch_source: EpochSampler | None = None

    def __call__(self, indices: list[int]) -> PointBatch:
        rows = np.sort(np.asarray(indices))
        epoch = self.epoch_source.epoch if self.epoch_source is not None else self.epoch
        rng = np.random.default_rng([self.config.seed, int(self.training), epoch, *rows.tolist()])
        pool = self.pool
        observed = pool.observed[rows]  # (b, N, C)
        truth = pool.truth[rows]  # (b, Q, C)
        scored = pool.hidden[rows][..., None] & np.isfinite(truth)
        q = truth.shape[1]
        limit = self.config.likelihood_points or 1024
        sel = np.arange(q)
        scale = np.ones(len(rows), dtype=np.float32)
        if self.training and q > limit:
            # one random subset of targets for the whole batch (one phi(x) for every sample);
            # the scale keeps each sample's likelihood an unbiased estimate of the full one
            sel = np.sort(rng.choice(q, limit, replace=False))
            counts = scored.any(-1).sum(1)
            kept = scored[:, sel].any(-1).sum(1)
            scale = (counts / np.maximum(kept, 1)).astype(np.float32)
        return PointBatch(
            ctx_x=self.ctx_x,
            ctx_y=torch.as_tensor(np.nan_to_num(observed)),
            ctx_valid=torch.as_tensor(np.isfinite(observed)),
            tgt_x=self.query_x[torch.as_tensor(sel)],
            tgt_y=torch.as_tensor(np.nan_to_num(truth[:, sel])),
            tgt_valid=torch.as_tensor(scored[:, sel]),
            tgt_scale=torch.as_tensor(scale),
            base=torch.as_tensor(np.nan_to_num(self.base_mean[rows][:, sel]), dtype=torch.float32),
            base_scale=torch.as_tensor(
                np.nan_to_num(self.base_std[rows][:, sel], nan=1.0), dtype=torch.float32
            ).clamp_min(1e-4),
            features=torch.as_tensor(self.features[rows][:, sel]),
        )


class PoolDataModule(pl.LightningDataModule):
    """Training batches from one pool, validation batches from another (held-out fields)."""

    def __init__(self, train: PoolBatchBuilder, val: PoolBatchBuilder | None, config) -> None:
        super().__init__()
        self.config = config
        self.train_builder = train
        self.val_builder = val
        self.train_sampler = EpochSampler(
            np.arange(train.pool.n_examples), config.batch_size, config.seed, True
        )
        self.train_builder.epoch_source = self.train_sampler
        self.val_sampler = (
            EpochSampler(
                np.arange(val.pool.n_examples),
                config.batch_size,
                config.seed,
                False,
                every_sample=True,
            )
            if val is not None
            else None
        )

    def set_epoch(self, epoch: int) -> None:
        self.train_builder.epoch = epoch
        self.train_sampler.set_epoch(epoch)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            _Indices(), batch_sampler=self.train_sampler, collate_fn=self.train_builder
        )

    def val_dataloader(self) -> torch.utils.data.DataLoader | list:
        if self.val_sampler is None:
            return []
        return torch.utils.data.DataLoader(
            _Indices(), batch_sampler=self.val_sampler, collate_fn=self.val_builder
        )

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch.to(device) if isinstance(batch, PointBatch) else batch
