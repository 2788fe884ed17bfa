"""A tiny fit in its own process, for tests that kill or signal it (tests/core/test_faults.py).

Usage: python fit_worker.py OUT_DIR MODE [RESUME]

MODE ``full`` trains uninterrupted; ``slow`` pauses after every batch from the second epoch on
(printing ``epoch E batch B``) so the test can kill or signal it mid-epoch; ``resume`` continues
from RESUME. The checkpoints go to OUT_DIR/checkpoints; the info of the returned model to
OUT_DIR/info.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

import vamoh
from vamoh.toy import ToyModality

TINY = dict(
    dim_z=8,
    n_components=2,
    fourier_features=16,
    encoder_centroids=[16, 4],
    encoder_neighbours=[4, 3],
    encoder_channels=[16, 16],
    encoder_weight_net=[8],
    hypernet_layers=[32, 64],
    generator_layers=[32, 32],
    categorical_layers=[16],
    flow_layers=2,
    batch_size=4,
    lr=3e-3,
    point_dropout=0.3,
    # the training machinery on samples (a backbone fit trains on task examples)
    conditioning="global",
)
EPOCHS = 4


class Announce(pl.Callback):
    """Prints each finished batch; from the second epoch on, pauses so a signal lands mid-epoch."""

    def __init__(self, pause: float) -> None:
        self.pause = pause

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        print(f"epoch {trainer.current_epoch} batch {args[-1]}", flush=True)
        if trainer.current_epoch >= 1:
            time.sleep(self.pause)


def main() -> None:
    out, mode = Path(sys.argv[1]), sys.argv[2]
    resume = sys.argv[3] if len(sys.argv) > 3 else None
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3, 48)
    data = np.sin(x[None] * rng.uniform(1, 2, (16, 1)) + rng.uniform(0, 3, (16, 1)))
    with vamoh.plugins.registered(ToyModality.plugin()):
        model = vamoh.fit(
            data,
            modality="toy",
            max_epochs=EPOCHS,
            progress=False,
            report=False,
            config=TINY,
            val_fraction=0.25,
            checkpoint_dir=out / "checkpoints",
            resume=resume,
            trainer={"callbacks": [Announce(0.4 if mode == "slow" else 0.0)]},
        )
    info = {k: v for k, v in model.info.items() if k != "metrics"}
    (out / "info.json").write_text(json.dumps(info))
    print("done", flush=True)


if __name__ == "__main__":
    main()
