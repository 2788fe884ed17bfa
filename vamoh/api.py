"""The user-facing API: ``vamoh.fit(data)`` returns a :class:`Model`; ``vamoh.load(path)``.

Everything here speaks xarray: inputs are converted by the data's modality into point sets, the
engine predicts in normalised units, and results go back through the modality with the input's
coordinates, attributes and units.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as md
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vamoh.checkpoint import read_checkpoint, write_checkpoint
from vamoh.config import VaMoHConfig
from vamoh.layers.conditional import ConditionalPredictor
from vamoh.memory import large_blocks_returned
from vamoh.modality import Modality
from vamoh.model import PointBatch, VaMoH, entropy
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet
from vamoh.progress import progress_report
from vamoh.validation import check_same_points, model_points

__all__ = ["Model", "format_report", "load"]


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
        predictor: ConditionalPredictor | None = None,
    ) -> None:
        self.network = network.eval()
        # the Gaussian backbone and the learned layers that answer conditional calls
        # (conditioning="backbone"); None: the network alone answers
        self.predictor = predictor
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
        self, observed: PointSet, at: PointSet, n_samples: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and std (data units) ``(S, M, C)`` at ``at``'s points."""
        n_samples = self.n_samples if n_samples is None else n_samples
        query = np.asarray(at.coords, dtype=np.float64)
        means, stds = [], []
        # per-batch temporaries go back to the OS when freed: without this the peak after a
        # prediction wandered by +-150 MiB from run to run (a fragmented heap)
        with large_blocks_returned(), progress_report(observed.n_samples, what="predicting") as bar:
            for idx in self._batches(observed.n_samples):
                values = self.normaliser.forward(observed.samples(idx)).astype(np.float32)
                if not np.isfinite(values).any(axis=(1, 2)).all():
                    raise ValueError(
                        "a sample has no observed value; the model needs at least one point to "
                        "condition on (use model.sample for unconditional fields)."
                    )
                generator = torch.Generator().manual_seed(self.seed + int(idx[0]))
                if self.predictor is not None:
                    batch = observed.subset(idx).with_values(values.astype(np.float64))
                    mean, std = self.predictor.predict(
                        batch, query, n_samples, generator, covariates=at.covariates
                    )
                else:
                    mean, std = self._network_predict(observed, values, query, n_samples, idx)
                    std = std * self.std_scale
                means.append(self.normaliser.inverse(mean))
                stds.append(self.normaliser.inverse_std(std))
                bar.advance(len(idx))
        return np.concatenate(means), np.concatenate(stds)

    def _network_predict(
        self, observed: PointSet, values: np.ndarray, query: np.ndarray, n_samples: int, idx
    ) -> tuple[np.ndarray, np.ndarray]:
        """The network alone (conditioning other than ``"backbone"``), normalised units."""
        device = next(self.network.parameters()).device
        valid = np.isfinite(values)
        base = None
        if self.network.uses_base:
            base = self.normaliser.baseline(self.modality, observed, values, query)
            base = torch.as_tensor(base, device=device)
        b, m = len(idx), query.shape[0]
        batch = PointBatch(
            ctx_x=torch.as_tensor(observed.coords, device=device),
            ctx_y=torch.as_tensor(np.nan_to_num(values), device=device),
            ctx_valid=torch.as_tensor(valid, device=device),
            tgt_x=torch.as_tensor(query.astype(np.float32), device=device),
            tgt_y=torch.zeros(b, m, values.shape[2], device=device),
            tgt_valid=torch.zeros(b, m, values.shape[2], dtype=torch.bool, device=device),
            tgt_scale=torch.ones(b, device=device),
            base=base,
        )
        generator = torch.Generator(device=device).manual_seed(self.seed + int(idx[0]))
        pred = self.network.predict(batch, n_samples=n_samples, generator=generator)
        return pred.mean.cpu().numpy(), pred.std.cpu().numpy()

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

    def backbone_only(self) -> Model | None:
        """This model with every learned layer off: the Gaussian backbone's posterior alone
        (optimal interpolation with the learned covariance), uncalibrated; ``None`` for a model
        without a backbone (``conditioning`` other than ``"backbone"``).

        Reports and benchmarks score it beside the model, to show what the learned layers add.

        Example:
            >>> import numpy as np, vamoh
            >>> from vamoh.toy import ToyModality
            >>> data = np.sin(np.linspace(0, 3, 32) + np.linspace(0, 2, 24)[:, None])
            >>> with vamoh.plugins.registered(ToyModality.plugin()):
            ...     model = vamoh.fit(data, modality="toy", max_epochs=1, progress=False)
            >>> model.backbone_only().predictor.on
            {'head': False, 'residual': False}
        """
        if self.predictor is None:
            return None
        import copy

        plain = copy.copy(self)
        plain.predictor = dataclasses.replace(
            self.predictor, on={"head": False, "residual": False}, std_scale={}
        )
        return plain

    # -- calibration ------------------------------------------------------------------------
    def calibrate(self, points: PointSet, hidden_fraction: float = 0.5, seed: int = 0) -> float:
        """Scale the predictive std so 90% intervals cover 90% of held-out points.

        Hides ``hidden_fraction`` of each sample's points, predicts them, and sets the scale
        to the 90th percentile of ``|error| / std`` divided by 1.645 (the Gaussian's): the
        point-task scale of a backbone model (``model.predictor.std_scale["points"]``), else
        :attr:`std_scale`. ``vamoh.fit`` calibrates on the validation fields itself (per task
        kind for a backbone model); call this to recalibrate on data of your own. Returns the
        factor.
        """
        truth = np.asarray(points.samples(slice(None), dtype=np.float64))
        rng = np.random.default_rng(seed)
        hidden = np.isfinite(truth) & (rng.random(truth.shape[:2]) < hidden_fraction)[..., None]
        observed = np.where(hidden, np.nan, truth)
        usable = np.isfinite(observed).any(axis=(1, 2)) & hidden.any(axis=(1, 2))
        scales = self.predictor.std_scale if self.predictor is not None else None
        if not usable.any():
            return scales.get("points", 1.0) if scales is not None else self.std_scale
        if scales is not None:
            scales["points"] = 1.0
        else:
            self.std_scale = 1.0
        mean, std = self._predict(points.with_values(observed[usable]), points)
        z = np.abs(truth[usable] - mean)[hidden[usable]] / np.maximum(std[hidden[usable]], 1e-12)
        factor = float(np.quantile(z, 0.9) / 1.6448536269514722)
        if scales is not None:
            scales["points"] = factor  # point tasks; coarse means keep their own scale
        else:
            self.std_scale = factor
            self.info["std_scale"] = factor
        return factor

    # -- operations -------------------------------------------------------------------------
    def reconstruct(self, data: Any) -> Any:
        """Encode each sample's observed points and decode at the same points (mean + ``_std``)."""
        points = self._points(data)
        mean, std = self._predict(points, points)
        return self._with_std(points, mean, std)

    def impute(self, data: Any) -> Any:
        """Fill NaN gaps; observed values are kept (their ``_std`` is 0)."""
        points = self._points(data)
        mean, std = self._predict(points, points)
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
        mean, std = self._predict(observed, query)
        return self._with_std(query, mean, std)

    def super_resolve(self, data: Any, *, factor: int | None = None, to: Any = None) -> Any:
        """Predict on a finer version of ``data``'s grid (``factor``) or on the grid ``to``."""
        if (factor is None) == (to is None):
            raise ValueError("pass exactly one of factor=k or to=target.")
        template = self.modality.refine(data, factor=factor, to=to)
        return self.predict(data, at=template)

    downscale = super_resolve

    def sample(self, n: int, *, like: Any, seed: int | None = None) -> Any:
        """``n`` unconditional fields from the prior, on ``like``'s points (new ``sample`` dim).

        A backbone model draws from its Gaussian prior (at any resolution) and adds the VaMoH
        network's residual decoded from latents of its flow prior; other models decode latents
        alone (the paper's model).
        """
        points = self._points(like)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        z = self.network.sample_prior(n, generator)
        device = next(self.network.parameters()).device
        c = self.network.channels
        m = points.n_points
        base = base_scale = features = None
        if self.predictor is not None:
            base_np, scale_np, features_np = self._prior_draws(points, n, seed)
            base = torch.as_tensor(base_np, dtype=torch.float32, device=device)
            base_scale = torch.as_tensor(scale_np, dtype=torch.float32, device=device)
            features = torch.as_tensor(features_np, device=device)
        elif self.network.uses_base:
            base = self._unconditional_base(points, n, device)
        batch = PointBatch(
            ctx_x=torch.as_tensor(points.coords, device=device),
            ctx_y=torch.zeros(n, m, c, device=device),
            ctx_valid=torch.zeros(n, m, c, dtype=torch.bool, device=device),
            tgt_x=torch.as_tensor(points.coords, device=device),
            tgt_y=torch.zeros(n, m, c, device=device),
            tgt_valid=torch.zeros(n, m, c, dtype=torch.bool, device=device),
            tgt_scale=torch.ones(n, device=device),
            base=base,
            base_scale=base_scale,
            features=features,
        )
        pred = self.network.predict(batch, z=z[None].to(device))
        mean = self.normaliser.inverse(pred.mean.cpu().numpy())
        std = self.normaliser.inverse_std(pred.std.cpu().numpy())
        return self._with_std(points, mean, std)

    def _prior_draws(
        self, points: PointSet, n: int, seed: int | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backbone prior draws (normalised), the prior std and the residual's features there."""
        from vamoh.layers.residual_training import backbone_features

        prior = self.predictor.backbone.prior
        hyper = prior.settings["points"]
        draws = prior.draw(points.coords, n, hyper, points.sample_features, seed=seed)
        draws = np.nan_to_num(draws)
        std = np.broadcast_to(prior.std_at(points.coords, hyper), draws.shape).copy()
        mean = prior.at(points.coords).mean_for(None, n)
        far = np.full(draws.shape[:2], np.log1p(1e3))  # nothing observed anywhere
        features = backbone_features(std, std[0], far, draws - mean)
        return draws, std, features

    def _unconditional_base(self, points: PointSet, n: int, device: Any) -> torch.Tensor:
        """The hybrid baseline with nothing observed (e.g. a climatology), normalised."""
        empty = np.full((1, points.n_points, len(self.channels)), np.nan)
        base = self.normaliser.baseline(self.modality, points, empty, points.coords)
        return torch.as_tensor(np.broadcast_to(base, (n, *base.shape[1:])).copy(), device=device)

    def segment(self, data: Any) -> Any:
        """MAP mixture component and its entropy (nats) per point (paper Fig. 10).

        For a backbone model the components are those of the VaMoH residual: which
        hypergenerator explains what the Gaussian backbone leaves at each point.
        """
        points = self._points(data)
        device = next(self.network.parameters()).device
        comps, ents = [], []
        coords = torch.as_tensor(points.coords, device=device)
        for idx in self._batches(points.n_samples):
            values = self.normaliser.forward(points.samples(idx)).astype(np.float32)
            valid = np.isfinite(values)
            y = torch.as_tensor(np.nan_to_num(values), device=device)
            v = torch.as_tensor(valid, device=device)
            base = base_scale = features = None
            if self.predictor is not None:
                base, base_scale, features = self._residual_inputs(points, idx, values, device)
            elif self.network.uses_base:
                base = self.normaliser.baseline(self.modality, points, values, points.coords)
                base = torch.as_tensor(base, device=device)
            batch = PointBatch(
                coords, y, v, coords, y, v, torch.ones(len(idx)), base, base_scale, features
            )
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

    def _residual_inputs(self, points: PointSet, idx: np.ndarray, values: np.ndarray, device):
        """The residual network's base, scale and features for fields observed everywhere."""
        from vamoh.layers.residual_training import backbone_features

        predictor = self.predictor
        batch = points.subset(idx).with_values(values.astype(np.float64))
        ex = predictor.expert(batch, points.coords)
        mean, std = predictor._head(ex)
        features = backbone_features(std, ex.prior_std, ex.distance, mean - ex.prior_mean)
        return (
            torch.as_tensor(np.nan_to_num(mean), dtype=torch.float32, device=device),
            torch.as_tensor(
                np.nan_to_num(std, nan=1.0), dtype=torch.float32, device=device
            ).clamp_min(1e-4),
            torch.as_tensor(features, device=device),
        )

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
        mean, std = self._predict(observed, points)
        from vamoh.metrics import point_metrics

        return point_metrics(truth, mean, std, hidden, points.weights)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write one ``.vamoh`` file (weights, config, normalisation, the backbone and its layers,
        plugin name and version)."""
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
            "predictor": self.predictor.to_state() if self.predictor is not None else None,
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
    predictor = None
    if payload.get("predictor") is not None:
        predictor = ConditionalPredictor.from_state(payload["predictor"], modality, network)
    return Model(
        network,
        modality,
        normaliser,
        points,
        payload.get("modality_state", {}),
        payload.get("info", {}),
        predictor=predictor,
    )


def __getattr__(name: str) -> Any:
    # vamoh.api.fit stays importable: fit lives in vamoh.fitting, which imports this module
    if name == "fit":
        from vamoh.fitting import fit

        return fit
    raise AttributeError(f"module 'vamoh.api' has no attribute {name!r}")
