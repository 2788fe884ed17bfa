"""Likelihoods p(y | x, z, c=k): small modules that turn generator outputs into torch Distributions.

Each generator emits ``params_per_channel`` numbers per channel; the likelihood maps them (and any
learnable parameters of its own) to a ``torch.distributions.Distribution`` with batch shape
``(..., C)``. Plugins add more through the ``vamoh_likelihoods`` hook.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, ContinuousBernoulli, Distribution, Normal, constraints

__all__ = [
    "BernoulliLikelihood",
    "ContinuousBernoulliLikelihood",
    "DiscretisedLogistic",
    "DiscretisedLogisticLikelihood",
    "GaussianLikelihood",
    "Likelihood",
    "available",
    "get",
]


class Likelihood(nn.Module):
    """Base class. Subclasses set ``name``, ``params_per_channel`` and implement ``distribution``.

    Attributes:
        name: registry name used in ``VaMoHConfig(likelihood=...)``.
        params_per_channel: generator outputs per channel.
        supports_residual: whether parameter 0 is a location that can be shifted by a baseline
            (the engine's hybrid mode models the residual over an interpolation).

    Example:
        >>> import torch
        >>> lik = GaussianLikelihood(channels=1)
        >>> params = torch.zeros(4, 1, lik.params_per_channel)
        >>> lik.log_prob(params, torch.zeros(4, 1)).shape
        torch.Size([4, 1])
    """

    name: ClassVar[str] = ""
    params_per_channel: ClassVar[int] = 1
    supports_residual: ClassVar[bool] = False

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels

    def distribution(self, params: torch.Tensor) -> Distribution:
        """``params`` ``(..., C, P)`` -> a Distribution with batch shape ``(..., C)``."""
        raise NotImplementedError

    def log_prob(self, params: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Log-density (or mass) of ``y`` ``(..., C)``: ``(..., C)``."""
        return self.distribution(params).log_prob(y)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return self.distribution(params).mean

    def variance(self, params: torch.Tensor) -> torch.Tensor:
        return self.distribution(params).variance

    def moments(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance ``(..., C)`` together (likelihoods may share work between them)."""
        distribution = self.distribution(params)
        return distribution.mean, distribution.variance

    def fit_weight(self, params: torch.Tensor, beta: float) -> torch.Tensor | None:
        """Per-point weights ``(..., C)`` of the log-likelihood in the training loss, or None.

        Likelihoods with a learned per-point scale return ``stop_gradient(variance) ** beta``
        (beta-NLL, Seitzer et al., ICLR 2022): a learned scale otherwise lets the model explain
        misfit by variance instead of learning the mean. The reported ELBO stays unweighted.
        """
        return None

    def shift(
        self, params: torch.Tensor, base: torch.Tensor, scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Model ``y = base + scale * residual`` (hybrid mode): location ``base + scale * p0``.

        ``base`` is ``(..., C)``; ``scale`` ``(C,)`` is the typical size of the residual, so the
        generators work on unit-sized residuals.
        """
        if not self.supports_residual:
            raise ValueError(
                f"likelihood {self.name!r} has no location parameter to model a residual; use "
                f"conditioning='global' or 'local', or likelihood='gaussian'."
            )
        loc = params[..., 0] if scale is None else params[..., 0] * scale
        return torch.cat([(loc + base).unsqueeze(-1), params[..., 1:]], dim=-1)

    @classmethod
    def support_error(cls, values: np.ndarray) -> str | None:
        """Why ``values`` (finite entries, after normalisation) lie outside the support, or None."""
        return None


class GaussianLikelihood(Likelihood):
    """Normal with a per-point (heteroscedastic) scale: params are (mean, raw scale)."""

    name = "gaussian"
    params_per_channel = 2
    supports_residual = True
    min_scale = 1e-3

    def distribution(self, params: torch.Tensor) -> Normal:
        scale = F.softplus(params[..., 1]) + self.min_scale
        return Normal(params[..., 0], scale, validate_args=False)

    def shift(
        self, params: torch.Tensor, base: torch.Tensor, scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        shifted = super().shift(params, base, scale)
        if scale is None:
            return shifted
        # softplus(p + log s) ~ s * softplus(p) where the scale is small: the predictive std
        # starts at the residual's size instead of the field's
        raw = shifted[..., 1] + torch.log(scale)
        return torch.stack([shifted[..., 0], raw], dim=-1)

    def fit_weight(self, params: torch.Tensor, beta: float) -> torch.Tensor | None:
        if beta <= 0:
            return None
        scale = F.softplus(params[..., 1].detach()) + self.min_scale
        return scale ** (2.0 * beta)


class ContinuousBernoulliLikelihood(Likelihood):
    """Continuous Bernoulli on [0, 1] with its normalising constant (Loaiza-Ganem & Cunningham)."""

    name = "continuous_bernoulli"

    def distribution(self, params: torch.Tensor) -> ContinuousBernoulli:
        # the exact normaliser is unstable at logits 0 and huge logits: clamp keeps it finite
        return ContinuousBernoulli(logits=params[..., 0].clamp(-30.0, 30.0), validate_args=False)

    @classmethod
    def support_error(cls, values: np.ndarray) -> str | None:
        if values.size and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
            return "the continuous Bernoulli needs values in [0, 1] (use normalisation='minmax')"
        return None


class BernoulliLikelihood(Likelihood):
    """Bernoulli for binary data (voxel occupancy); params are logits."""

    name = "bernoulli"

    def distribution(self, params: torch.Tensor) -> Bernoulli:
        return Bernoulli(logits=params[..., 0], validate_args=False)

    @classmethod
    def support_error(cls, values: np.ndarray) -> str | None:
        if values.size and not np.isin(values, (0.0, 1.0)).all():
            return "the Bernoulli likelihood needs values in {0, 1}"
        return None


class DiscretisedLogistic(Distribution):
    """A logistic distribution discretised into ``bins`` bins on [-1, 1], with edge bins.

    The first and last bins take all the mass below and above them (PixelCNN++), so the mass
    over the bins sums to one exactly.

    Example:
        >>> import torch
        >>> d = DiscretisedLogistic(torch.tensor([0.0]), torch.tensor([0.1]))
        >>> grid = torch.linspace(-1, 1, 256)[:, None]
        >>> float(d.log_prob(grid).exp().sum())  # doctest: +ELLIPSIS
        1.0...
    """

    arg_constraints: ClassVar[dict] = {
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.interval(-1.0, 1.0)

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor, bins: int = 256) -> None:
        self.loc, self.scale = torch.broadcast_tensors(loc, scale)
        self.bins = bins
        self.half_width = 1.0 / (bins - 1)  # half the spacing 2 / (bins - 1)
        super().__init__(batch_shape=self.loc.shape, validate_args=False)

    def _cdf(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid((v - self.loc) / self.scale)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        centred = value - self.loc
        inv_s = 1.0 / self.scale
        upper = (centred + self.half_width) * inv_s
        lower = (centred - self.half_width) * inv_s
        # log(sigmoid(u) - sigmoid(l)) computed stably in the three regions
        log_cdf_upper = F.logsigmoid(upper)  # last bin below 1: everything below the top edge
        log_sf_lower = -F.softplus(lower)  # first bin above -1: everything above the low edge
        mid = torch.sigmoid(upper) - torch.sigmoid(lower)
        mid_log = torch.log(mid.clamp_min(1e-12))
        # where the bin is tiny compared with the scale use the density approximation
        centre = centred * inv_s
        log_pdf = (
            centre - self.scale.log() - 2.0 * F.softplus(centre) + math.log(2 * self.half_width)
        )
        mid_log = torch.where(mid > 1e-5, mid_log, log_pdf)
        low_edge = value <= -1.0 + 1e-3 * self.half_width
        high_edge = value >= 1.0 - 1e-3 * self.half_width
        return torch.where(low_edge, log_cdf_upper, torch.where(high_edge, log_sf_lower, mid_log))

    def _bin_values(self) -> torch.Tensor:
        return torch.linspace(-1.0, 1.0, self.bins, device=self.loc.device, dtype=self.loc.dtype)

    def _expect(self, g: torch.Tensor) -> torch.Tensor:
        """E[g(Y)] by summation by parts: g(v0) + sum_i (g(v_i) - g(v_{i-1})) P(Y >= v_i)."""
        v = self._bin_values()
        survival = 1.0 - self._cdf(v[1:].view(-1, *([1] * self.loc.dim())) - self.half_width)
        steps = (g[1:] - g[:-1]).view(-1, *([1] * self.loc.dim()))
        return g[0] + (steps * survival).sum(dim=0)

    @property
    def mean(self) -> torch.Tensor:
        return self._expect(self._bin_values())

    @property
    def variance(self) -> torch.Tensor:
        return self.moments()[1]

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance from one pass over the bins (the survival function is shared)."""
        v = self._bin_values()
        shape = (-1, *([1] * self.loc.dim()))
        survival = 1.0 - self._cdf(v[1:].view(shape) - self.half_width)  # (bins - 1, ...)
        first = v[0] + ((v[1:] - v[:-1]).view(shape) * survival).sum(dim=0)
        second = v[0] ** 2 + ((v[1:] ** 2 - v[:-1] ** 2).view(shape) * survival).sum(dim=0)
        return first, (second - first**2).clamp_min(0.0)

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        u = torch.rand(shape, device=self.loc.device).clamp(1e-6, 1 - 1e-6)
        x = self.loc + self.scale * (u.log() - (-u).log1p())
        step = 2.0 / (self.bins - 1)
        return (torch.round((x.clamp(-1.0, 1.0) + 1.0) / step) * step - 1.0).clamp(-1.0, 1.0)


class DiscretisedLogisticLikelihood(Likelihood):
    """The paper's eq. (17): a discretised logistic per component with a learnable scale per channel.

    Data live on [-1, 1] in 256 bins (8-bit intensities under ``normalisation="uint8"``).
    """

    name = "discretised_logistic"

    def __init__(self, channels: int = 1, init_scale: float = 0.1) -> None:
        super().__init__(channels)
        self.log_scale = nn.Parameter(torch.full((channels,), math.log(init_scale)))

    def distribution(self, params: torch.Tensor) -> DiscretisedLogistic:
        scale = self.log_scale.clamp(min=-7.0).exp()
        return DiscretisedLogistic(params[..., 0], scale.expand_as(params[..., 0]))

    def moments(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.distribution(params).moments()

    @classmethod
    def support_error(cls, values: np.ndarray) -> str | None:
        if values.size and (values.min() < -1 - 1e-6 or values.max() > 1 + 1e-6):
            return "the discretised logistic needs values in [-1, 1] (use normalisation='uint8')"
        return None


_BUILTIN: dict[str, type[Likelihood]] = {
    cls.name: cls
    for cls in (
        GaussianLikelihood,
        ContinuousBernoulliLikelihood,
        BernoulliLikelihood,
        DiscretisedLogisticLikelihood,
    )
}


def available() -> dict[str, type[Likelihood]]:
    """Built-in and plugin likelihoods by name.

    Example:
        >>> sorted(available())[:2]
        ['bernoulli', 'continuous_bernoulli']
    """
    from vamoh import plugins

    merged = dict(_BUILTIN)
    for name, cls in plugins.likelihoods().items():
        if name in merged:
            raise plugins.PluginError(
                f"a plugin registers likelihood {name!r}, which vamoh already provides; rename it."
            )
        merged[name] = cls
    return dict(sorted(merged.items()))


def get(name: str) -> type[Likelihood]:
    """The likelihood class called ``name``; unknown names list the available ones."""
    found = available()
    if name not in found:
        raise ValueError(f"unknown likelihood {name!r}; available: {sorted(found)}.")
    return found[name]
