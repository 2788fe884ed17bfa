"""Fitting to the machine: the network size, points per step and stopping rule a fit uses.

Defaults sized for a GPU (the paper's 41 M-parameter ERA5 network, every point scored, 600
epochs) make a CPU fit of a mid-size grid take days. :func:`plan` looks at the device, the data
and the budget and chooses, unless the user's config already did:

* on a CPU: the small network of the modality's small-data preset, 1024 scored points per step,
  and the budget (default :data:`vamoh.budget.DEFAULT_CPU_BUDGET`) as a wall-clock limit;
* on a GPU: the modality's defaults (the paper's model where the grid is the paper's) and the
  configuration's epochs, or the budget if one is given.

It says what it chose and why in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vamoh.budget import DEFAULT_CPU_BUDGET, Budget
from vamoh.config import VaMoHConfig

__all__ = ["CPU_NETWORK", "Plan", "plan"]

# the network a CPU trains in minutes: about 2.5 M parameters, most of them, as in the paper's
# 41 M-parameter ERA5 network, in the hypernetworks' last layers (hidden width x generator size)
CPU_NETWORK: dict[str, Any] = dict(
    dim_z=32,
    n_components=3,
    fourier_features=64,
    encoder_weight_net=[16, 16],
    encoder_pool_centroids=None,
    encoder_pool_neighbours=None,
    hypernet_layers=[64, 64],
    generator_layers=[64, 64],
    categorical_layers=[32, 32],
    flow_layers=4,
    lr=1e-3,
    batch_size=16,
    flow_warmup_epochs=10,
    categorical_warmup_epochs=5,
)
CPU_POINTS = 1024  # scored (decoded) points per sample and step on a CPU
_CPU_CENTROIDS = (512, 128, 32)
_LARGE_NETWORK = 4_000_000  # parameters above which a CPU gets CPU_NETWORK instead
# a fit shorter than this gets the quick backbone search and fewer head steps, so that the
# backbone's fixed cost stays a small share of it
_SHORT_SECONDS = 120.0
_SHORT_STEPS = 300
_SHORT_EPOCHS = 10
_QUICK_HEAD_STEPS = 200


def _short(cfg: VaMoHConfig, chosen_by_user: set[str], budget: Budget | None) -> bool:
    if budget is not None and budget.seconds is not None and budget.seconds < _SHORT_SECONDS:
        return True
    if budget is not None and budget.steps is not None and budget.steps < _SHORT_STEPS:
        return True
    return "max_epochs" in chosen_by_user and cfg.max_epochs <= _SHORT_EPOCHS


@dataclass
class Plan:
    """What :func:`plan` chose: the config, the budget and the one-line reason."""

    config: VaMoHConfig
    budget: Budget | None
    device: str
    line: str


def _device(trainer: dict[str, Any] | None) -> str:
    wanted = str((trainer or {}).get("accelerator", "auto"))
    if wanted in ("cpu",):
        return "cpu"
    return "gpu" if torch.cuda.is_available() else "cpu"


def _parameters(cfg: VaMoHConfig, dim: int, channels: int) -> int:
    from vamoh.model import VaMoH

    with torch.device("meta"):
        network = VaMoH(cfg, dim, channels)
    return sum(p.numel() for p in network.parameters())


def plan(
    cfg: VaMoHConfig,
    chosen_by_user: set[str],
    n_points: int,
    dim: int,
    channels: int,
    budget: Budget | None,
    trainer: dict[str, Any] | None,
) -> Plan:
    """The config and budget for this machine (see the module docstring).

    Args:
        cfg: the modality's defaults with the user's config applied.
        chosen_by_user: config fields the user set (never changed).
        n_points: points per sample.
        dim: coordinate dimensions.
        channels: value channels.
        budget: the user's budget, or ``None`` for the default.
        trainer: the user's Lightning settings (an ``accelerator`` there decides the device).

    Example:
        >>> from vamoh.config import VaMoHConfig
        >>> p = plan(VaMoHConfig.preset("era5"), set(), 16020, 3, 1, None, {"accelerator": "cpu"})
        >>> p.config.hypernet_layers, p.config.likelihood_points, p.budget.seconds
        ([64, 64], 1024, 300.0)
        >>> plan(VaMoHConfig(), set(), 500, 2, 1, Budget.parse("50 steps"), None).config.backbone_search
        'quick'
    """
    device = _device(trainer)
    reasons = []
    changes: dict[str, Any] = {}
    size = _parameters(cfg, dim, channels)
    if device == "cpu":
        if size > _LARGE_NETWORK:
            network = {k: v for k, v in CPU_NETWORK.items() if k not in chosen_by_user}
            if "encoder_centroids" not in chosen_by_user and cfg.encoder_centroids[0] > 512:
                centroids = [c for c in _CPU_CENTROIDS if c <= max(1, n_points // 3)] or [1]
                network["encoder_centroids"] = centroids
                layers = len(centroids)
                if "encoder_neighbours" not in chosen_by_user:
                    network["encoder_neighbours"] = [9] * layers
                if "encoder_channels" not in chosen_by_user:
                    network["encoder_channels"] = [32, 64, 128][:layers]
            changes.update(network)
            reasons.append(
                f"the default network ({size / 1e6:.1f} M parameters) is sized for a GPU"
            )
        if (
            "likelihood_points" not in chosen_by_user
            and (cfg.likelihood_points or n_points) > CPU_POINTS
        ):
            changes["likelihood_points"] = CPU_POINTS
        if budget is None:
            budget = DEFAULT_CPU_BUDGET
            reasons.append("no budget given: the CPU default")
    if cfg.conditioning == "backbone" and cfg.backbone_search == "auto":
        quick = _short(cfg, chosen_by_user, budget)
        changes["backbone_search"] = "quick" if quick else "full"
        if quick and "head_steps" not in chosen_by_user:
            changes["head_steps"] = min(cfg.head_steps, _QUICK_HEAD_STEPS)
        if quick:
            reasons.append("a short fit: the quick backbone search")
    cfg = cfg.replace(**changes).validate() if changes else cfg
    size = _parameters(cfg, dim, channels)
    threads = torch.get_num_threads() if device == "cpu" else None
    where = f"CPU ({threads} thread{'' if threads == 1 else 's'})" if threads else "GPU"
    stop = (
        f"stops at {budget.describe()} with the best validated weights"
        if budget is not None
        else f"runs {cfg.max_epochs} epochs (the configuration's)"
    )
    points = cfg.likelihood_points or n_points
    line = (
        f"vamoh fit on {where}: network {size / 1e6:.2g} M parameters, "
        f"{min(points, n_points)} scored points per step; training {stop}"
        + (f" ({'; '.join(reasons)})" if reasons else "")
        + ". Change with budget=... or config={...}."
    )
    return Plan(config=cfg, budget=budget, device=device, line=line)
