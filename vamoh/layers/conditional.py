"""How a conditional prediction is made: the Gaussian backbone, then the learned layers on top.

:class:`ConditionalPredictor` turns observations (normalised values of a batch of samples) into a
predictive mean and std at query points:

1. the backbone conditions exactly on the task's observations (points or coarse means);
2. where the backbone head is on (:mod:`vamoh.nn.heads`), point tasks are answered by a learned
   per-point mixture of the backbone's two experts (scattered-gap and hole settings), and every
   task's std by the head's calibrated std;
3. where the VaMoH residual is on, the network adds what the Gaussian leaves
   (:class:`vamoh.model.VaMoH` with ``conditioning="backbone"``).

Which layers are on is decided at fit time by held-out ablations (``Model.info["layers"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vamoh.backbone.backbone import GaussianBackbone
from vamoh.backbone.posterior import condition
from vamoh.model import PointBatch, VaMoH
from vamoh.neighbours import knn
from vamoh.nn.heads import BackboneHead, no_narrower
from vamoh.pointset import PointSet

__all__ = ["LAYERS", "ConditionalPredictor", "Expert"]

# the learned layers, in the order they stack on the backbone
LAYERS = ("head", "residual")


@dataclass
class Expert:
    """The backbone's inputs to the learned layers at the query points (normalised units)."""

    experts: np.ndarray  # (B, M, C, 2, 2): (scattered, hole) x (mean, std)
    default: np.ndarray  # (B, M, C, 2): the backbone's own setting (mean, std)
    prior_std: np.ndarray  # (M, C)
    prior_mean: np.ndarray  # (B, M, C)
    distance: np.ndarray  # (B, M) log1p(distance to the nearest observation / spacing)
    means: bool  # coarse-means task


@dataclass
class ConditionalPredictor:
    """The backbone and the learned layers that are switched on.

    Example:
        >>> import numpy as np
        >>> from vamoh.modality import Modality
        >>> from vamoh.normalisation import Normaliser
        >>> from vamoh.backbone.backbone import GaussianBackbone
        >>> x = np.linspace(0, 1, 24)[:, None].astype(np.float32)
        >>> rng = np.random.default_rng(0)
        >>> fields = np.sin(6 * x.T + rng.uniform(0, 6, (40, 1)))[..., None]
        >>> points = PointSet(x, fields, ("v",), (None,))
        >>> norm = Normaliser.fit("standard", fields)
        >>> bb = GaussianBackbone.fit(points, Modality(), norm, np.arange(32))
        >>> gappy = norm.forward(fields[32:33]).copy(); gappy[:, 8:16] = np.nan
        >>> mean, std = ConditionalPredictor(bb).predict(points.with_values(gappy), x)
        >>> mean.shape, bool((std[0, 8:16] > 0).all())
        ((1, 24, 1), True)
    """

    backbone: GaussianBackbone
    head: BackboneHead | None = None
    network: VaMoH | None = None
    on: dict[str, bool] = field(default_factory=dict)
    # per task kind ("points", "means"): the factor that calibrates the std on held-out fields
    std_scale: dict[str, float] = field(default_factory=dict)

    def expert(
        self, observed: PointSet, query: np.ndarray, covariates: np.ndarray | None = None
    ) -> Expert:
        """The backbone's experts at ``query`` given ``observed`` (normalised values);
        ``covariates`` at the query points where the prior uses them."""
        prior = self.backbone.prior
        values = np.asarray(observed.values, dtype=np.float64)
        obs, kind = self.backbone.observations(observed, values)
        features = observed.sample_features
        query = np.asarray(query, dtype=np.float64)
        b, m = values.shape[0], query.shape[0]
        if kind == "means":
            post = condition(
                prior, obs, query, prior.settings["means"], features, query_covariates=covariates
            )
            pair = np.stack([post.mean, post.std], -1)
            return Expert(
                experts=np.stack([pair, pair], -2),
                default=pair,
                prior_std=post.prior_std,
                prior_mean=post.prior_mean,
                distance=np.zeros((b, m)),
                means=True,
            )
        posts = [
            condition(prior, obs, query, prior.settings[s], features, query_covariates=covariates)
            for s in ("scattered", "hole", "points")
        ]
        seen = np.isfinite(values).any(-1)  # (B, N): a point with any channel observed
        distance = np.zeros((b, m))
        usable = seen.any(1)
        if usable.any():
            _, dist = knn(np.asarray(observed.coords), query, 1, ref_mask=seen[usable])
            distance[usable] = np.log1p(dist[..., 0] / prior.spacing)
        pairs = [np.stack([p.mean, p.std], -1) for p in posts]
        return Expert(
            experts=np.stack(pairs[:2], -2),
            default=pairs[2],
            prior_std=posts[0].prior_std,
            prior_mean=posts[0].prior_mean,
            distance=distance,
            means=False,
        )

    def context(self, observed: PointSet) -> tuple[np.ndarray, np.ndarray]:
        """The residual network's context: the observed points and values, with coarse means
        spread over the support points of their cells (as the training pools show them)."""
        values = np.asarray(observed.values, dtype=np.float64)
        obs, _kind = self.backbone.observations(observed, values)
        if obs.footprints is None:
            return np.asarray(observed.coords), values
        member = obs.footprints.weights.tocsc()
        cell = np.asarray(member.argmax(axis=0)).ravel()  # the cell of each support point
        return obs.footprints.support, values[:, cell]

    @torch.no_grad()
    def predict(
        self,
        observed: PointSet,
        query: np.ndarray,
        n_samples: int = 8,
        generator: torch.Generator | None = None,
        covariates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(B, M, C)`` (normalised units) at ``query`` (``n_samples`` latent
        draws of the residual network when it is on; ``covariates`` at the query points)."""
        query = np.asarray(query, dtype=np.float64)
        values = np.asarray(observed.values, dtype=np.float64)
        _, kind = self.backbone.observations(observed, values)
        mean, std = self._layers(observed, query, n_samples, generator, covariates)
        return mean, std * self.std_scale.get(kind, 1.0)

    def _layers(self, observed, query, n_samples, generator, covariates=None):
        use_head = self.head is not None and self.on.get("head", False)
        use_residual = self.network is not None and self.on.get("residual", False)
        if not (use_head or use_residual):
            obs, kind = self.backbone.observations(
                observed, np.asarray(observed.values, dtype=np.float64)
            )
            prior = self.backbone.prior
            post = condition(
                prior,
                obs,
                query,
                prior.settings[kind],
                observed.sample_features,
                query_covariates=covariates,
            )
            return post.mean, post.std
        ex = self.expert(observed, query, covariates)
        mean, std = self._head(ex)
        if not use_residual:
            return mean, std
        return self._residual(observed, query, ex, mean, std, n_samples, generator)

    @torch.no_grad()
    def _head(self, ex: Expert) -> tuple[np.ndarray, np.ndarray]:
        experts = torch.as_tensor(ex.experts, dtype=torch.float32)  # (B, M, C, 2, 2)
        known = torch.isfinite(experts).all(-1).all(-1)
        mean, std = self.head(
            torch.nan_to_num(experts, nan=1.0),
            torch.as_tensor(ex.prior_std, dtype=torch.float32),
            torch.as_tensor(ex.distance, dtype=torch.float32)[..., None],
            torch.tensor(float(ex.means)),
            torch.as_tensor(ex.prior_mean, dtype=torch.float32),
        )
        mean = torch.where(known, mean, torch.nan).numpy().astype(np.float64)
        std = torch.where(known, std, torch.nan).numpy().astype(np.float64)
        return mean, std

    def _residual(self, observed, query, ex, mean, std, n_samples, generator):
        from vamoh.layers.residual_training import backbone_features

        ctx_x, ctx_y = self.context(observed)
        b, m, c = mean.shape
        features = backbone_features(std, ex.prior_std, ex.distance, mean - ex.prior_mean)
        known = np.isfinite(mean)
        device = next(self.network.parameters()).device
        batch = PointBatch(
            ctx_x=torch.as_tensor(np.asarray(ctx_x, np.float32), device=device),
            ctx_y=torch.as_tensor(np.nan_to_num(ctx_y), dtype=torch.float32, device=device),
            ctx_valid=torch.as_tensor(np.isfinite(ctx_y), device=device),
            tgt_x=torch.as_tensor(query.astype(np.float32), device=device),
            tgt_y=torch.zeros(b, m, c, device=device),
            tgt_valid=torch.zeros(b, m, c, dtype=torch.bool, device=device),
            tgt_scale=torch.ones(b, device=device),
            base=torch.as_tensor(np.nan_to_num(mean), dtype=torch.float32, device=device),
            base_scale=torch.as_tensor(
                np.nan_to_num(std, nan=1.0), dtype=torch.float32, device=device
            ).clamp_min(1e-4),
            features=torch.as_tensor(features, device=device),
        )
        pred = self.network.predict(batch, n_samples=n_samples, generator=generator)
        out_mean = pred.mean.cpu().numpy().astype(np.float64)
        out_std = no_narrower(pred.std, batch.base_scale).cpu().numpy().astype(np.float64)
        return np.where(known, out_mean, np.nan), np.where(known, out_std, np.nan)

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "backbone": self.backbone.to_state(),
            "head": None if self.head is None else self.head.state_dict(),
            "on": dict(self.on),
            "std_scale": dict(self.std_scale),
        }

    @classmethod
    def from_state(cls, state: dict, modality, network: VaMoH | None) -> ConditionalPredictor:
        head = None
        if state.get("head") is not None:
            head = BackboneHead()
            head.load_state_dict(state["head"])
            head.eval()
        return cls(
            backbone=GaussianBackbone.from_state(state["backbone"], modality),
            head=head,
            network=network,
            on=dict(state.get("on", {})),
            std_scale=dict(state.get("std_scale", {})),
        )
