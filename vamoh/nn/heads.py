"""The backbone head: a learned mixture of the backbone's experts and a learned std, per point.

The Gaussian backbone answers a point task with two experts: the hyper-parameters best for
scattered gaps (short correlations, little noise) and those best for holes (smoother, more
shrinkage toward the stationary part). Which is right depends on where a query point sits: next
to observations or deep inside a gap. The head looks at a few dimensionless features of the two
posteriors at each point and returns a mixing weight and a correction of the predictive std:

    w = sigmoid(g(f)),  mean = w mu_s + (1 - w) mu_h,
    std = exp(softplus(h(f) - 4)) sqrt(w s_s^2 + (1 - w) s_h^2 + w (1 - w) (mu_s - mu_h)^2)

with ``f`` = (log s_s / s_p, log s_h / s_p, (mu_s - mu_h) / s_p, |mu_s - mu_h| / s_s, log1p of
the distance to the nearest observation in point spacings, a coarse-means flag, the size of the
anomaly |mu_s - m| / s_p), ``s_p`` the prior std and ``m`` the prior mean. The last one lets the
std depend on the weather, not only on where the observations are: a Gaussian posterior's std
does not depend on the observed values, but errors grow in unusual situations. It is trained by the Gaussian likelihood of the truth on task-shaped examples
(:mod:`vamoh.backbone.pool`), so its std is calibrated per task type.

The correction only widens: the Gaussian posterior's own std is the floor. Narrowing learned on
the training period did not carry over to later weeks or new sites: on ERA5 UK the training
folds and the validation days put the backbone's 90% coverage at 0.95-0.98, the test week at
0.91, and a head free to narrow brought the test week's block to 0.74 (pseudo-stations at new
sites: 0.90 -> 0.68). Widening where the backbone is overconfident (NCEP's central block:
0.83 -> 0.94) is what transfers. Shapes: any leading dims.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BackboneHead", "head_features", "no_narrower"]

N_FEATURES = 7
_MIN_STD = 1e-6
_WIDEN_OFFSET = 4.0  # softplus(-4) = 0.018: the head starts near the mixture's own std


def head_features(
    experts: torch.Tensor,
    prior_std: torch.Tensor,
    distance: torch.Tensor,
    means: torch.Tensor,
    prior_mean: torch.Tensor,
) -> torch.Tensor:
    """``(..., F)`` features from ``experts`` ``(..., 2, 2)`` (expert, mean/std).

    ``prior_std``, ``distance``, ``means`` (a 0/1 flag) and ``prior_mean`` broadcast to the
    leading dims.

    Example:
        >>> import torch
        >>> e = torch.tensor([[[0.0, 1.0], [0.5, 2.0]]])
        >>> head_features(e, torch.ones(1), torch.zeros(1), torch.zeros(1), torch.zeros(1)).shape
        torch.Size([1, 7])
    """
    mu_s, sd_s = experts[..., 0, 0], experts[..., 0, 1].clamp_min(_MIN_STD)
    mu_h, sd_h = experts[..., 1, 0], experts[..., 1, 1].clamp_min(_MIN_STD)
    sd_p = prior_std.clamp_min(_MIN_STD)
    gap = mu_s - mu_h
    return torch.stack(
        [
            torch.log(sd_s / sd_p),
            torch.log(sd_h / sd_p),
            gap / sd_p,
            gap.abs() / sd_s,
            distance.expand_as(gap),
            means.expand_as(gap),
            torch.log1p((mu_s - prior_mean).abs() / sd_p),
        ],
        dim=-1,
    )


class BackboneHead(nn.Module):
    """A small MLP from :func:`head_features` to a mixing weight and a log-std correction.

    It starts as the even mixture with the mixture's own std (zero last layer).

    Example:
        >>> import torch
        >>> head = BackboneHead()
        >>> e = torch.tensor([[[0.0, 1.0], [1.0, 1.0]]])
        >>> mean, std = head(e, torch.ones(1), torch.zeros(1), torch.zeros(1), torch.zeros(1))
        >>> round(float(mean), 3), round(float(std), 3)
        (0.5, 1.139)
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, width),
            nn.SiLU(),
            nn.Linear(width, width),
            nn.SiLU(),
            nn.Linear(width, 2),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(
        self,
        experts: torch.Tensor,
        prior_std: torch.Tensor,
        distance: torch.Tensor,
        means: torch.Tensor,
        prior_mean: torch.Tensor,
        *,
        use_mixture: bool = True,
        use_std: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std ``(...)`` of the head's Gaussian at each point.

        ``use_mixture=False`` keeps the even mixture; ``use_std=False`` keeps the mixture's own
        std (the ablations switch the two parts separately).
        """
        out = self.net(head_features(experts, prior_std, distance, means, prior_mean))
        w = torch.sigmoid(out[..., 0]) if use_mixture else torch.full_like(out[..., 0], 0.5)
        mu_s, sd_s = experts[..., 0, 0], experts[..., 0, 1]
        mu_h, sd_h = experts[..., 1, 0], experts[..., 1, 1]
        mean = w * mu_s + (1 - w) * mu_h
        var = w * sd_s**2 + (1 - w) * sd_h**2 + w * (1 - w) * (mu_s - mu_h) ** 2
        std = var.clamp_min(_MIN_STD**2).sqrt()
        if use_std:
            # a widening factor >= 1, about 1.02 at the zero start (see the module docstring)
            widen = nn.functional.softplus(out[..., 1] - _WIDEN_OFFSET).clamp(max=5.0)
            std = std * torch.exp(widen)
        return mean, std


def no_narrower(std: torch.Tensor, floor: torch.Tensor | None) -> torch.Tensor:
    """``std`` floored at the std of the layer below (``None``: unchanged): the residual layer
    may widen the head's intervals, never narrow them (see the module docstring).

    Example:
        >>> no_narrower(torch.tensor([0.5, 2.0]), torch.tensor([1.0, 1.0])).tolist()
        [1.0, 2.0]
    """
    return std if floor is None else torch.maximum(std, floor)
