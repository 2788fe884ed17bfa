"""The VaMoH model (Koyuncu et al., ICML 2023) as one nn.Module built from a VaMoHConfig.

Shapes: B samples, N context points, M query points, d coordinate dims, C channels, K components,
P likelihood parameters per channel, F = 2m Fourier features.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from vamoh.config import VaMoHConfig
from vamoh.likelihoods import get as get_likelihood
from vamoh.nn.encoder import PointConvEncoder
from vamoh.nn.fourier import FourierFeatures
from vamoh.nn.hypernet import HyperGenerators
from vamoh.nn.local import LocalPath
from vamoh.nn.mixture import CategoricalNet
from vamoh.nn.prior import PlanarFlowPrior

__all__ = ["BACKBONE_FEATURES", "PointBatch", "Prediction", "VaMoH"]

# per-point features of the backbone posterior the generators see in backbone conditioning:
# log(std / prior std), log1p(distance to the nearest observation / spacing), log1p(|anomaly|)
BACKBONE_FEATURES = 3


@dataclass
class PointBatch:
    """A training or inference batch: observed context points and query/target points.

    Coordinates are ``(N, d)`` when every sample shares them (grids), else ``(B, N, d)``.
    """

    ctx_x: torch.Tensor  # (N, d) | (B, N, d)
    ctx_y: torch.Tensor  # (B, N, C), anything where not valid
    ctx_valid: torch.Tensor  # (B, N, C) bool
    tgt_x: torch.Tensor  # (M, d) | (B, M, d)
    tgt_y: torch.Tensor  # (B, M, C)
    tgt_valid: torch.Tensor  # (B, M, C) bool: which target values are scored
    tgt_scale: torch.Tensor  # (B,) weight of the scored terms (N_valid / N_scored)
    base: torch.Tensor | None = None  # (B, M, C) hybrid/backbone baseline at the targets
    # backbone conditioning: the backbone's predictive std at the targets, which scales the
    # residual, and per-target features of the backbone posterior fed to the generators
    base_scale: torch.Tensor | None = None  # (B, M, C)
    features: torch.Tensor | None = None  # (B, M, F)

    @property
    def ctx_mask(self) -> torch.Tensor:
        return self.ctx_valid.any(dim=-1)

    def to(self, device: torch.device | str) -> PointBatch:
        moved = {
            f.name: (
                getattr(self, f.name).to(device) if getattr(self, f.name) is not None else None
            )
            for f in fields(self)
        }
        return PointBatch(**moved)


@dataclass
class Prediction:
    """Posterior-predictive summaries at query points (normalised units)."""

    mean: torch.Tensor  # (B, M, C)
    std: torch.Tensor  # (B, M, C)
    probs: torch.Tensor  # (B, M, K) component probabilities (averaged over latent draws)


class VaMoH(nn.Module):
    """Variational Mixture of HyperGenerators.

    Args:
        config: model sizes and options.
        dim: coordinate dimension d.
        channels: value channels C.
        length_scale: typical spacing of training points (for the local path).

    Example:
        >>> import torch
        >>> from vamoh.config import VaMoHConfig
        >>> cfg = VaMoHConfig(dim_z=4, n_components=2, fourier_features=8,
        ...     encoder_centroids=[8, 2], encoder_neighbours=[4, 2], encoder_channels=[8, 8],
        ...     encoder_weight_net=[4], hypernet_layers=[16], generator_layers=[8],
        ...     categorical_layers=[8], flow_layers=2)
        >>> model = VaMoH(cfg, dim=2, channels=1)
        >>> x = torch.rand(16, 2)
        >>> y = torch.randn(3, 16, 1)
        >>> v = torch.ones(3, 16, 1, dtype=torch.bool)
        >>> batch = PointBatch(x, y, v, x, y, v, torch.ones(3))
        >>> terms = model.elbo(batch)
        >>> sorted(terms)[:3]
        ['elbo', 'kl_c', 'kl_z']
    """

    def __init__(
        self, config: VaMoHConfig, dim: int, channels: int, length_scale: float = 1.0
    ) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.dim = dim
        self.channels = channels
        k = config.n_components
        self.fourier = FourierFeatures(
            dim, config.fourier_features, config.fourier_scale, config.seed
        )
        f = self.fourier.out_dim
        self.encoder = PointConvEncoder(
            dim=dim,
            channels=channels,
            dim_z=config.dim_z,
            centroids=config.encoder_centroids,
            neighbours=config.encoder_neighbours,
            out_channels=config.encoder_channels,
            weight_net=config.encoder_weight_net,
            pool_centroids=config.encoder_pool_centroids,
            pool_neighbours=config.encoder_pool_neighbours,
            centroid_method=config.centroid_method,
            readout=config.encoder_readout,
        )
        self.likelihood = get_likelihood(config.likelihood)(channels)
        self.uses_local = config.conditioning in ("local", "local+hybrid")
        self.uses_backbone = config.conditioning == "backbone"
        self.uses_base = config.conditioning in ("hybrid", "local+hybrid", "backbone")
        if self.uses_base and not self.likelihood.supports_residual:
            raise ValueError(
                f"conditioning={config.conditioning!r} models a residual, which likelihood "
                f"{config.likelihood!r} cannot; use likelihood='gaussian' or conditioning='local'."
            )
        extra = config.local_dim if self.uses_local else 0
        if self.uses_backbone:
            extra = BACKBONE_FEATURES
        self.local = (
            LocalPath(dim, channels, config.local_neighbours, config.local_dim, length_scale)
            if self.uses_local
            else None
        )
        self.params_per_channel = self.likelihood.params_per_channel
        self.generators = HyperGenerators(
            dim_z=config.dim_z,
            k=k,
            in_features=f,
            out_features=channels * self.params_per_channel,
            hypernet_layers=config.hypernet_layers,
            generator_layers=config.generator_layers,
            extra_features=extra,
            dropout=config.hypernet_dropout,
            output_scale=0.1 if self.uses_base else 1.0,
        )
        self.prior_c = CategoricalNet(f, config.dim_z, k, config.categorical_layers, 0, extra)
        self.posterior_c = CategoricalNet(
            f, config.dim_z, k, config.categorical_layers, 2 * channels, extra
        )
        self.flow = (
            PlanarFlowPrior(config.dim_z, config.flow_layers) if config.flow_layers else None
        )
        # typical size of the hybrid residual (target minus base) per channel, from the first
        # training batch (0 = unset); saved with the weights
        self.register_buffer("residual_scale", torch.zeros(channels))
        # training phases (saved with the weights): N(0, I) before the flow, uniform pi before c
        self.register_buffer("flow_active", torch.tensor(False))
        self.register_buffer(
            "categorical_active", torch.tensor(config.categorical_warmup_epochs <= 0)
        )

    # -- pieces ---------------------------------------------------------------------------------
    def _low_precision(self, device: torch.device) -> torch.autocast:
        """bfloat16 autocast for the heavy matmuls when ``config.precision`` asks for it."""
        return torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16-mixed"
        )

    def encode(self, batch: PointBatch) -> Normal:
        """q(z | context) as a Normal with batch shape ``(B, dim_z)``."""
        with self._low_precision(batch.ctx_y.device):
            mu, sigma = self.encoder(batch.ctx_x, batch.ctx_y, batch.ctx_mask, batch.ctx_valid)
        return Normal(mu.float(), sigma.float(), validate_args=False)

    def local_features(
        self, batch: PointBatch, query_x: torch.Tensor, rows: slice = slice(None)
    ) -> torch.Tensor | None:
        """Extra per-point features at the query points ``rows`` of the batch's targets: the
        backbone's (backbone conditioning) or the local path's."""
        if self.uses_backbone:
            return batch.features[:, rows] if batch.features is not None else None
        if self.local is None:
            return None
        return self.local(batch.ctx_x, batch.ctx_y, batch.ctx_mask, batch.ctx_valid, query_x)

    def decode(
        self,
        z: torch.Tensor,
        query_x: torch.Tensor,
        local: torch.Tensor | None = None,
        base: torch.Tensor | None = None,
        base_scale: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Component likelihood parameters, prior logits and phi at the query points.

        Returns:
            params ``(B, K, M, C, P)``, prior logits ``(B, M, K)``, phi ``(M, F)`` or ``(B, M, F)``.
        """
        phi = self.fourier(query_x)
        # in inference the hypernetworks stay in float32: with few samples they are bound by
        # reading their weights, and casting 39 M weights to bfloat16 costs more than it saves;
        # a training step's backward pass amortises the cast
        with self._low_precision(z.device) if torch.is_grad_enabled() else nullcontext():
            theta = self.generators(z).float()  # (B, K, P_gen)
        with self._low_precision(z.device):
            out = self.generators.generate(theta, phi, local).float()  # (B, K, M, C * P)
        params = out.unflatten(-1, (self.channels, self.params_per_channel))
        if base is not None and self.uses_base:
            if base_scale is not None:  # the backbone's std per point: standardised residuals
                scale = base_scale[:, None]
            else:
                scale = self.residual_scale if bool((self.residual_scale > 0).all()) else None
            params = self.likelihood.shift(params, base[:, None], scale)
        if bool(self.categorical_active):
            logits = self.prior_c(phi, z, None, local)
        else:
            logits = z.new_zeros(z.shape[0], query_x.shape[-2], self.config.n_components)
        return params, logits, phi

    def kl_z(self, q: Normal, z: torch.Tensor) -> torch.Tensor:
        """KL(q(z|X,Y) || p(z)) per sample ``(B,)``: analytic during warm-up, else Monte Carlo.

        ``z`` is ``(B, D)`` or ``(S, B, D)`` reparameterised draws (averaged over ``S``).

        The Monte-Carlo estimate ``log q(z) - log p(z)`` uses reparameterised samples, so the
        encoder receives gradients from it and the entropy term is included (the authors' code
        scored a detached cross-entropy only).
        """
        if self.flow is None or not bool(self.flow_active):
            standard = Normal(
                torch.zeros_like(q.loc), torch.ones_like(q.scale), validate_args=False
            )
            return kl_divergence(q, standard).sum(-1)
        log_q = q.log_prob(z).sum(-1)  # (S, B) or (B,)
        log_p = self.flow.log_prob(z.reshape(-1, z.shape[-1])).view(log_q.shape)
        kl = log_q - log_p
        return kl.mean(0) if z.dim() == 3 else kl

    # -- objective ------------------------------------------------------------------------------
    def elbo(self, batch: PointBatch) -> dict[str, torch.Tensor]:
        """The ELBO of eq. (16) per sample, and the training loss per scored point.

        The loss is the negative ELBO per point, with the likelihood's beta-NLL weights
        (``config.nll_beta``) in training mode; the returned ``elbo`` is always the plain ELBO.

        Terms (each ``(B,)``, in nats): ``rec`` = sum_d E_q(z)[sum_k q_dk log p_k(y_d)],
        ``kl_c`` = sum_d KL(q(c_d) || pi(c_d)), ``kl_z`` as in :meth:`kl_z`.
        """
        cfg = self.config
        if (
            self.uses_base
            and batch.base is not None
            and batch.base_scale is None
            and not bool((self.residual_scale > 0).all())
        ):
            self._set_residual_scale(batch)
        q = self.encode(batch)
        n_draws = max(1, cfg.kl_samples)
        z = q.rsample((n_draws,))  # (S, B, D)
        kl_z = self.kl_z(q, z)  # all Monte-Carlo draws at once
        z = z[0]
        local = self.local_features(batch, batch.tgt_x)
        params, prior_logits, phi = self.decode(z, batch.tgt_x, local, batch.base, batch.base_scale)
        y = torch.where(batch.tgt_valid, batch.tgt_y, torch.zeros_like(batch.tgt_y))
        log_p_c = self.likelihood.log_prob(params, y[:, None])  # (B, K, M, C)
        scored = batch.tgt_valid[:, None].to(log_p_c.dtype)
        log_p = (log_p_c * scored).sum(-1)  # (B, K, M)
        values = torch.cat([y, batch.tgt_valid.to(y.dtype)], dim=-1)
        post_logits = self.posterior_c(phi, z, values, local)  # (B, M, K)
        log_q_c = torch.log_softmax(post_logits, dim=-1)
        q_c = log_q_c.exp()
        log_pi = torch.log_softmax(prior_logits, dim=-1)
        point = batch.tgt_valid.any(-1).to(log_p.dtype)  # (B, M)

        def expected(per_point: torch.Tensor) -> torch.Tensor:  # (B, K, M) -> (B,)
            return ((q_c * per_point.transpose(1, 2)).sum(-1) * point).sum(-1) * batch.tgt_scale

        rec = expected(log_p)
        kl_c = ((q_c * (log_q_c - log_pi)).sum(-1) * point).sum(-1) * batch.tgt_scale
        elbo = rec - cfg.beta_c * kl_c - cfg.beta_z * kl_z
        weight = self.likelihood.fit_weight(params, cfg.nll_beta) if self.training else None
        fit_rec = rec if weight is None else expected((log_p_c * scored * weight).sum(-1))
        objective = fit_rec - cfg.beta_c * kl_c - cfg.beta_z * kl_z
        n_points = (point.sum(-1) * batch.tgt_scale).clamp_min(1.0)
        loss = -(objective.sum() / n_points.sum())
        return {"loss": loss, "elbo": elbo, "rec": rec, "kl_c": kl_c, "kl_z": kl_z}

    @torch.no_grad()
    def _set_residual_scale(self, batch: PointBatch) -> None:
        valid = batch.tgt_valid.to(batch.tgt_y.dtype)
        residual = (batch.tgt_y - batch.base) * valid
        rms = (residual.pow(2).sum((0, 1)) / valid.sum((0, 1)).clamp_min(1.0)).sqrt()
        self.residual_scale.copy_(rms.clamp_min(1e-3))

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self,
        batch: PointBatch,
        n_samples: int = 8,
        chunk_size: int = 65536,
        z: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Prediction:
        """Posterior-predictive mean, std and component probabilities at ``batch.tgt_x``.

        One encoder pass; ``n_samples`` latent draws (0 = the posterior mean only); the mixture's
        moments per draw, combined by the law of total variance. Query points are decoded in
        chunks of at most ``chunk_size`` rows (draws x samples x points), so a million points
        fit in memory. Pass ``z`` ``(S, B, D)`` to decode given latents
        (unconditional sampling), and a ``generator`` for repeatable latent draws.
        """
        if z is None:
            q = self.encode(batch)
            if n_samples == 0:
                z = q.loc[None]  # (1, B, D)
            else:  # (S, B, D); a seeded generator makes predictions repeatable
                eps = torch.randn(
                    (n_samples, *q.loc.shape),
                    generator=generator,
                    device=q.loc.device,
                    dtype=q.loc.dtype,
                )
                z = q.loc + q.scale * eps
        s, b, _ = z.shape
        m = batch.tgt_x.shape[-2]
        # chunk_size bounds decoded rows (draws x samples x points): memory stays flat however
        # many samples and latent draws are asked for
        step = max(64, chunk_size // (s * b))
        means, stds, probs = [], [], []
        for start in range(0, m, step):
            stop = min(m, start + step)
            qx = batch.tgt_x[..., start:stop, :]
            local = self.local_features(batch, qx, slice(start, stop))
            base = batch.base[:, start:stop] if batch.base is not None else None
            base_scale = batch.base_scale[:, start:stop] if batch.base_scale is not None else None
            zs = z.reshape(s * b, -1)
            rep = (lambda t: t.repeat(s, *([1] * (t.dim() - 1)))) if s > 1 else (lambda t: t)
            local_s = rep(local) if local is not None else None
            base_s = rep(base) if base is not None else None
            base_scale_s = rep(base_scale) if base_scale is not None else None
            qx_s = qx if qx.dim() == 2 else rep(qx)
            params, logits, _ = self.decode(zs, qx_s, local_s, base_s, base_scale_s)
            pi = torch.softmax(logits, dim=-1)  # (S*B, m, K)
            mu_k, var_k = self.likelihood.moments(params)  # (S*B, K, m, C) each
            w = pi.transpose(1, 2)[..., None]  # (S*B, K, m, 1)
            mix_mean = (w * mu_k).sum(1)  # (S*B, m, C)
            mix_second = (w * (var_k + mu_k**2)).sum(1)
            mix_mean = mix_mean.view(s, b, *mix_mean.shape[1:])
            mix_second = mix_second.view(s, b, *mix_second.shape[1:])
            mean = mix_mean.mean(0)
            var = (mix_second.mean(0) - mean**2).clamp_min(0.0)
            means.append(mean)
            stds.append(var.sqrt())
            probs.append(pi.view(s, b, *pi.shape[1:]).mean(0))
        return Prediction(torch.cat(means, 1), torch.cat(stds, 1), torch.cat(probs, 1))

    @torch.no_grad()
    def posterior_components(self, batch: PointBatch) -> torch.Tensor:
        """q(c | x, y, z=mu) ``(B, M, K)`` at target points that have values, pi(c | x, z) elsewhere."""
        q = self.encode(batch)
        z = q.loc
        local = self.local_features(batch, batch.tgt_x)
        _, prior_logits, phi = self.decode(z, batch.tgt_x, local, batch.base, batch.base_scale)
        y = torch.where(batch.tgt_valid, batch.tgt_y, torch.zeros_like(batch.tgt_y))
        values = torch.cat([y, batch.tgt_valid.to(y.dtype)], dim=-1)
        post = torch.softmax(self.posterior_c(phi, z, values, local), dim=-1)
        prior = torch.softmax(prior_logits, dim=-1)
        observed = batch.tgt_valid.any(-1, keepdim=True)
        return torch.where(observed, post, prior)

    @torch.no_grad()
    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, dim_z)`` latents from the flow prior (N(0, I) before the flow is trained)."""
        if self.flow is not None and bool(self.flow_active):
            return self.flow.sample(n, generator)
        device = self.fourier.frequencies.device
        return torch.randn(n, self.config.dim_z, generator=generator, device=device)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of categorical probabilities along the last axis."""
    return -(probs * torch.log(probs.clamp_min(1e-12))).sum(-1)
