"""Ctrl-C, SIGTERM, a diverging loss and a failing disk end a fit cleanly, with what was kept
named (the real-process versions, with SIGKILL and a resumed run, are in test_faults.py)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

import vamoh
from vamoh.checkpoint import CheckpointError, MissingModelError
from vamoh.interrupts import TrainingDivergedError, TrainingInterrupted
from vamoh.toy import ToyModality
from vamoh.training_files import CheckpointFolderError

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
    # the training machinery on samples (a backbone fit trains on task examples)
    conditioning="global",
)


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    with vamoh.plugins.registered(ToyModality.plugin()):
        yield


def waves(n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3, 48)
    return np.sin(x[None] * rng.uniform(1, 2, (n, 1)) + rng.uniform(0, 3, (n, 1)))


class SignalAt(pl.Callback):
    """Sends ``signum`` to this process ``times`` times after a given batch."""

    def __init__(self, signum: int, epoch: int, batch: int, times: int = 1) -> None:
        self.signum, self.epoch, self.batch, self.times = signum, epoch, batch, times

    def on_train_batch_end(self, trainer: pl.Trainer, *args: object) -> None:
        if (trainer.current_epoch, args[-1]) == (self.epoch, self.batch):
            for _ in range(self.times):
                os.kill(os.getpid(), self.signum)


def interruption(caught: pytest.WarningsRecorder) -> str:
    return next(str(w.message) for w in caught if w.category is TrainingInterrupted)


def fit(**kwargs: object) -> vamoh.Model:
    settings = dict(modality="toy", max_epochs=4, progress=False, report=False, config=TINY)
    return vamoh.fit(waves(), **{**settings, **kwargs})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_at_a_step_and_keeps_the_best_weights(signum: int, tmp_path: Path) -> None:
    before = signal.getsignal(signum)
    with pytest.warns(TrainingInterrupted) as caught:
        model = fit(
            val_fraction=0.25,
            checkpoint_dir=tmp_path,
            trainer={"callbacks": [SignalAt(signum, epoch=2, batch=1)]},
        )
    message = interruption(caught)
    name = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else "SIGTERM"
    assert model.info["interrupted"] == name and model.info["epochs"] == 2
    assert f"stopped by {name} after 2 complete epochs" in message
    assert "best validated epoch" in message and "model.save(" in message
    assert f"resume='{tmp_path / 'last.ckpt'}'" in message
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["epoch"] == 1
    best = torch.load(tmp_path / "best.ckpt", weights_only=True)["state_dict"]
    for key, value in model.network.state_dict().items():
        assert torch.equal(value, best[f"model.{key}"]), key
    assert "report" not in model.info  # the report is skipped: stopping should be quick
    assert signal.getsignal(signum) is before  # the handlers are restored


def test_without_a_checkpoint_folder_the_message_says_nothing_was_written() -> None:
    with pytest.warns(TrainingInterrupted, match="nothing was written") as caught:
        model = fit(val_fraction=0, trainer={"callbacks": [SignalAt(signal.SIGINT, 0, 1)]})
    assert "after step 2 (no epoch was validated yet)" in interruption(caught)
    assert model.info["epochs"] == 0 and np.isfinite(model.impute(waves(2))["v0"]).all()


def test_a_second_ctrl_c_aborts_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        fit(trainer={"callbacks": [SignalAt(signal.SIGINT, 0, 0, times=2)]})


def test_a_diverging_loss_names_the_last_good_checkpoint(tmp_path: Path) -> None:
    class Diverge(pl.Callback):
        def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            if trainer.current_epoch == 1:  # weights that make the loss NaN
                with torch.no_grad():
                    for parameter in module.parameters():
                        parameter.fill_(float("nan"))

    with pytest.raises(TrainingDivergedError, match="at step 4") as caught:
        fit(val_fraction=0, checkpoint_dir=tmp_path, trainer={"callbacks": [Diverge()]})
    assert f"The last good checkpoint is {tmp_path / 'last.ckpt'}" in str(caught.value)
    assert isinstance(caught.value, FloatingPointError)
    good = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert good["epoch"] == 0 and all(v.isfinite().all() for v in good["state_dict"].values())


def test_a_disk_that_fills_up_during_training_is_named(tmp_path: Path, monkeypatch) -> None:
    from lightning.fabric.plugins.io import torch_io

    saves = []
    original = torch_io._atomic_save

    def second_save_fails(checkpoint: dict, path: str) -> None:
        saves.append(path)
        if len(saves) > 2:  # epoch 0 wrote best.ckpt and last.ckpt
            raise OSError(errno.ENOSPC, "No space left on device")
        original(checkpoint, path)

    monkeypatch.setattr(torch_io, "_atomic_save", second_save_fails)
    with pytest.raises(CheckpointFolderError, match="No space left on device") as caught:
        fit(val_fraction=0, checkpoint_dir=tmp_path)
    assert f"last complete checkpoint is {tmp_path / 'last.ckpt'}" in str(caught.value)


def test_a_checkpoint_folder_without_room_is_refused_before_training(
    tmp_path: Path, monkeypatch
) -> None:
    from vamoh import training_files

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        training_files.shutil, "disk_usage", lambda p: usage._replace(free=100 * 2**10)
    )
    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(CheckpointFolderError, match=r"has 0\.1 MiB free.*needs about"):
        fit(val_fraction=0.25, checkpoint_dir=tmp_path)


def test_a_read_only_checkpoint_folder_is_refused_before_training(monkeypatch) -> None:
    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: pytest.fail("training started"))
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o555)
        as_root = os.geteuid() == 0
        if as_root:  # root writes anywhere: check as an ordinary user
            os.seteuid(65534)
        try:
            with pytest.raises(CheckpointFolderError, match="cannot be written"):
                fit(checkpoint_dir=folder / "checkpoints")
        finally:
            if as_root:
                os.seteuid(0)
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_file_in_the_checkpoint_folders_place_is_refused(tmp_path: Path) -> None:
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    with pytest.raises(CheckpointFolderError, match="is a file, not a folder"):
        fit(checkpoint_dir=taken)
    assert taken.read_text() == "mine"


def test_resume_checkpoints_are_checked_before_training(tmp_path: Path, monkeypatch) -> None:
    fit(max_epochs=1, val_fraction=0, checkpoint_dir=tmp_path / "run")
    saved = fit(max_epochs=1, val_fraction=0).save(tmp_path / "model.vamoh")
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes((tmp_path / "run" / "last.ckpt").read_bytes()[:5000])
    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(MissingModelError, match="no checkpoint there"):
        fit(resume=tmp_path / "nope.ckpt")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        fit(resume=corrupt)
    with pytest.raises(CheckpointError, match=r"is a saved model \(model.save\)"):
        fit(resume=saved)
    with pytest.raises(CheckpointError, match="written for another network"):
        fit(resume=tmp_path / "run" / "last.ckpt", config={**TINY, "dim_z": 4})
