"""Turning samples of a PointSet into PointBatches: subsampling, point dropout, context/targets.

All randomness comes from a generator seeded by (seed, epoch, sample ids), so a run resumed from a
checkpoint draws exactly what an uninterrupted run draws.
"""

from __future__ import annotations

import numpy as np
import torch

from vamoh.config import VaMoHConfig
from vamoh.modality import Modality
from vamoh.model import PointBatch
from vamoh.neighbours import random_sample
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet

__all__ = ["BatchBuilder", "EpochSampler"]


class EpochSampler(torch.utils.data.Sampler):
    """Shuffled batches of sample indices, reproducible per epoch, split across DDP ranks.

    Every rank draws the same permutation and takes its own share, so no sample is used twice in
    an epoch. Training (``every_sample=False``) drops the remainder: every rank then runs the
    same number of steps, which DDP's gradient all-reduce needs. Validation
    (``every_sample=True``) deals the indices out in turn, so every sample is scored once (rank
    shares differ by one at most: without gradients, unequal step counts cannot hang), and a
    rank left without a sample repeats one so that every rank logs the metrics it reduces.
    """

    def __init__(
        self,
        indices: np.ndarray,
        batch_size: int,
        seed: int,
        shuffle: bool,
        every_sample: bool = False,
    ) -> None:
        self.indices = np.asarray(indices)
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.every_sample = every_sample
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rank(self) -> tuple[int, int]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def _batches(self) -> list[np.ndarray]:
        order = self.indices
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        rank, world = self._rank()
        if world > 1 and self.every_sample and len(order):
            # fewer indices than ranks: np.resize repeats them, so no rank is left without one
            order = np.resize(order, max(len(order), world))[rank::world]
        elif world > 1:
            per_rank = len(order) // world
            order = order[rank * per_rank : (rank + 1) * per_rank]
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def __iter__(self):
        yield from (b.tolist() for b in self._batches())

    def __len__(self) -> int:
        return len(self._batches())


class BatchBuilder:
    """Reads samples (one dask compute per batch) and builds a :class:`PointBatch`."""

    def __init__(
        self,
        points: PointSet,
        normaliser: Normaliser,
        config: VaMoHConfig,
        modality: Modality,
        training: bool,
    ) -> None:
        self.points = points
        self.normaliser = normaliser
        self.config = config
        self.modality = modality
        self.training = training
        self.epoch = 0
        # Lightning sets the sampler's epoch before it prefetches the epoch's first batch, so the
        # sampler (when given) is the reliable source of the epoch for dropout randomness
        self.epoch_source: EpochSampler | None = None
        self.coords = torch.as_tensor(points.coords)  # (N, d), shared by every sample
        self.local_modes = config.conditioning != "global"
        self.uses_base = config.conditioning in ("hybrid", "local+hybrid")

    def _rng(self, indices: list[int]) -> np.random.Generator:
        salt = 0 if self.training else 1
        epoch = self.epoch_source.epoch if self.epoch_source is not None else self.epoch
        return np.random.default_rng([self.config.seed, salt, epoch, *indices])

    def __call__(self, indices: list[int]) -> PointBatch:
        indices = sorted(indices)
        rng = self._rng(indices)
        values = self.normaliser.forward(self.points.samples(indices)).astype(np.float32)
        return self.build(values, rng)

    def build(self, values: np.ndarray, rng: np.random.Generator) -> PointBatch:
        """``values`` ``(b, N, C)`` normalised, NaN where absent."""
        cfg = self.config
        b, n, _ = values.shape
        valid = np.isfinite(values)
        point_valid = valid.any(-1)
        coords = self.points.coords  # (N, d)
        per_sample = None
        if cfg.points_per_sample and n > cfg.points_per_sample and not self.uses_base:
            # the modality picks the subset (uniform by default; e.g. balanced occupancy)
            per_sample = self.modality.sample_points(values, cfg.points_per_sample, rng)  # (b, P)
            values = np.take_along_axis(values, per_sample[..., None], axis=1)
            valid = np.take_along_axis(valid, per_sample[..., None], axis=1)
            point_valid = valid.any(-1)
        n_pts = values.shape[1]
        # point dropout: rate p ~ U(lo, alpha) per sample; the local modes always hold some out.
        # Validation hides a fixed half of each sample: its RMSE is a gap-filling score.
        if self.training:
            alpha, lo = cfg.point_dropout, 0.0
            if self.local_modes:
                alpha, lo = max(alpha, 0.2), 0.1
            rate = rng.uniform(lo, alpha, size=(b, 1)) if alpha > 0 else np.zeros((b, 1))
        else:
            rate = np.full((b, 1), 0.5)
        keep = rng.random((b, n_pts)) >= rate
        ctx_point = point_valid & keep
        first = np.argmax(point_valid, axis=1)
        empty = ~ctx_point.any(1)
        ctx_point[np.flatnonzero(empty), first[empty]] = True
        ctx_valid = valid & ctx_point[..., None]
        tgt_point = point_valid & ~ctx_point if self.local_modes else point_valid
        no_target = ~tgt_point.any(1)
        tgt_point[no_target] = point_valid[no_target]
        tgt_valid = valid & tgt_point[..., None]
        base = None
        if self.uses_base:
            observed = np.where(ctx_valid, values, np.nan)
            base = self.normaliser.baseline(self.modality, self.points, observed, coords)
        tgt_x_np = None
        scale = np.ones(b, dtype=np.float32)
        shared_targets = per_sample is None and not self.local_modes
        limit = cfg.likelihood_points or n_pts
        if self.training and self.local_modes:
            # only held-out points are scored: decode those, not the whole field
            limit = min(limit, max(1, int(tgt_point.sum(1).max())))
        if self.training and limit < n_pts and shared_targets:
            # one random subset of points for the whole batch: the generators then read phi(x)
            # once for every sample (a plain matmul instead of per-sample ones)
            sel = rng.choice(n_pts, limit, replace=False)  # (L,)
            counts = tgt_point.sum(1)
            tgt_point = tgt_point[:, sel]
            scale = (counts / np.maximum(tgt_point.sum(1), 1)).astype(np.float32)
            tgt_y = values[:, sel]
            tgt_valid = tgt_valid[:, sel]
            base = base[:, sel] if base is not None else None
            tgt_x_np = coords[sel]
        elif self.training and limit < n_pts:
            sel = random_sample(tgt_point, limit, rng)  # (b, L)
            counts = tgt_point.sum(1)
            scale = (counts / np.maximum(np.minimum(counts, limit), 1)).astype(np.float32)
            # a sample with fewer targets than L repeats some: count each distinct one once
            srt = np.sort(sel, axis=1)
            dup_sorted = np.zeros_like(srt, dtype=bool)
            dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
            dup = np.take_along_axis(dup_sorted, np.argsort(np.argsort(sel, axis=1), axis=1), 1)
            tgt_y = np.take_along_axis(values, sel[..., None], axis=1)
            tgt_valid = np.take_along_axis(tgt_valid, sel[..., None], axis=1) & ~dup[..., None]
            base = np.take_along_axis(base, sel[..., None], axis=1) if base is not None else None
            src = sel if per_sample is None else np.take_along_axis(per_sample, sel, axis=1)
            tgt_x_np = coords[src]
        else:
            tgt_y = values
            if per_sample is not None:
                tgt_x_np = coords[per_sample]
        ctx_x = self.coords if per_sample is None else torch.as_tensor(coords[per_sample])
        tgt_x = self.coords if tgt_x_np is None else torch.as_tensor(tgt_x_np)
        return PointBatch(
            ctx_x=ctx_x,
            ctx_y=torch.as_tensor(np.nan_to_num(values)),
            ctx_valid=torch.as_tensor(ctx_valid),
            tgt_x=tgt_x,
            tgt_y=torch.as_tensor(np.nan_to_num(tgt_y)),
            tgt_valid=torch.as_tensor(tgt_valid),
            tgt_scale=torch.as_tensor(scale),
            base=torch.as_tensor(base) if base is not None else None,
        )
