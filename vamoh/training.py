"""Lightning glue: the training system (optimiser, warm-ups, logging) and a thin DataModule."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch

from vamoh.batching import BatchBuilder, EpochSampler
from vamoh.config import VaMoHConfig
from vamoh.modality import Modality
from vamoh.model import PointBatch, VaMoH
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet

__all__ = ["BestWeights", "PointSetDataModule", "VaMoHSystem", "effective_warmups"]


def effective_warmups(config: VaMoHConfig) -> tuple[int, int]:
    """Warm-up epochs actually used: the configured ones, capped at a third of the run.

    The paper trains ERA5 600 epochs with a 200-epoch N(0, I) warm-up; a short run keeps the same
    proportion instead of never reaching the flow.
    """
    cap = max(1, config.max_epochs // 3)
    return min(config.flow_warmup_epochs, cap), min(config.categorical_warmup_epochs, cap)


class PointSetDataModule(pl.LightningDataModule):
    """Streams batches of a PointSet: only the samples of the current batch are read."""

    def __init__(
        self,
        points: PointSet,
        normaliser: Normaliser,
        config: VaMoHConfig,
        modality: Modality,
        train_indices: np.ndarray,
        val_indices: np.ndarray,
    ) -> None:
        super().__init__()
        self.config = config
        self.train_builder = BatchBuilder(points, normaliser, config, modality, training=True)
        self.val_builder = BatchBuilder(points, normaliser, config, modality, training=False)
        self.train_sampler = EpochSampler(train_indices, config.batch_size, config.seed, True)
        self.val_sampler = EpochSampler(
            val_indices, config.batch_size, config.seed, False, every_sample=True
        )
        self.train_builder.epoch_source = self.train_sampler

    def set_epoch(self, epoch: int) -> None:
        self.train_builder.epoch = epoch
        self.train_sampler.set_epoch(epoch)

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            _Indices(), batch_sampler=self.train_sampler, collate_fn=self.train_builder
        )

    def val_dataloader(self) -> torch.utils.data.DataLoader | list:
        if len(self.val_sampler.indices) == 0:
            return []
        return torch.utils.data.DataLoader(
            _Indices(), batch_sampler=self.val_sampler, collate_fn=self.val_builder
        )

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch.to(device) if isinstance(batch, PointBatch) else batch


class _Indices(torch.utils.data.Dataset):
    """Items are sample indices; the collate function reads the samples."""

    def __getitem__(self, i: int) -> int:
        return int(i)

    def __len__(self) -> int:  # the batch sampler decides; this is never iterated directly
        return 2**31 - 1


class VaMoHSystem(pl.LightningModule):
    """Adam on the negative ELBO, gradient clipping, warm-up schedules, logged ELBO terms."""

    def __init__(self, model: VaMoH, config: VaMoHConfig, normaliser: Normaliser) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.value_scale = torch.as_tensor(normaliser.scale, dtype=torch.float32)
        self.flow_warmup, self.categorical_warmup = effective_warmups(config)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = list(self.model.parameters())
        # the fused kernel is ~10x faster than the loop over the hypernetworks' ~40M weights
        fused = all(p.dtype.is_floating_point and p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.AdamW(
            params, lr=self.config.lr, weight_decay=self.config.weight_decay, fused=fused or None
        )

    def on_train_epoch_start(self) -> None:
        epoch = self.current_epoch
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None:
            datamodule.set_epoch(epoch)
        if self.model.flow is not None:
            self.model.flow_active.fill_(epoch >= self.flow_warmup)
        self.model.categorical_active.fill_(epoch >= self.categorical_warmup)

    def training_step(self, batch: PointBatch, batch_idx: int) -> torch.Tensor:
        # per-step seeds (latent draws, dropout): a run resumed from a checkpoint draws exactly
        # what an uninterrupted run draws, whatever else touched the global generator meanwhile
        torch.manual_seed(self.config.seed * 1_000_003 + self.global_step)
        terms = self.model.elbo(batch)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss.item()} at step {self.global_step} "
                f"(epoch {self.current_epoch}); lower the learning rate (config lr="
                f"{self.config.lr}) or check the data for extreme values."
            )
        b = batch.ctx_y.shape[0]
        self.log("train_loss", loss, prog_bar=True, batch_size=b)
        for name in ("elbo", "rec", "kl_z", "kl_c"):
            self.log(f"train_{name}", terms[name].mean(), batch_size=b)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)

    def validation_step(self, batch: PointBatch, batch_idx: int) -> None:
        terms = self.model.elbo(batch)
        b = batch.ctx_y.shape[0]
        self.log("val_loss", terms["loss"], prog_bar=True, batch_size=b, sync_dist=True)
        self.log("val_elbo", terms["elbo"].mean(), batch_size=b, sync_dist=True)
        # gap-filling RMSE in data units on the points the encoder did not see (targets of task
        # pools are all hidden points; they need not be the context's points)
        if batch.tgt_valid.shape == batch.ctx_valid.shape:
            held_out = batch.tgt_valid & ~batch.ctx_valid
        else:
            held_out = batch.tgt_valid
        if bool(held_out.any()):
            pred = self.model.predict(batch, n_samples=0)
            err = (pred.mean - batch.tgt_y) * self.value_scale.to(pred.mean.device)
            mse = (err**2 * held_out).sum() / held_out.sum()
            self.log("val_rmse", mse.sqrt(), prog_bar=True, batch_size=b, sync_dist=True)


class BestWeights(pl.Callback):
    """Keeps a copy (on the CPU) of the weights of the epoch with the lowest ``monitor``.

    In memory instead of checkpoint files: the paper's ERA5 network is 150 MB and a short
    run would otherwise write two files per epoch.
    """

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor
        self.score: float | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or trainer.sanity_checking or not bool(torch.isfinite(value)):
            return
        if self.score is None or float(value) < self.score:
            self.score = float(value)
            self.state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
