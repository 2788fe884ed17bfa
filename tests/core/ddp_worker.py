"""Run by test_ddp.py in a fresh interpreter: a 2-process DDP fit on CPU (gloo).

Each rank writes the sample indices it trained on and a digest of its final weights.
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
from vamoh.toy import ToyModality


class RecordRank(pl.Callback):
    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: list[int] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.seen.extend(i for batch in trainer.datamodule.train_sampler for i in batch)

    def on_train_end(self, trainer, pl_module) -> None:
        digest = hashlib.sha256()
        for name, value in sorted(pl_module.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(value.detach().cpu().numpy().tobytes())
        record = {"rank": trainer.global_rank, "seen": self.seen, "weights": digest.hexdigest()}
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(record))


def main(out: Path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3, 32)
    data = np.sin(x[None] * rng.uniform(1, 2, (16, 1)) + rng.uniform(0, 3, (16, 1)))
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
        batch_size=4,
        point_dropout=0.3,
    )
    with vamoh.plugins.registered(ToyModality.plugin()):
        vamoh.fit(
            data,
            modality="toy",
            max_epochs=2,
            val_fraction=0,
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
    main(Path(sys.argv[1]))
