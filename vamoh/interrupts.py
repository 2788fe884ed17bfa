"""Training that stops cleanly: Ctrl-C and SIGTERM end a fit at a step boundary, never mid-write.

While ``vamoh.fit`` trains, the first Ctrl-C (SIGINT) or SIGTERM (what SLURM and most schedulers
send before they kill a job) asks training to stop after the current step instead of
interrupting whatever Python code runs at that instant. Then:

* ``fit`` returns the model with the weights of the best validated epoch (or the last step's
  when no epoch was validated yet), skips the validation report, and warns with
  :class:`TrainingInterrupted` saying what was kept, where the checkpoints are and how to
  save or resume;
* with ``checkpoint_dir``, ``last.ckpt`` there is the end of the last completed epoch (Lightning
  writes it atomically), so ``vamoh.fit(..., resume=".../last.ckpt")`` continues exactly as an
  uninterrupted run would (the unfinished epoch is trained again); ``best.ckpt`` holds the best
  validated epoch. Nothing is written outside ``checkpoint_dir``.

A second Ctrl-C aborts at once with ``KeyboardInterrupt``. A training loss that turns NaN or
infinite becomes :class:`TrainingDivergedError`, naming the last good checkpoint. A disk that
fills up (or turns read-only) while checkpoints are written becomes
:class:`~vamoh.training_files.CheckpointFolderError`. Multi-process (DDP) training keeps
Lightning's own signal handling.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.exceptions import SIGTERMException

from vamoh.training_files import CheckpointFolderError

__all__ = ["StopState", "TrainingDivergedError", "TrainingInterrupted", "stopping_cleanly"]

_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class TrainingInterrupted(UserWarning):
    """``fit`` was stopped by Ctrl-C or SIGTERM; the message says what was kept and where."""


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the last good checkpoint."""


class _StopRequested(Exception):
    """Raised at a step boundary to end ``trainer.fit`` after a stop signal."""


@dataclass
class StopState:
    """What happened to a fit run under :func:`stopping_cleanly`.

    Attributes:
        reason: ``None`` when training ran to its end, else what stopped it
            (``"Ctrl-C (SIGINT)"``, ``"SIGTERM"``).
        signals: how many stop signals arrived.
        epochs_done: epochs completed before the stop.
        step: optimiser steps taken.
    """

    reason: str | None = None
    signals: int = 0
    epochs_done: int = 0
    step: int = 0


class _StopAtStepBoundary(pl.Callback):
    """Ends training at the next batch boundary once a stop was requested."""

    def __init__(self, state: StopState) -> None:
        self.state = state

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self.state.step = int(trainer.global_step)
        if self.state.reason is not None:
            raise _StopRequested

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.state.reason is not None:
            raise _StopRequested

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.state.epochs_done = int(trainer.current_epoch) + 1


def _checkpointer(trainer: pl.Trainer) -> Any:
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, pl.callbacks.ModelCheckpoint):
            return callback
    return None


def _last_good(trainer: pl.Trainer) -> str | None:
    checkpointer = _checkpointer(trainer)
    path = getattr(checkpointer, "last_model_path", "") if checkpointer else ""
    return path if path and Path(path).is_file() else None


def _kept_message(trainer: pl.Trainer, state: StopState, best: Any) -> str:
    score = getattr(best, "score", None)
    if getattr(best, "state", None) is not None and score is not None:
        kept = f"the weights of the best validated epoch (val_loss {score:.4g})"
    else:
        kept = f"the weights after step {state.step} (no epoch was validated yet)"
    lines = [
        f"training stopped by {state.reason} after {state.epochs_done} complete epoch"
        f"{'s' if state.epochs_done != 1 else ''} (step {state.step}). The model fit returns "
        f"holds {kept}; save it with model.save('model.vamoh')."
    ]
    last = _last_good(trainer)
    checkpointer = _checkpointer(trainer)
    if last is not None:
        lines.append(
            f"{last} holds the end of the last complete epoch: continue exactly where it left "
            f"off with vamoh.fit(<same data and config>, checkpoint_dir=..., resume={last!r})."
        )
        best_path = getattr(checkpointer, "best_model_path", "")
        if best_path and best_path != last and Path(best_path).is_file():
            lines.append(f"{best_path} holds the best validated epoch.")
    elif checkpointer is not None:
        lines.append(
            f"no epoch completed, so {checkpointer.dirpath} holds no checkpoint to resume from."
        )
    else:
        lines.append(
            "No checkpoint_dir was given, so nothing was written; pass checkpoint_dir=... to be "
            "able to resume an interrupted run."
        )
    return " ".join(lines)


@contextlib.contextmanager
def _stop_signals(state: StopState, enabled: bool) -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into a stop request; a second SIGINT aborts at once."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: Any) -> None:
        state.signals += 1
        if state.reason is None:
            state.reason = _SIGNAL_NAMES.get(signal.Signals(signum), f"signal {signum}")
            again = " (press Ctrl-C again to abort at once)" if signum == signal.SIGINT else ""
            print(
                f"\nvamoh: {state.reason} received; training stops after the current step{again}.",
                file=sys.stderr,
                flush=True,
            )
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in _SIGNAL_NAMES}
    for s in _SIGNAL_NAMES:
        signal.signal(s, request_stop)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def stopping_cleanly(trainer: pl.Trainer, best: Any = None) -> Iterator[StopState]:
    """Run ``trainer.fit`` in the ``with`` block so that signals and failures end it cleanly.

    ``best`` is the :class:`~vamoh.training.BestWeights` callback (for the message). After the
    block, the returned :class:`StopState` says whether and why training stopped early.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite (names the last good
            checkpoint).
        CheckpointFolderError: writing a checkpoint failed for lack of space or permission.
        KeyboardInterrupt: a second Ctrl-C.

    Example:
        >>> import lightning.pytorch as pl
        >>> trainer = pl.Trainer(logger=False, enable_progress_bar=False,
        ...                      enable_model_summary=False)
        >>> with stopping_cleanly(trainer) as stop:
        ...     pass  # trainer.fit(...)
        >>> stop.reason is None
        True
    """
    state = StopState()
    callback = _StopAtStepBoundary(state)
    trainer.callbacks.append(callback)  # type: ignore[attr-defined]
    single_process = int(getattr(trainer, "world_size", 1)) == 1
    try:
        with _stop_signals(state, enabled=single_process):
            try:
                yield state
            except (_StopRequested, SIGTERMException):
                state.reason = state.reason or "SIGTERM"
            except SystemExit as exc:
                if state.signals >= 2:  # Lightning turns the second Ctrl-C into sys.exit(1)
                    raise KeyboardInterrupt from exc
                raise
            except FloatingPointError as exc:
                last = _last_good(trainer)
                where = (
                    f"The last good checkpoint is {last}: resume from it with a lower lr "
                    f"(vamoh.fit(..., resume={last!r}, config={{'lr': ...}}))."
                    if last
                    else "No checkpoint was written (pass checkpoint_dir=... to keep one per "
                    "epoch); train again with a lower lr."
                )
                raise TrainingDivergedError(f"{exc} {where}") from exc
            except OSError as exc:
                if exc.errno not in _STORAGE_ERRNOS:
                    raise
                checkpointer = _checkpointer(trainer)
                folder = getattr(checkpointer, "dirpath", None) or "the checkpoint folder"
                last = _last_good(trainer)
                raise CheckpointFolderError(
                    f"writing a checkpoint to {folder} failed: {exc.strerror or exc} "
                    f"({errno.errorcode.get(exc.errno or 0, exc.errno)}). "
                    + (f"The last complete checkpoint is {last}. " if last else "")
                    + "Free some space (or fix the folder's permissions) and resume, or choose "
                    "another checkpoint_dir."
                ) from exc
    finally:
        with contextlib.suppress(ValueError):
            trainer.callbacks.remove(callback)  # type: ignore[attr-defined]
    if state.reason is not None:
        warnings.warn(_kept_message(trainer, state, best), TrainingInterrupted, stacklevel=4)
