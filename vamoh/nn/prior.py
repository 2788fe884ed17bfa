"""The prior p(z): a planar flow (Rezende & Mohamed, 2015) on a trainable diagonal Gaussian base.

Layers use a leaky-ReLU nonlinearity, so each layer has an exact piecewise-linear inverse: the
density of an encoder sample z is evaluated by inverting the flow, with no approximation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PlanarFlowPrior", "PlanarLayer"]


class PlanarLayer(nn.Module):
    """``f(z) = z + u_hat * h(w^T z + b)`` with ``h`` leaky ReLU and ``w^T u_hat > -1``.

    Example:
        >>> import torch
        >>> layer = PlanarLayer(3)
        >>> z = torch.randn(5, 3)
        >>> out, logdet = layer(z)
        >>> torch.allclose(layer.inverse(out)[0], z, atol=1e-5)
        True
    """

    def __init__(self, dim: int, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(dim) * 0.1)
        self.u = nn.Parameter(torch.randn(dim) * 0.1)
        self.b = nn.Parameter(torch.zeros(()))
        self.slope = negative_slope

    def u_hat(self) -> torch.Tensor:
        """The invertibility constraint: shift u along w so that ``w^T u_hat > -1``."""
        wu = self.w @ self.u
        m = -1.0 + F.softplus(wu)
        return self.u + (m - wu) * self.w / (self.w @ self.w).clamp_min(1e-12)

    def _h(self, a: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(a, self.slope)

    def _dh(self, a: torch.Tensor) -> torch.Tensor:
        return torch.where(a >= 0, torch.ones_like(a), torch.full_like(a, self.slope))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, D)`` -> ``f(z)`` and ``log|det df/dz|`` ``(B,)``."""
        u = self.u_hat()
        a = z @ self.w + self.b  # (B,)
        out = z + u * self._h(a)[:, None]
        logdet = torch.log((1.0 + self._dh(a) * (self.w @ u)).abs())
        return out, logdet

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``f^{-1}(y)`` and ``log|det df/dz|`` at the pre-image ``(B,)`` (exact)."""
        u = self.u_hat()
        wu = self.w @ u
        s = y @ self.w + self.b  # = a + wu * h(a), monotone in a
        a = torch.where(s >= 0, s / (1.0 + wu), s / (1.0 + self.slope * wu))
        z = y - u * self._h(a)[:, None]
        logdet = torch.log((1.0 + self._dh(a) * wu).abs())
        return z, logdet


class PlanarFlowPrior(nn.Module):
    """``z = f_T(... f_1(eps))``, ``eps ~ N(mu0, diag(sigma0^2))`` with trainable ``mu0, sigma0``.

    Example:
        >>> import torch
        >>> prior = PlanarFlowPrior(dim=2, layers=3)
        >>> z = prior.sample(4)
        >>> prior.log_prob(z).shape
        torch.Size([4])
    """

    def __init__(self, dim: int, layers: int) -> None:
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(PlanarLayer(dim) for _ in range(layers))
        self.base_loc = nn.Parameter(torch.zeros(dim))
        self.base_log_scale = nn.Parameter(torch.zeros(dim))

    def _base_log_prob(self, eps: torch.Tensor) -> torch.Tensor:
        scale = self.base_log_scale.exp()
        norm = ((eps - self.base_loc) / scale) ** 2
        return -0.5 * (norm + 2 * self.base_log_scale + math.log(2 * math.pi)).sum(-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log p(z)`` for ``(B, D)`` by inverting the layers in reverse order."""
        total_logdet = torch.zeros(z.shape[0], device=z.device, dtype=z.dtype)
        for layer in reversed(self.layers):
            z, logdet = layer.inverse(z)
            total_logdet = total_logdet + logdet
        return self._base_log_prob(z) - total_logdet

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws ``(n, D)`` from the prior."""
        device = self.base_loc.device
        eps = torch.randn(n, self.dim, generator=generator, device=device)
        z = self.base_loc + eps * self.base_log_scale.exp()
        for layer in self.layers:
            z, _ = layer(z)
        return z
