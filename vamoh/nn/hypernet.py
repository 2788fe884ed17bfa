"""K hypergenerators: hypernetworks g_k(z) -> theta_k and generator MLPs f_theta_k(phi(x)).

The K hypernetworks are stacked into batched weights ``(K, in, out)`` and run as one einsum; the
generators run with per-sample, per-component weights by batched matmul. No Python loop over
samples or components.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HyperGenerators", "StackedLinear"]


class StackedLinear(nn.Module):
    """K independent linear layers applied to the same or to per-component inputs.

    ``(B, in)`` -> ``(B, K, out)`` (shared input) or ``(B, K, in)`` -> ``(B, K, out)``.

    Example:
        >>> import torch
        >>> StackedLinear(3, 4, 5)(torch.zeros(2, 4)).shape
        torch.Size([2, 3, 5])
    """

    def __init__(self, k: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(k, in_features, out_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(k, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return torch.einsum("bi,kio->bko", x, self.weight) + self.bias
        return torch.einsum("bki,kio->bko", x, self.weight) + self.bias


class HyperGenerators(nn.Module):
    """Mixture of K hypergenerators.

    Args:
        dim_z: latent size.
        k: number of components.
        in_features: size of phi(x) (2m).
        out_features: generator outputs per point (channels x likelihood parameters).
        hypernet_layers: hidden widths of each hypernetwork (Table 3: [256, 512]).
        generator_layers: hidden widths of each generator MLP (Table 3: [64, 64, 64]).
        extra_features: size of an extra per-point input (the local path), fed through a shared
            (not generated) per-component linear map into the first generator layer.
        dropout: dropout between hypernetwork layers (regularises small data sets).
        output_scale: initial size of the generators' outputs relative to a Kaiming init (small
            in hybrid mode, so training starts from the classical baseline: no residual).

    Example:
        >>> import torch
        >>> hg = HyperGenerators(dim_z=4, k=3, in_features=8, out_features=2,
        ...                      hypernet_layers=[16], generator_layers=[5, 5])
        >>> theta = hg(torch.zeros(2, 4))                  # (B, K, P)
        >>> hg.generate(theta, torch.zeros(7, 8)).shape    # (B, K, M, out)
        torch.Size([2, 3, 7, 2])
    """

    def __init__(
        self,
        dim_z: int,
        k: int,
        in_features: int,
        out_features: int,
        hypernet_layers: list[int],
        generator_layers: list[int],
        extra_features: int = 0,
        dropout: float = 0.0,
        output_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.k = k
        self.output_scale = output_scale
        widths = [in_features, *generator_layers, out_features]
        self.shapes = list(zip(widths[:-1], widths[1:]))  # generator (in, out) per layer
        self.n_params = sum(i * o + o for i, o in self.shapes)
        dims = [dim_z, *hypernet_layers]
        self.hidden = nn.ModuleList(StackedLinear(k, i, o) for i, o in zip(dims[:-1], dims[1:]))
        self.head = StackedLinear(k, dims[-1], self.n_params)
        self.dropout = nn.Dropout(dropout)
        self._init_head()
        self.extra = (
            StackedLinear(
                k, extra_features, generator_layers[0] if generator_layers else out_features
            )
            if extra_features
            else None
        )

    def _init_head(self) -> None:
        # theta = bias + small z-dependent part: the bias starts as a well-scaled (Kaiming) generator,
        # so training starts from sensible functions instead of exploding activations
        with torch.no_grad():
            self.head.weight.mul_(0.05)
            chunks = []
            for layer, (i, o) in enumerate(self.shapes):
                bound = math.sqrt(6.0 / i) / math.sqrt(1 + 0.1**2)
                if layer == len(self.shapes) - 1:
                    bound *= self.output_scale
                chunks.append(torch.empty(self.k, i * o).uniform_(-bound, bound))
                chunks.append(torch.zeros(self.k, o))
            self.head.bias.copy_(torch.cat(chunks, dim=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generator parameters ``(B, K, P)`` for latents ``(B, dim_z)``."""
        h = z
        for layer in self.hidden:
            h = self.dropout(F.leaky_relu(layer(h), 0.1))
        return self.head(h)

    def _unpack(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Each generator layer as one ``(B*K, in + 1, out)`` view of ``theta``: weights with the
        bias as the last row (theta stores each layer's weights and then its bias, so this is a
        reshape, not a copy)."""
        out, start = [], 0
        b, k = theta.shape[:2]
        for i, o in self.shapes:
            out.append(theta[..., start : start + (i + 1) * o].reshape(b * k, i + 1, o))
            start += (i + 1) * o
        return out

    def generate(
        self, theta: torch.Tensor, phi: torch.Tensor, extra: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Run every component's generator at the query points.

        Args:
            theta: ``(B, K, P)`` from :meth:`forward`.
            phi: ``(M, F)`` shared or ``(B, M, F)`` per-sample features of the query points.
            extra: ``(B, M, E)`` local features, or None.

        Returns:
            ``(B, K, M, out_features)``.
        """
        b, k = theta.shape[:2]
        layers = self._unpack(theta)
        w0 = layers[0]  # (B*K, F + 1, O)
        f_in, o = w0.shape[1] - 1, w0.shape[2]
        if phi.dim() == 2:
            # shared points: one large matmul against every sample's and component's weights
            # at once, the bias folded in as a column of ones (BLAS runs this far faster than
            # B*K small products)
            m = phi.shape[0]
            ones = phi.new_ones(m, 1)
            stacked = w0.transpose(0, 1).reshape(f_in + 1, b * k * o)  # (F + 1, B*K*O)
            h = (torch.cat([phi, ones], dim=1) @ stacked).view(m, b * k, o).transpose(0, 1)
        else:
            m = phi.shape[1]
            weights = w0[:, :-1].view(b, k, f_in, o)
            h = torch.einsum("bmf,bkfo->bkmo", phi, weights).reshape(b * k, m, o)
            h = h + w0[:, -1:]
        if extra is not None and self.extra is not None:
            local = torch.einsum("bme,keo->bkmo", extra, self.extra.weight)
            h = h + (local + self.extra.bias[None, :, None, :]).reshape(b * k, m, o)
        # in place where no gradient needs the pre-activation (inference): one buffer less
        in_place = not (torch.is_grad_enabled() and (h.requires_grad or theta.requires_grad))
        for wb in layers[1:]:
            act = F.leaky_relu_(h, 0.1) if in_place else F.leaky_relu(h, 0.1)
            h = torch.baddbmm(wb[:, -1:], act, wb[:, :-1])  # (B*K, M, out)
        return h.reshape(b, k, m, h.shape[-1])
