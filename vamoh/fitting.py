"""``vamoh.fit``: from training fields to a :class:`~vamoh.api.Model`.

A fit with the default ``conditioning="backbone"``:

1. checks the data and the budget, splits off the last ``val_fraction`` of the samples;
2. plans the network and the stopping rule for the machine (:mod:`vamoh.compute_plan`);
3. fits the Gaussian backbone on the training samples (:mod:`vamoh.backbone`): its mean,
   covariance and hyper-parameters (cross-validated, seconds);
4. builds task pools and trains the backbone head (:mod:`vamoh.layers.ablation`);
5. trains the VaMoH network on the backbone's residuals with Lightning, within the budget;
6. decides, on the validation fields, which learned layers stay on (2% rule) and calibrates the
   predictive std per task kind;
7. scores the model against the modality's baselines (``model.report``) and re-estimates the
   backbone's prior on every usable sample.

With another ``conditioning`` the network alone answers (the paper's model and earlier options).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vamoh import likelihoods
from vamoh.budget import Budget
from vamoh.compute_plan import plan
from vamoh.config import VaMoHConfig
from vamoh.detection import detect_modality
from vamoh.modality import Modality
from vamoh.model import VaMoH
from vamoh.neighbours import typical_spacing
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet
from vamoh.progress import still_working
from vamoh.training_files import check_training_files
from vamoh.validation import training_samples

__all__ = ["fit"]

# enough held-out samples for stable scores, few enough to take seconds and bounded memory:
# 16 on grids of up to 4096 points, fewer on larger ones (conditioning costs grow with the
# square of the points), at least 2
_REPORT_SAMPLES = 16
_REPORT_POINTS = 4096
_CALIBRATION_SAMPLES = 8
_SHORT_REPORT_SAMPLES = 8  # fits with the quick backbone search (short budgets) score fewer
# share of a time budget kept for what follows training (ablation, calibration, report)
_AFTER_TRAINING = 0.15
_MIN_TRAINING_SECONDS = 5.0


def _build_config(
    modality: Modality, points: PointSet, config: VaMoHConfig | dict | None, max_epochs: int | None
) -> tuple[VaMoHConfig, set[str]]:
    cfg = VaMoHConfig(likelihood=modality.likelihood)
    cfg = cfg.replace(**modality.default_config(points))
    chosen: set[str] = set()
    if isinstance(config, VaMoHConfig):
        cfg = config
        chosen = {f.name for f in dataclass_fields(config)}
    elif config:
        cfg = cfg.replace(**config)
        chosen = set(config)
    if max_epochs is not None:
        cfg = cfg.replace(max_epochs=int(max_epochs))
        chosen.add("max_epochs")
    cfg.validate()
    likelihoods.get(cfg.likelihood)
    return cfg, chosen


def _precision_from_trainer(
    trainer: dict[str, Any] | None, cfg: VaMoHConfig
) -> tuple[dict[str, Any] | None, VaMoHConfig]:
    """Lightning's ``precision`` setting, mapped onto ``config.precision``.

    Lightning's own autocast would also cover the likelihood and the ELBO, which vamoh keeps in
    float32; the model applies bfloat16 where it pays (encoder, generators) instead.
    """
    if not trainer or "precision" not in trainer:
        return trainer, cfg
    requested = str(trainer["precision"])
    rest = {k: v for k, v in trainer.items() if k != "precision"}
    if requested.startswith("bf16"):
        return rest, cfg.replace(precision="bf16-mixed")
    if requested in ("32", "32-true"):
        return rest, cfg
    raise ValueError(
        f"trainer precision {requested!r} is not supported (vamoh has no float16 loss "
        f"scaling). Use config={{'precision': 'bf16-mixed'}} (GPUs and CPUs with bfloat16 "
        f"support) or the default float32."
    )


def _say(progress: bool, line: str) -> None:
    if progress and line:
        print(line, flush=True)


def fit(
    data: Any,
    *,
    variables: list[str] | None = None,
    sample_dim: str | list[str] | None = None,
    modality: str | Modality | None = None,
    config: VaMoHConfig | dict | None = None,
    max_epochs: int | None = None,
    budget: Any = None,
    covariates: Any = None,
    val_fraction: float = 0.1,
    trainer: dict[str, Any] | None = None,
    resume: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    report: bool = True,
) -> Any:
    """Train a VaMoH model on ``data`` (xarray, or whatever an installed modality accepts).

    Args:
        data: the training fields; the modality is detected unless ``modality`` names one.
        variables: which data variables to model (default: all the modality finds).
        sample_dim: the dimension(s) that index samples (time, member, shape, image...).
        modality: a modality name or object, skipping detection.
        config: a :class:`~vamoh.config.VaMoHConfig`, or a dict of fields overriding the
            modality's defaults (and the compute plan's choices).
        max_epochs: shorthand for ``config={"max_epochs": ...}``.
        budget: how long the fit may take: a time (``"10min"``, ``"90s"``, ``"2h"``, a
            ``timedelta``) or a number of optimiser steps (``500``, ``"500 steps"``). The
            default suits the machine: 5 minutes on a CPU, the configuration's epochs on a GPU.
            Training stops cleanly at the budget with the best validated weights.
        covariates: static covariates known at every point (elevation, a land-sea mask, any
            static field): what the modality accepts (see
            :meth:`~vamoh.modality.Modality.with_covariates`; the climate plugin takes station
            coordinates such as ``"elev"``, built-ins such as ``"land_sea_mask"`` and
            DataArrays on a lat/lon grid, and uses a station ``elev`` coordinate by default).
            Every prediction then needs them at its points too (new stations, finer grids).
        val_fraction: share of samples held out (the last ones, as a block: for time series a
            block is the honest split) to choose the learned layers and calibrate the std, for
            early stopping and for the validation report. 0 trains on everything.
        trainer: keyword arguments for ``lightning.Trainer`` (they win over vamoh's choices);
            the default uses a GPU when one is present. ``{"strategy": "ddp", "devices": n}``
            trains data-parallel (each process reads its own share of the samples).
            ``{"precision": "bf16-mixed"}`` becomes ``config.precision`` (float16 is refused).
        resume: a Lightning checkpoint (``last.ckpt`` in ``checkpoint_dir``) to continue from.
        checkpoint_dir: where Lightning writes ``last.ckpt`` (for ``resume``) and the best
            epoch; by default nothing is written and the best weights are kept in memory.
        progress: say what the fit chose, show training progress (Lightning's bar in a
            terminal, plain timed lines with an ETA in a log, a pipe or a notebook) and print
            the validation report.
        report: after training, score the model against the modality's classical baselines on
            the validation samples (:meth:`~vamoh.modality.Modality.validation_report`), so you
            see at once whether it adds value on your data; stored in ``model.report``.

    Example:
        >>> import numpy as np, vamoh
        >>> from vamoh.toy import ToyModality
        >>> ps_data = np.sin(np.linspace(0, 3, 32))[None, :, None] * np.ones((8, 1, 1))
        >>> with vamoh.plugins.registered(ToyModality.plugin()):
        ...     model = vamoh.fit(ps_data, modality="toy", max_epochs=1, progress=False,
        ...                       config={"batch_size": 4})
        >>> model.modality.name
        'toy'
    """
    started = time.perf_counter()
    parsed_budget = Budget.parse(budget)  # a bad budget is refused before any work
    mod = detect_modality(data, modality)
    if covariates is not None:
        mod = mod.with_covariates(covariates)
    points = mod.to_points(data, variables=variables, sample_dim=sample_dim)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}.")
    usable = np.flatnonzero(training_samples(points))  # refuses inf, empty and non-numeric data
    dropped = points.n_samples - len(usable)
    if len(usable) == 0:
        raise ValueError("every sample is entirely NaN: there is nothing to train on.")
    if dropped:
        warnings.warn(
            f"{dropped} of {points.n_samples} samples are entirely NaN and are left out of training.",
            UserWarning,
            stacklevel=2,
        )
    n_val = math.ceil(len(usable) * val_fraction) if val_fraction > 0 and len(usable) > 1 else 0
    train_idx, val_idx = usable[: len(usable) - n_val], usable[len(usable) - n_val :]
    train_values = _train_values(points, train_idx)
    # the modality's fitted state (e.g. a climatology) sees the training samples only; subset
    # first so their sample features (which cycles the data cover) are part of the state
    state = mod.state(points.subset(train_idx).with_values(train_values))
    mod = mod.with_state(state)
    cfg, chosen = _build_config(mod, points, config, max_epochs)
    trainer, cfg = _precision_from_trainer(trainer, cfg)
    planned = plan(
        cfg, chosen, points.n_points, points.dim, points.n_channels, parsed_budget, trainer
    )
    cfg, budget_ = planned.config, planned.budget
    _say(progress, planned.line)
    if cfg.encoder_centroids[0] > points.n_points:
        raise ValueError(
            f"the encoder's first layer wants {cfg.encoder_centroids[0]} centroids but a sample "
            f"has only {points.n_points} points; pass config={{'encoder_centroids': [...]}} with "
            f"smaller numbers."
        )
    normaliser = Normaliser.fit(mod.normalisation, train_values)
    first = normaliser.forward(points.samples(train_idx[: min(4, len(train_idx))]))
    problem = likelihoods.get(cfg.likelihood).support_error(first[np.isfinite(first)])
    if problem:
        raise ValueError(
            f"the data do not fit likelihood {cfg.likelihood!r}: {problem}. Choose another "
            f"likelihood with config={{'likelihood': ...}}."
        )
    torch.manual_seed(cfg.seed)
    network = VaMoH(cfg, points.dim, points.n_channels, length_scale=typical_spacing(points.coords))
    layers = None
    if cfg.conditioning == "backbone":
        from vamoh.layers.stack import LayerStack

        with still_working("vamoh fit: backbone and head", enabled=progress):
            layers = LayerStack.prepare(
                points,
                mod,
                normaliser,
                cfg,
                train_idx,
                val_idx,
                progress,
                budget_seconds=budget_.seconds if budget_ is not None else None,
            )
        datamodule = layers.datamodule(points, cfg)
    else:
        from vamoh.training import PointSetDataModule

        datamodule = PointSetDataModule(points, normaliser, cfg, mod, train_idx, val_idx)
    clock = time.perf_counter()
    trained = _train(
        network,
        cfg,
        normaliser,
        datamodule,
        mod,
        bool(n_val),
        budget_,
        started,
        trainer,
        resume,
        checkpoint_dir,
        progress,
    )
    seconds = {"training": time.perf_counter() - clock}
    info = {
        **trained.info,
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "checkpoint_dir": str(checkpoint_dir) if checkpoint_dir is not None else None,
        "budget": budget_.describe() if budget_ is not None else None,
        "plan": planned.line,
    }
    from vamoh.api import Model, format_report

    clock = time.perf_counter()
    with still_working("vamoh fit: measuring the learned layers", enabled=progress):
        predictor = layers.finish(trained.network, cfg) if layers is not None else None
    seconds["ablation"] = time.perf_counter() - clock
    if layers is not None:
        from vamoh.layers.ablation import describe_layers

        info["layers"] = layers.summary()
        info["backbone"] = layers.backbone_summary()
        _say(progress, describe_layers(layers.decisions))
    model = Model(trained.network, mod, normaliser, points, state, info, predictor=predictor)
    n_shown = _report_samples(points.n_points)
    if cfg.backbone_search == "quick":  # a short fit: a shorter report too
        n_shown = min(n_shown, _SHORT_REPORT_SAMPLES)
    shown = val_idx[:n_shown]
    if n_val and predictor is None:
        with still_working("vamoh fit: calibrating the std", enabled=progress):
            shown_for_std = min(_CALIBRATION_SAMPLES, _report_samples(points.n_points))
            model.calibrate(points.subset(np.asarray(val_idx[:shown_for_std])))
    clock = time.perf_counter()
    if report and n_val and not trained.info.get("interrupted"):
        train_points = points.with_values(train_values)
        val_points = points.subset(np.asarray(shown))
        with still_working("vamoh fit: validation report", enabled=progress):
            model.info["report"] = mod.validation_report(model, train_points, val_points)
        _say(progress, format_report(model.info["report"], len(shown)))
    seconds["report"] = time.perf_counter() - clock
    if layers is not None:
        # the final prior learns from every usable sample, validation ones included
        with still_working("vamoh fit: re-estimating the prior", enabled=progress):
            layers.refit(points, normaliser, usable, cfg.seed)
        seconds.update(layers.seconds)
    model.info["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    model.info["seconds"]["total"] = round(time.perf_counter() - started, 1)
    return model


def _report_samples(n_points: int) -> int:
    """Validation samples the report scores.

    Example:
        >>> _report_samples(1536), _report_samples(8192), _report_samples(721 * 1440)
        (16, 4, 2)
    """
    ratio = _REPORT_POINTS / max(n_points, 1)
    return int(np.clip(round(_REPORT_SAMPLES * ratio**2), 2, _REPORT_SAMPLES))


def _train_values(points: PointSet, train_idx: np.ndarray) -> Any:
    values = points.values
    if len(train_idx) == points.n_samples:
        return values
    if len(train_idx) and train_idx[-1] - train_idx[0] == len(train_idx) - 1:
        # a slice keeps a lazy store's chunks; an index array makes dask merge them into one
        return values[int(train_idx[0]) : int(train_idx[-1]) + 1]
    return values[np.asarray(train_idx)]


class _Trained:
    def __init__(self, network: VaMoH, info: dict[str, Any]) -> None:
        self.network = network
        self.info = info


def _train(
    network: VaMoH,
    cfg: VaMoHConfig,
    normaliser: Normaliser,
    datamodule: Any,
    mod: Modality,
    validates: bool,
    budget: Budget | None,
    started: float,
    trainer: dict[str, Any] | None,
    resume: str | Path | None,
    checkpoint_dir: str | Path | None,
    progress: bool,
) -> _Trained:
    """Lightning training of the network within the budget; the best validated weights."""
    import lightning.pytorch as pl

    from vamoh import plugins
    from vamoh.interrupts import stopping_cleanly
    from vamoh.training import BestWeights, VaMoHSystem
    from vamoh.training_progress import progress_settings

    system = VaMoHSystem(network, cfg, normaliser)
    check_training_files(checkpoint_dir, resume, system, keeps_best=validates)  # before training
    best_weights = BestWeights("val_loss") if validates else None
    callbacks: list[Any] = [best_weights] if best_weights else []
    if checkpoint_dir is not None:
        # files for resuming (last.ckpt) and the best epoch; without a folder nothing is written
        callbacks.append(
            pl.callbacks.ModelCheckpoint(
                dirpath=Path(checkpoint_dir),
                monitor="val_loss" if validates else None,
                save_top_k=1,
                save_last=True,
                filename="best",
            )
        )
    if cfg.early_stopping_patience and validates:
        callbacks.append(
            pl.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.early_stopping_patience)
        )
    callbacks.extend(plugins.callbacks(mod, cfg))
    settings: dict[str, Any] = {
        "max_epochs": cfg.max_epochs,
        "accelerator": "auto",
        "devices": 1,
        "logger": False,
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "use_distributed_sampler": False,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
        "enable_checkpointing": checkpoint_dir is not None,
    }
    if budget is not None and budget.steps is not None:
        settings["max_steps"] = budget.steps
    if budget is not None and budget.seconds is not None:
        # the backbone and the head have used part of it; what follows training needs a share
        left = budget.seconds * (1 - _AFTER_TRAINING) - (time.perf_counter() - started)
        settings["max_time"] = {"seconds": max(_MIN_TRAINING_SECONDS, left)}
    settings.update(plugins.trainer_settings(mod, cfg))
    settings.update(trainer or {})
    # the caller's callbacks join vamoh's instead of replacing them
    settings["callbacks"] = [*callbacks, *settings.get("callbacks", [])]
    settings = progress_settings(settings, progress)  # plain lines where no bar draws
    if any(isinstance(c, pl.callbacks.ModelCheckpoint) for c in settings["callbacks"]):
        settings["enable_checkpointing"] = True
    if settings.get("strategy") in ("ddp", "ddp_spawn"):
        # warm-up phases leave the flow and the categorical prior unused for a while
        settings["strategy"] = f"{settings['strategy']}_find_unused_parameters_true"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
        pl_trainer = pl.Trainer(**settings)
        with stopping_cleanly(pl_trainer, best_weights) as stop:  # Ctrl-C/SIGTERM, NaN loss
            pl_trainer.fit(system, datamodule=datamodule, ckpt_path=str(resume) if resume else None)
    metrics = {k: float(v) for k, v in pl_trainer.callback_metrics.items() if v.numel() == 1}
    if best_weights is not None and best_weights.state is not None:
        system.load_state_dict(best_weights.state)
    return _Trained(
        system.model.cpu().eval(),
        {
            "epochs": int(pl_trainer.current_epoch),
            "steps": int(pl_trainer.global_step),
            "metrics": metrics,
            "best_val_loss": best_weights.score if best_weights is not None else None,
            "interrupted": stop.reason,
        },
    )
