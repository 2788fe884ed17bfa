"""Random Fourier features phi(x) = [cos(2 pi x B^T), sin(2 pi x B^T)] (Tancik et al., 2020)."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["FourierFeatures"]


class FourierFeatures(nn.Module):
    """Fixed random Fourier features; ``B ~ N(0, sigma^2)`` of shape ``(m, d)`` is a saved buffer.

    Example:
        >>> import torch
        >>> ff = FourierFeatures(dim=3, m=4, sigma=2.0, seed=0)
        >>> ff(torch.zeros(5, 3)).shape
        torch.Size([5, 8])
    """

    def __init__(self, dim: int, m: int = 128, sigma: float = 2.0, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("frequencies", torch.randn(m, dim, generator=generator) * sigma)
        self.out_dim = 2 * m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., d)`` -> ``(..., 2m)``."""
        angles = 2.0 * math.pi * x @ self.frequencies.T  # (..., m)
        return torch.cat([angles.cos(), angles.sin()], dim=-1)
