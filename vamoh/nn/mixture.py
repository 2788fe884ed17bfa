"""The categorical prior pi(c | x, z) and posterior q(c | x, y, z) over the K components.

Both are small MLPs on [phi(x), z] (and y for the posterior). Their first layer is split into a
shared term on phi(x), computed once per point, plus a per-sample term on z, so z is never copied
onto every point. Logits are unbounded: the authors' tanh cap would limit the largest mixture
weight (about 0.79 at K=3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CategoricalNet"]


class CategoricalNet(nn.Module):
    """Logits ``(B, M, K)`` of a categorical over components for each query point.

    Args:
        phi_features: size of phi(x).
        dim_z: latent size.
        k: number of components.
        hidden: hidden widths (Table 3: [32, 32]).
        value_features: size of the per-point value input (0 for the prior; 2C for the posterior:
            values and their observed-mask).
        extra_features: size of the local-path feature (0 when unused).

    Example:
        >>> import torch
        >>> net = CategoricalNet(phi_features=8, dim_z=4, k=3, hidden=[16])
        >>> net(torch.zeros(5, 8), torch.zeros(2, 4)).shape
        torch.Size([2, 5, 3])
    """

    def __init__(
        self,
        phi_features: int,
        dim_z: int,
        k: int,
        hidden: list[int],
        value_features: int = 0,
        extra_features: int = 0,
    ) -> None:
        super().__init__()
        width = hidden[0] if hidden else k
        self.from_phi = nn.Linear(phi_features, width)
        self.from_z = nn.Linear(dim_z, width, bias=False)
        self.from_values = nn.Linear(value_features, width, bias=False) if value_features else None
        self.from_extra = nn.Linear(extra_features, width, bias=False) if extra_features else None
        dims = [width, *hidden[1:], k] if hidden else []
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:]))

    def forward(
        self,
        phi: torch.Tensor,
        z: torch.Tensor,
        values: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``phi`` ``(M, F)`` or ``(B, M, F)``, ``z`` ``(B, D)``, ``values`` ``(B, M, V)``."""
        h = self.from_phi(phi)  # (M, W) or (B, M, W)
        h = h + self.from_z(z)[:, None, :]  # (B, M, W)
        if self.from_values is not None and values is not None:
            h = h + self.from_values(values)
        if self.from_extra is not None and extra is not None:
            h = h + self.from_extra(extra)
        for layer in self.layers:
            h = layer(F.leaky_relu(h, 0.1))
        return h
