"""The user-facing API: ``vamoh.fit(data)`` returns a :class:`Model`; ``vamoh.load(path)``.

Everything here speaks xarray: inputs are converted by the data's modality into point sets, the
engine predicts in normalised units, and results go back through the modality with the input's
coordinates, attributes and units.
"""

from __future__ import annotations

import importlib.metadata as md
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vamoh import likelihoods
from vamoh.checkpoint import read_checkpoint, write_checkpoint
from vamoh.config import VaMoHConfig
from vamoh.detection import detect_modality
from vamoh.memory import large_blocks_returned
from vamoh.modality import Modality
from vamoh.model import PointBatch, VaMoH, entropy
from vamoh.neighbours import typical_spacing
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet
from vamoh.training_files import check_training_files
from vamoh.validation import check_same_points, model_points, training_samples

__all__ = ["Model", "fit", "format_report", "load"]


def _build_config(
    modality: Modality, points: PointSet, config: VaMoHConfig | dict | None, max_epochs: int | None
) -> VaMoHConfig:
    cfg = VaMoHConfig(likelihood=modality.likelihood)
    cfg = cfg.replace(**modality.default_config(points))
    if isinstance(config, VaMoHConfig):
        cfg = config
    elif config:
        cfg = cfg.replace(**config)
    if max_epochs is not None:
        cfg = cfg.replace(max_epochs=int(max_epochs))
    cfg.validate()
    likelihoods.get(cfg.likelihood)
    return cfg


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


def fit(
    data: Any,
    *,
    variables: list[str] | None = None,
    sample_dim: str | list[str] | None = None,
    modality: str | Modality | None = None,
    config: VaMoHConfig | dict | None = None,
    max_epochs: int | None = None,
    val_fraction: float = 0.1,
    trainer: dict[str, Any] | None = None,
    resume: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    report: bool = True,
) -> Model:
    """Train a VaMoH model on ``data`` (xarray, or whatever an installed modality accepts).

    Args:
        data: the training fields; the modality is detected unless ``modality`` names one.
        variables: which data variables to model (default: all the modality finds).
        sample_dim: the dimension(s) that index samples (time, member, shape, image...).
        modality: a modality name or object, skipping detection.
        config: a :class:`~vamoh.config.VaMoHConfig`, or a dict of fields overriding the
            modality's defaults.
        max_epochs: shorthand for ``config={"max_epochs": ...}``.
        val_fraction: share of samples held out (the last ones, as a block: for time series a
            block is the honest split) for validation ELBO and gap-filling RMSE each epoch, early
            stopping and choosing the best weights. 0 trains on everything.
        trainer: keyword arguments for ``lightning.Trainer`` (they win over vamoh's choices);
            the default uses a GPU when one is present. ``{"strategy": "ddp", "devices": n}``
            trains data-parallel (each process reads its own share of the samples).
            ``{"precision": "bf16-mixed"}`` becomes ``config.precision`` (float16 is refused).
        resume: a Lightning checkpoint (``last.ckpt`` in ``checkpoint_dir``) to continue from.
        checkpoint_dir: where Lightning writes ``last.ckpt`` (for ``resume``) and the best
            epoch; by default nothing is written and the best weights are kept in memory.
        progress: show training progress (and print the validation report): Lightning's bar
            in a terminal, plain timed lines with an ETA in a log, a pipe or a notebook
            (:class:`~vamoh.training_progress.PlainProgress`; pass your own in
            ``trainer={"callbacks": [...]}`` to change how often it prints).
        report: after training, score the model against the modality's classical baseline on
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
    import lightning.pytorch as pl

    from vamoh import plugins
    from vamoh.interrupts import stopping_cleanly
    from vamoh.training import BestWeights, PointSetDataModule, VaMoHSystem
    from vamoh.training_progress import progress_settings

    mod = detect_modality(data, modality)
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
    values = points.values
    if len(train_idx) == points.n_samples:
        train_values = values
    elif len(train_idx) and train_idx[-1] - train_idx[0] == len(train_idx) - 1:
        # a slice keeps a lazy store's chunks; an index array makes dask merge them into one
        train_values = values[int(train_idx[0]) : int(train_idx[-1]) + 1]
    else:
        train_values = values[np.asarray(train_idx)]
    # the modality's fitted state (e.g. a climatology) sees the training samples only
    state = mod.state(points.with_values(train_values))
    mod = mod.with_state(state)
    cfg = _build_config(mod, points, config, max_epochs)
    trainer, cfg = _precision_from_trainer(trainer, cfg)
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
    spacing = typical_spacing(points.coords)
    network = VaMoH(cfg, points.dim, points.n_channels, length_scale=spacing)
    system = VaMoHSystem(network, cfg, normaliser)
    check_training_files(checkpoint_dir, resume, system, keeps_best=bool(n_val))  # before training
    datamodule = PointSetDataModule(points, normaliser, cfg, mod, train_idx, val_idx)
    best_weights = BestWeights("val_loss") if n_val else None
    callbacks: list[Any] = [best_weights] if best_weights else []
    if checkpoint_dir is not None:
        # files for resuming (last.ckpt) and the best epoch; without a folder nothing is written
        callbacks.append(
            pl.callbacks.ModelCheckpoint(
                dirpath=Path(checkpoint_dir),
                monitor="val_loss" if n_val else None,
                save_top_k=1,
                save_last=True,
                filename="best",
            )
        )
    if cfg.early_stopping_patience and n_val:
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
    network = system.model.cpu().eval()
    info = {
        "epochs": int(pl_trainer.current_epoch),
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "metrics": metrics,
        "checkpoint_dir": str(checkpoint_dir) if checkpoint_dir is not None else None,
        "best_val_loss": best_weights.score if best_weights is not None else None,
        "interrupted": stop.reason,
    }
    model = Model(network, mod, normaliser, points, state, info)
    if n_val:
        shown = val_idx[:_REPORT_SAMPLES]
        val_points = points.with_values(values[np.asarray(shown)])
        model.calibrate(points.with_values(values[np.asarray(val_idx[:_CALIBRATION_SAMPLES])]))
    if report and n_val and not stop.reason:
        train_points = points.with_values(train_values)
        model.info["report"] = mod.validation_report(model, train_points, val_points)
        if progress:
            print(format_report(model.info["report"], len(shown)))
    return model


# enough held-out samples for stable scores, few enough to take seconds and bounded memory
_REPORT_SAMPLES = 16
_CALIBRATION_SAMPLES = 8


def format_report(report: dict[str, dict[str, float]], n_samples: int | None = None) -> str:
    """The validation report as a small text table (RMSE per task and method; best marked).

    Example:
        >>> print(format_report({"gap filling 50%": {"vamoh": 0.3, "interpolation": 0.4}}))
        validation RMSE (data units)
          gap filling 50%      vamoh 0.3 *   interpolation 0.4
    """
    where = f" on {n_samples} held-out samples" if n_samples else ""
    lines = [f"validation RMSE (data units){where}"]
    for task, scores in report.items():
        best = min(scores.values()) if scores else None
        cells = [
            f"{name} {value:.4g}{' *' if value == best else ''}" for name, value in scores.items()
        ]
        lines.append(f"  {task:<20} " + "   ".join(cells))
    return "\n".join(lines)


def _plugin_identity(modality: Modality) -> dict[str, str]:
    from vamoh import plugins

    owner = plugins.owner("modalities", modality.name) or ""
    package, version = "", ""
    for row in plugins.installed_plugins():
        if row["name"] == owner:
            package, version = row["package"], row["version"]
    return {"plugin": owner, "package": package, "version": version}


class Model:
    """A trained VaMoH model bound to its modality: xarray in, xarray out.

    Every method accepts what the modality accepts (e.g. a Dataset with NaN gaps), never modifies
    it, and returns a new ``xarray.Dataset`` with the input's coordinates, attributes and units.
    """

    def __init__(
        self,
        network: VaMoH,
        modality: Modality,
        normaliser: Normaliser,
        points: PointSet,
        state: dict[str, Any],
        info: dict[str, Any] | None = None,
    ) -> None:
        self.network = network.eval()
        self.modality = modality
        self.normaliser = normaliser
        self.channels = tuple(points.channels)
        self.units = tuple(points.units)
        self.state = state
        self.info = info or {}
        self.n_samples = 8  # latent draws for predictive mean and std
        self.seed = 0  # latent draws are seeded: the same call gives the same answer
        # multiplies every predictive std; set by calibrate() on held-out samples after fit
        self.std_scale = float(self.info.get("std_scale", 1.0))
        self.batch_size = 16  # samples per forward pass at inference

    @property
    def report(self) -> dict[str, dict[str, float]]:
        """Validation RMSE of this model next to the modality's baseline (see :func:`fit`)."""
        return self.info.get("report", {})

    @property
    def config(self) -> VaMoHConfig:
        return self.network.config

    def __repr__(self) -> str:
        return (
            f"<vamoh.Model modality={self.modality.name!r} channels={list(self.channels)} "
            f"K={self.config.n_components} dim_z={self.config.dim_z}>"
        )

    # -- conversions ------------------------------------------------------------------------
    def _points(self, data: Any) -> PointSet:
        points = model_points(self.modality, data, list(self.channels))
        if tuple(points.channels) != self.channels:
            raise ValueError(
                f"the model was trained on {list(self.channels)} but the data give "
                f"{list(points.channels)}; pass data with the same variables."
            )
        if points.dim != self.network.dim:
            raise ValueError(
                f"the data have {points.dim}-D model coordinates but the model expects "
                f"{self.network.dim}-D: is this data of the modality {self.modality.name!r}?"
            )
        return points

    def _batches(self, n: int):
        for start in range(0, n, self.batch_size):
            yield np.arange(start, min(n, start + self.batch_size))

    def _predict(
        self, observed: PointSet, query: np.ndarray, n_samples: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, std (data units) ``(S, M, C)`` and component probabilities ``(S, M, K)``."""
        n_samples = self.n_samples if n_samples is None else n_samples
        device = next(self.network.parameters()).device
        query_t = torch.as_tensor(np.asarray(query, dtype=np.float32), device=device)
        ctx_x = torch.as_tensor(observed.coords, device=device)
        means, stds, probs = [], [], []
        # per-batch temporaries go back to the OS when freed: without this the peak after a
        # prediction wandered by +-150 MiB from run to run (a fragmented heap)
        with large_blocks_returned():
            for idx in self._batches(observed.n_samples):
                values = self.normaliser.forward(observed.samples(idx)).astype(np.float32)
                valid = np.isfinite(values)
                if not valid.any(axis=(1, 2)).all():
                    raise ValueError(
                        "a sample has no observed value; the model needs at least one point to "
                        "condition on (use model.sample for unconditional fields)."
                    )
                base = None
                if self.network.uses_base:
                    base = self.normaliser.baseline(self.modality, observed, values, query)
                    base = torch.as_tensor(base, device=device)
                b, m = len(idx), query.shape[0]
                batch = PointBatch(
                    ctx_x=ctx_x,
                    ctx_y=torch.as_tensor(np.nan_to_num(values), device=device),
                    ctx_valid=torch.as_tensor(valid, device=device),
                    tgt_x=query_t,
                    tgt_y=torch.zeros(b, m, values.shape[2], device=device),
                    tgt_valid=torch.zeros(b, m, values.shape[2], dtype=torch.bool, device=device),
                    tgt_scale=torch.ones(b, device=device),
                    base=base,
                )
                generator = torch.Generator(device=device).manual_seed(self.seed + int(idx[0]))
                pred = self.network.predict(batch, n_samples=n_samples, generator=generator)
                means.append(self.normaliser.inverse(pred.mean.cpu().numpy()))
                stds.append(self.normaliser.inverse_std(pred.std.cpu().numpy()) * self.std_scale)
                probs.append(pred.probs.cpu().numpy())
        return np.concatenate(means), np.concatenate(stds), np.concatenate(probs)

    def _with_std(self, points: PointSet, mean: np.ndarray, std: np.ndarray) -> Any:
        channels = (*self.channels, *(f"{c}_std" for c in self.channels))
        out = PointSet(
            coords=points.coords,
            values=np.concatenate([mean, std], axis=-1),
            channels=channels,
            units=(*self.units, *self.units),
            layout=points.layout,
            weights=points.weights,
        )
        return self.modality.from_points(out)

    # -- calibration ------------------------------------------------------------------------
    def calibrate(self, points: PointSet, hidden_fraction: float = 0.5, seed: int = 0) -> float:
        """Scale the predictive std so 90% intervals cover 90% of held-out points.

        Hides ``hidden_fraction`` of each sample's points, predicts them, and sets
        :attr:`std_scale` to the 90th percentile of ``|error| / std`` divided by 1.645 (the
        Gaussian's). ``vamoh.fit`` calls it on the validation samples; a short training run
        otherwise leaves intervals too wide or too narrow. Returns the factor.
        """
        truth = np.asarray(points.samples(slice(None), dtype=np.float64))
        rng = np.random.default_rng(seed)
        hidden = np.isfinite(truth) & (rng.random(truth.shape[:2]) < hidden_fraction)[..., None]
        observed = np.where(hidden, np.nan, truth)
        usable = np.isfinite(observed).any(axis=(1, 2)) & hidden.any(axis=(1, 2))
        if not usable.any():
            return self.std_scale
        self.std_scale = 1.0
        mean, std, _ = self._predict(points.with_values(observed[usable]), points.coords)
        z = np.abs(truth[usable] - mean)[hidden[usable]] / np.maximum(std[hidden[usable]], 1e-12)
        self.std_scale = float(np.quantile(z, 0.9) / 1.6448536269514722)
        self.info["std_scale"] = self.std_scale
        return self.std_scale

    # -- operations -------------------------------------------------------------------------
    def reconstruct(self, data: Any) -> Any:
        """Encode each sample's observed points and decode at the same points (mean + ``_std``)."""
        points = self._points(data)
        mean, std, _ = self._predict(points, points.coords)
        return self._with_std(points, mean, std)

    def impute(self, data: Any) -> Any:
        """Fill NaN gaps; observed values are kept (their ``_std`` is 0)."""
        points = self._points(data)
        mean, std, _ = self._predict(points, points.coords)
        observed = points.samples(slice(None), dtype=np.float64)
        keep = np.isfinite(observed)
        return self._with_std(points, np.where(keep, observed, mean), np.where(keep, 0.0, std))

    def predict(self, data: Any, *, at: Any) -> Any:
        """Condition on ``data``'s observations and evaluate at ``at``'s points.

        ``at`` is data of the same modality and variables (values may be all NaN) whose samples
        line up with ``data``'s: e.g. a finer grid, or a station network.
        """
        observed = self._points(data)
        query = self._points(at)
        if query.n_samples != observed.n_samples:
            raise ValueError(
                f"`at` has {query.n_samples} samples but the data have {observed.n_samples}; "
                f"they must line up one to one."
            )
        mean, std, _ = self._predict(observed, query.coords)
        return self._with_std(query, mean, std)

    def super_resolve(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        """Predict on a finer version of ``data``'s grid (``factor``) or on the grid ``to``."""
        if (factor is None) == (to is None):
            raise ValueError("pass exactly one of factor=k or to=target.")
        template = self.modality.refine(data, factor=factor, to=to)
        return self.predict(data, at=template)

    downscale = super_resolve

    def sample(self, n: int, *, like: Any, seed: int | None = None) -> Any:
        """``n`` unconditional fields from the prior, on ``like``'s points (new ``sample`` dim)."""
        points = self._points(like)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        z = self.network.sample_prior(n, generator)
        device = next(self.network.parameters()).device
        c = self.network.channels
        batch = PointBatch(
            ctx_x=torch.as_tensor(points.coords, device=device),
            ctx_y=torch.zeros(n, points.n_points, c, device=device),
            ctx_valid=torch.zeros(n, points.n_points, c, dtype=torch.bool, device=device),
            tgt_x=torch.as_tensor(points.coords, device=device),
            tgt_y=torch.zeros(n, points.n_points, c, device=device),
            tgt_valid=torch.zeros(n, points.n_points, c, dtype=torch.bool, device=device),
            tgt_scale=torch.ones(n, device=device),
            base=self._unconditional_base(points, n, device) if self.network.uses_base else None,
        )
        pred = self.network.predict(batch, z=z[None].to(device))
        mean = self.normaliser.inverse(pred.mean.cpu().numpy())
        std = self.normaliser.inverse_std(pred.std.cpu().numpy())
        return self._with_std(points, mean, std)

    def _unconditional_base(self, points: PointSet, n: int, device: Any) -> torch.Tensor:
        """The hybrid baseline with nothing observed (e.g. a climatology), normalised."""
        empty = np.full((1, points.n_points, len(self.channels)), np.nan)
        base = self.normaliser.baseline(self.modality, points, empty, points.coords)
        return torch.as_tensor(np.broadcast_to(base, (n, *base.shape[1:])).copy(), device=device)

    def segment(self, data: Any) -> Any:
        """MAP mixture component and its entropy (nats) per point (paper Fig. 10)."""
        points = self._points(data)
        device = next(self.network.parameters()).device
        comps, ents = [], []
        coords = torch.as_tensor(points.coords, device=device)
        for idx in self._batches(points.n_samples):
            values = self.normaliser.forward(points.samples(idx)).astype(np.float32)
            valid = np.isfinite(values)
            y = torch.as_tensor(np.nan_to_num(values), device=device)
            v = torch.as_tensor(valid, device=device)
            base = None
            if self.network.uses_base:
                base = self.normaliser.baseline(self.modality, points, values, points.coords)
                base = torch.as_tensor(base, device=device)
            batch = PointBatch(coords, y, v, coords, y, v, torch.ones(len(idx)), base)
            probs = self.network.posterior_components(batch)
            comps.append(probs.argmax(-1).cpu().numpy())
            ents.append(entropy(probs).cpu().numpy())
        out = PointSet(
            coords=points.coords,
            values=np.stack([np.concatenate(comps), np.concatenate(ents)], axis=-1).astype(
                np.float64
            ),
            channels=("component", "entropy"),
            units=(None, None),
            layout=points.layout,
            weights=points.weights,
        )
        return self.modality.from_points(out)

    def evaluate(self, data: Any, *, mask: Any = None) -> dict[str, float]:
        """Hide ``mask`` (True = hidden and scored; default: score a reconstruction of all points).

        Returns RMSE and MAE in the data's units (weighted by the modality's point weights, e.g.
        cos latitude), CRPS of the Gaussian predictive and the 90% interval coverage, pooled over
        channels and scored points.
        """
        points = self._points(data)
        truth = points.samples(slice(None), dtype=np.float64)
        if mask is None:
            hidden = np.isfinite(truth)
            observed = points
        else:
            mask_points = self._points(mask)
            check_same_points(points, mask_points, "the mask")
            hidden_pts = np.asarray(mask_points.samples(slice(None))) != 0
            hidden = hidden_pts & np.isfinite(truth)
            observed = points.with_values(np.where(hidden, np.nan, truth))
        mean, std, _ = self._predict(observed, points.coords)
        from vamoh.metrics import point_metrics

        return point_metrics(truth, mean, std, hidden, points.weights)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write one ``.vamoh`` file (weights, config, normalisation, plugin name and version)."""
        payload = {
            "vamoh_version": md.version("vamoh"),
            "state_dict": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "config": self.config.to_dict(),
            "dim": self.network.dim,
            "channels": list(self.channels),
            "units": [u if u is not None else "" for u in self.units],
            "length_scale": float(self.network.local.length_scale) if self.network.local else 1.0,
            "normaliser": self.normaliser.to_dict(),
            "modality": self.modality.name,
            "modality_state": self.state,
            "plugin": _plugin_identity(self.modality),
            "info": {k: v for k, v in self.info.items() if k != "metrics"},
        }
        return write_checkpoint(path, payload, overwrite=overwrite)


def load(path: str | Path) -> Model:
    """Load a model written by :meth:`Model.save` (``torch.load(weights_only=True)``).

    The modality that trained it must be installed; an error names the plugin to install.
    """
    from vamoh import plugins

    payload = read_checkpoint(path)
    name = payload["modality"]
    installed = plugins.modalities()
    if name not in installed:
        plugin = payload.get("plugin", {})
        raise ValueError(
            f"{path} was trained with modality {name!r} (package "
            f"{plugin.get('package') or 'unknown'} {plugin.get('version', '')}), which is not "
            f"installed here; installed: {sorted(installed)}."
        )
    modality = installed[name].with_state(payload.get("modality_state", {}))
    cfg = VaMoHConfig.from_dict(payload["config"])
    channels = list(payload["channels"])
    network = VaMoH(cfg, payload["dim"], len(channels), length_scale=payload["length_scale"])
    try:
        network.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"{path}: the weights do not match the stored config ({exc}).") from exc
    units = tuple(u or None for u in payload["units"])
    points = PointSet(
        coords=np.zeros((1, payload["dim"]), np.float32),
        values=np.zeros((0, 1, len(channels))),
        channels=tuple(channels),
        units=units,
    )
    normaliser = Normaliser.from_dict(payload["normaliser"])
    return Model(
        network,
        modality,
        normaliser,
        points,
        payload.get("modality_state", {}),
        payload.get("info", {}),
    )
