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
from vamoh.neighbours import knn
from vamoh.nn.heads import BackboneHead
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
    on: dict[str, bool] = field(default_factory=dict)

    def expert(self, observed: PointSet, query: np.ndarray) -> Expert:
        """The backbone's experts at ``query`` given ``observed`` (normalised values)."""
        prior = self.backbone.prior
        values = np.asarray(observed.values, dtype=np.float64)
        obs, kind = self.backbone.observations(observed, values)
        features = observed.sample_features
        query = np.asarray(query, dtype=np.float64)
        b, m = values.shape[0], query.shape[0]
        if kind == "means":
            post = condition(prior, obs, query, prior.settings["means"], features)
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
            condition(prior, obs, query, prior.settings[s], features)
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

    @torch.no_grad()
    def predict(self, observed: PointSet, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``(B, M, C)`` (normalised units) at ``query``."""
        if self.head is None or not self.on.get("head", False):
            obs, kind = self.backbone.observations(
                observed, np.asarray(observed.values, dtype=np.float64)
            )
            prior = self.backbone.prior
            post = condition(prior, obs, query, prior.settings[kind], observed.sample_features)
            return post.mean, post.std
        ex = self.expert(observed, query)
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
