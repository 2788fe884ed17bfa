"""Training progress in any log: plain timed lines where Lightning's bar draws nothing useful.

Lightning's bar redraws one terminal line; written to a file, a pipe, a batch job's log or a
notebook it shows nothing readable, and a slow fit looks like a hung one. :class:`PlainProgress`
prints instead, on the first process only and flushed at once:

- a first line when training starts (samples per step, steps per epoch, what ends the run),
- a line after the first step, then every ``every_seconds`` (30) or ``every_steps`` (when set),
  whichever comes first: step (of the total when a bound is known), epoch, the metrics of the
  progress bar (training loss, the latest ``val_loss`` and ``val_rmse``), time elapsed and an
  estimate of the time left,
- a line during a validation that runs longer than ``every_seconds``,
- a last line saying why training ended (time budget, max steps, early stopping, max epochs).

The estimate takes the tightest known bound: ``max_steps``, ``max_epochs`` x steps per epoch, or
the time left of Lightning's ``max_time`` (its ``Timer`` callback). :func:`progress_settings`
picks the display for ``vamoh.fit``: the bar in a terminal, these lines elsewhere.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

import lightning.pytorch as pl

from vamoh.progress import format_duration, plain_lines_wanted

__all__ = ["PlainProgress", "progress_settings"]


def _metrics_text(trainer: pl.Trainer) -> str:
    """The progress bar's metrics (``train_loss``, ``val_loss``, ``val_rmse``...), train first."""
    metrics = {k: v for k, v in trainer.progress_bar_metrics.items() if k != "v_num"}
    ordered = sorted(metrics, key=lambda k: (not k.startswith("train"), k))
    return " ".join(f"{k} {float(metrics[k]):.4g}" for k in ordered)


class PlainProgress(pl.Callback):
    """Prints training progress as plain, flushed lines (see the module docstring).

    Args:
        every_seconds: a line at least this often while training runs.
        every_steps: also a line every this many optimizer steps (``None``: time only).
        stream: where lines go (default: standard output at the time of each line).

    Example:
        >>> import io, numpy as np, vamoh
        >>> from vamoh.toy import ToyModality
        >>> from vamoh.training_progress import PlainProgress
        >>> log = io.StringIO()
        >>> data = np.sin(np.linspace(0, 3, 24))[None, :] * np.ones((8, 1))
        >>> with vamoh.plugins.registered(ToyModality.plugin()):
        ...     model = vamoh.fit(data, modality="toy", max_epochs=2, report=False,
        ...                       progress=False,  # vamoh's own lines off; this callback prints
        ...                       config={"batch_size": 4, "conditioning": "global"},
        ...                       trainer={"callbacks": [PlainProgress(stream=log)]})
        >>> lines = log.getvalue().splitlines()
        >>> lines[1].split(" | ")[:2]
        ['vamoh fit: step 1/4', 'epoch 1/2']
        >>> lines[-1].split(" | ")[0].replace("1s", "0s")
        'vamoh fit: finished at step 4, epoch 2/2, after 0s: max epochs reached (2)'
    """

    def __init__(
        self,
        every_seconds: float = 30.0,
        every_steps: int | None = None,
        stream: TextIO | None = None,
    ) -> None:
        if every_seconds <= 0 and not every_steps:
            raise ValueError("PlainProgress needs every_seconds > 0 or every_steps >= 1.")
        self.every_seconds = every_seconds
        self.every_steps = every_steps
        self.stream = stream
        self._start = 0.0
        self._start_step = 0
        self._last_time = 0.0
        self._last_step = 0
        self._epoch = 0  # the epoch running (1-based), for the last line

    # -- what is known about the run ----------------------------------------------------------
    @staticmethod
    def _steps_per_epoch(trainer: pl.Trainer) -> int | None:
        batches = trainer.num_training_batches
        if not isinstance(batches, int) or batches <= 0:
            return None
        return math.ceil(batches / max(1, trainer.accumulate_grad_batches))

    def _total_steps(self, trainer: pl.Trainer) -> int | None:
        bounds = []
        if trainer.max_steps is not None and trainer.max_steps > 0:
            bounds.append(trainer.max_steps)
        per_epoch = self._steps_per_epoch(trainer)
        if trainer.max_epochs is not None and trainer.max_epochs > 0 and per_epoch:
            bounds.append(trainer.max_epochs * per_epoch)
        return min(bounds) if bounds else None

    @staticmethod
    def _timer(trainer: pl.Trainer) -> pl.callbacks.Timer | None:
        timers = [c for c in trainer.callbacks if isinstance(c, pl.callbacks.Timer)]
        if timers and timers[0].time_remaining() is not None:
            return timers[0]
        return None

    def _eta(self, trainer: pl.Trainer, elapsed: float) -> float | None:
        estimates = []
        total = self._total_steps(trainer)
        done = trainer.global_step - self._start_step
        if total is not None and done > 0:
            estimates.append(elapsed / done * max(0, total - trainer.global_step))
        timer = self._timer(trainer)
        if timer is not None:
            estimates.append(max(0.0, float(timer.time_remaining())))
        return min(estimates) if estimates else None

    def _epoch_text(self, trainer: pl.Trainer, epoch: int) -> str:
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            return f"epoch {epoch}/{trainer.max_epochs}"
        return f"epoch {epoch}"

    def _limits_text(self, trainer: pl.Trainer) -> str:
        limits = []
        per_epoch = self._steps_per_epoch(trainer)
        if trainer.max_steps is not None and trainer.max_steps > 0:
            limits.append(f"{trainer.max_steps} steps")
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            per = f" x {per_epoch} steps" if per_epoch else ""
            limits.append(f"{trainer.max_epochs} epochs{per}")
        timer = self._timer(trainer)
        if timer is not None:
            budget = timer.time_elapsed() + float(timer.time_remaining())
            limits.append(f"a time limit of {format_duration(budget)}")
        for stopper in self._early_stoppers(trainer):
            limits.append(f"early stopping on {stopper.monitor} (patience {stopper.patience})")
        return "stops at " + ", ".join(limits) if limits else "no stopping rule"

    @staticmethod
    def _early_stoppers(trainer: pl.Trainer) -> list[pl.callbacks.EarlyStopping]:
        return [c for c in trainer.callbacks if isinstance(c, pl.callbacks.EarlyStopping)]

    def _why_ended(self, trainer: pl.Trainer) -> str:
        timer = self._timer(trainer)
        if timer is not None and float(timer.time_remaining()) <= 0:
            budget = timer.time_elapsed() + float(timer.time_remaining())
            return f"time limit reached ({format_duration(budget)})"
        if trainer.max_steps is not None and 0 < trainer.max_steps <= trainer.global_step:
            return f"max steps reached ({trainer.max_steps})"
        for stopper in self._early_stoppers(trainer):
            if stopper.stopped_epoch > 0:
                message = getattr(stopper, "stopping_reason_message", None) or ""
                # Lightning's message ends with an instruction to the trainer, not to the user
                message = message.replace("Signaling Trainer to stop.", "").strip().rstrip(".")
                detail = message or f"{stopper.monitor} stopped improving"
                return f"early stopping: {detail}"
        if trainer.max_epochs is not None and 0 < trainer.max_epochs <= trainer.current_epoch:
            return f"max epochs reached ({trainer.max_epochs})"
        return "stopped by a callback"

    # -- printing -----------------------------------------------------------------------------
    def _print(self, trainer: pl.Trainer, text: str) -> None:
        if trainer.is_global_zero:
            out = sys.stdout if self.stream is None else self.stream
            print(f"vamoh fit: {text}", file=out, flush=True)

    def _progress_line(self, trainer: pl.Trainer) -> None:
        now = time.monotonic()
        elapsed = now - self._start
        total = self._total_steps(trainer)
        step = f"step {trainer.global_step}" + (f"/{total}" if total is not None else "")
        parts = [step, self._epoch_text(trainer, trainer.current_epoch + 1)]
        metrics = _metrics_text(trainer)
        if metrics:
            parts.append(metrics)
        parts.append(f"{format_duration(elapsed)} elapsed")
        eta = self._eta(trainer, elapsed)
        parts.append(f"eta {format_duration(eta)}" if eta is not None else "eta ?")
        self._print(trainer, " | ".join(parts))
        self._last_time = now
        self._last_step = trainer.global_step

    # -- Lightning hooks ----------------------------------------------------------------------
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last_time = time.monotonic()
        self._start_step = self._last_step = trainer.global_step
        per_epoch = self._steps_per_epoch(trainer)
        where = trainer.strategy.root_device.type
        processes = trainer.world_size
        parts = [
            f"training on {processes} {where} process{'es' if processes > 1 else ''}",
            f"{per_epoch} steps per epoch" if per_epoch else "steps per epoch unknown",
            self._limits_text(trainer),
        ]
        if trainer.global_step:
            parts.insert(0, f"resumed at step {trainer.global_step}")
        self._print(trainer, " | ".join(parts))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch = trainer.current_epoch + 1

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        step = trainer.global_step
        if step == self._last_step:  # gradient accumulation: no optimizer step yet
            return
        first = self._last_step == self._start_step
        by_steps = bool(self.every_steps) and step - self._last_step >= self.every_steps
        by_time = time.monotonic() - self._last_time >= self.every_seconds
        if first or by_steps or by_time:
            self._progress_line(trainer)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        # a long validation would otherwise leave the log silent until the next training step
        now = time.monotonic()
        if trainer.sanity_checking or now - self._last_time < self.every_seconds:
            return
        batches = trainer.num_val_batches[dataloader_idx] if trainer.num_val_batches else None
        of = f"/{batches}" if isinstance(batches, int) else ""
        elapsed = format_duration(now - self._start)
        self._print(trainer, f"validating: batch {batch_idx + 1}{of} | {elapsed} elapsed")
        self._last_time = now

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        elapsed = format_duration(time.monotonic() - self._start)
        epoch = self._epoch_text(trainer, self._epoch)
        metrics = _metrics_text(trainer)
        self._print(
            trainer,
            f"finished at step {trainer.global_step}, {epoch}, after {elapsed}: "
            f"{self._why_ended(trainer)}" + (f" | {metrics}" if metrics else ""),
        )

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        elapsed = format_duration(time.monotonic() - self._start)
        # a bare exception (KeyboardInterrupt, a stop request) says what it is in its docstring
        doc = (type(exception).__doc__ or "").strip().splitlines()
        detail = str(exception) or (doc[0] if doc else "")
        self._print(
            trainer,
            f"stopped at step {trainer.global_step} after {elapsed} by "
            f"{type(exception).__name__}" + (f": {detail}" if detail else ""),
        )


def progress_settings(settings: dict[str, Any], progress: bool) -> dict[str, Any]:
    """Lightning ``Trainer`` settings with vamoh's progress display chosen.

    With ``progress``, a terminal keeps Lightning's bar; anywhere else (a file, a pipe, a batch
    job, a notebook) a :class:`PlainProgress` replaces it. A progress callback the caller passed
    in ``settings["callbacks"]`` is kept as it is (a ``PlainProgress`` then replaces the bar).
    Without ``progress`` the settings are returned unchanged.

    Example:
        >>> import io, contextlib
        >>> with contextlib.redirect_stdout(io.StringIO()):  # not a terminal
        ...     chosen = progress_settings({"enable_progress_bar": True, "callbacks": []}, True)
        >>> chosen["enable_progress_bar"], [type(c).__name__ for c in chosen["callbacks"]]
        (False, ['PlainProgress'])
    """
    if not progress:
        return settings
    callbacks = list(settings.get("callbacks") or [])
    bar = any(isinstance(c, pl.callbacks.ProgressBar) for c in callbacks)
    plain = any(isinstance(c, PlainProgress) for c in callbacks)
    if bar or not settings.get("enable_progress_bar", True):
        return settings
    if not plain and plain_lines_wanted():
        callbacks.append(PlainProgress())
        plain = True
    if plain:
        return {**settings, "enable_progress_bar": False, "callbacks": callbacks}
    return settings
