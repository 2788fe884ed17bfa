"""Run by test_ddp.py in a fresh interpreter: a 2-process DDP fit on CPU (gloo).

``python ddp_worker.py OUT [SPEC]``: SPEC is JSON with ``n_samples``, ``val_fraction``,
``batch_size`` and ``max_epochs``. Each rank writes what it trained and validated on (per
epoch, from its samplers), the samples it read from the data, its step count, the validation
metrics it saw after each epoch, and a digest of its final weights.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

import vamoh
from vamoh.batching import BatchBuilder
from vamoh.toy import ToyModality

READ: list[int] = []  # sample indices this process read from the data, in order


def recording_reads() -> None:
    """Every batch this process builds records the samples it read."""
    build = BatchBuilder.__call__

    def call(self: BatchBuilder, indices: list[int]):
        READ.extend(int(i) for i in indices)
        return build(self, indices)

    BatchBuilder.__call__ = call  # type: ignore[method-assign]


recording_reads()  # at import: the spawned ranks import this module, they do not run main()


class RecordRank(pl.Callback):
    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: list[list[int]] = []
        self.validated: list[list[int]] = []
        self.metrics: list[dict[str, float]] = []
        self.train_batches: list[int] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        batches = list(trainer.datamodule.train_sampler)
        self.seen.append([i for batch in batches for i in batch])
        self.train_batches.append(len(batches))

    def on_validation_end(self, trainer, pl_module) -> None:
        self.validated.append([i for batch in trainer.datamodule.val_sampler for i in batch])
        keys = ("val_loss", "val_rmse")
        self.metrics.append({k: float(trainer.callback_metrics[k]) for k in keys})

    def on_train_end(self, trainer, pl_module) -> None:
        digest = hashlib.sha256()
        for name, value in sorted(pl_module.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(value.detach().cpu().numpy().tobytes())
        record = {
            "rank": trainer.global_rank,
            "seen": self.seen,
            "train_batches": self.train_batches,
            "validated": self.validated,
            "metrics": self.metrics,
            "read": READ,
            "global_step": trainer.global_step,
            "val_indices": trainer.datamodule.val_sampler.indices.tolist(),
            "weights": digest.hexdigest(),
        }
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


def main(out: Path, spec: dict) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3, 32)
    n = spec["n_samples"]
    data = np.sin(x[None] * rng.uniform(1, 2, (n, 1)) + rng.uniform(0, 3, (n, 1)))
    config = dict(
        dim_z=4,
        n_components=2,
        fourier_features=8,
        encoder_centroids=[8, 2],
        encoder_neighbours=[4, 2],
        encoder_channels=[8, 8],
        encoder_weight_net=[4],
        hypernet_layers=[16],
        generator_layers=[8],
        categorical_layers=[8],
        flow_layers=2,
        batch_size=spec["batch_size"],
        point_dropout=0.3,
        early_stopping_patience=5,
        # the network alone: the test follows training samples through the ranks (a backbone
        # fit trains on task examples drawn from them instead)
        conditioning="global",
    )
    with vamoh.plugins.registered(ToyModality.plugin()):
        vamoh.fit(
            data,
            modality="toy",
            max_epochs=spec["max_epochs"],
            val_fraction=spec["val_fraction"],
            progress=False,
            report=False,
            config=config,
            trainer={
                "accelerator": "cpu",
                "devices": 2,
                "strategy": pl.strategies.DDPStrategy(
                    process_group_backend="gloo", start_method="spawn", find_unused_parameters=True
                ),
                "callbacks": [RecordRank(out)],
            },
            checkpoint_dir=out / "checkpoints",
        )


if __name__ == "__main__":
    default = {"n_samples": 16, "val_fraction": 0.0, "batch_size": 4, "max_epochs": 2}
    main(Path(sys.argv[1]), {**default, **(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})})
