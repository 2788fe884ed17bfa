"""The model and training configuration: one typed, flat dataclass (nanoGPT style).

Per-modality defaults come from the modality's ``default_config``; the paper's Table 3 settings
are available as presets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["PRESETS", "VaMoHConfig"]

Conditioning = Literal["backbone", "global", "local", "hybrid", "local+hybrid"]
BackboneSearch = Literal["auto", "full", "quick"]
LearnedLayers = Literal["auto", "on", "off"]
Precision = Literal["fp32", "bf16-mixed"]
CentroidMethod = Literal["fps", "fps_order", "random", "stratified"]


@dataclass
class VaMoHConfig:
    """Everything that defines a VaMoH model and how it is trained.

    Example:
        >>> cfg = VaMoHConfig.preset("era5")
        >>> cfg.dim_z, cfg.n_components, cfg.encoder_centroids
        (32, 3, [1024, 256, 64, 32, 16])
        >>> VaMoHConfig(dim_z=8).replace(n_components=2).n_components
        2
    """

    # -- latent and mixture -----------------------------------------------------------------
    dim_z: int = 32
    n_components: int = 3  # K hypergenerators
    # -- random Fourier features phi(x) ------------------------------------------------------
    fourier_features: int = 128  # m; phi(x) has 2m entries
    fourier_scale: float = 2.0  # sigma of B ~ N(0, sigma^2)
    # -- PointConv encoder q(z | X, Y) -----------------------------------------------------
    encoder_centroids: list[int] = field(default_factory=lambda: [1024, 256, 64, 32, 16])
    encoder_neighbours: list[int] = field(default_factory=lambda: [9, 9, 9, 9, 9])
    encoder_channels: list[int] = field(default_factory=lambda: [32, 64, 256, 512, 32])
    encoder_weight_net: list[int] = field(default_factory=lambda: [16, 16, 16, 16])
    # optional average pooling after each layer (None = no pooling at that layer)
    encoder_pool_centroids: list[int | None] | None = None
    encoder_pool_neighbours: list[int | None] | None = None
    # centroids: exact farthest-point sampling per sample ("fps"); "fps_order": the first
    # observed points of one cached farthest-point order of shared coordinates (well spread,
    # 3-4x cheaper plans under point dropout; a sample's centroids then depend on the whole
    # grid, not on its observed points alone); "random" (the paper's cheap option); "stratified"
    centroid_method: CentroidMethod = "fps"
    # how the last layer's centroid features become q(z): flattened (paper) or averaged
    encoder_readout: Literal["flatten", "mean"] = "flatten"
    # neighbour search on raw coordinates (fast) or on Fourier features (the authors' code)
    neighbour_space: Literal["coords", "fourier"] = "coords"
    # -- hypernetworks and generators ------------------------------------------------------
    hypernet_layers: list[int] = field(default_factory=lambda: [256, 512])
    hypernet_dropout: float = 0.0
    generator_layers: list[int] = field(default_factory=lambda: [64, 64, 64])
    # -- categorical prior pi(c | x, z) and posterior q(c | x, y, z) ------------------------
    categorical_layers: list[int] = field(default_factory=lambda: [32, 32])
    # -- prior on z ---------------------------------------------------------------------------
    flow_layers: int = 10  # T planar layers; 0 = standard normal prior throughout
    # -- likelihood -------------------------------------------------------------------------
    likelihood: str = "gaussian"
    # beta-NLL weighting of a learned-scale likelihood in the training loss (0 = the plain ELBO);
    # 0.5 fits the mean far better on small budgets (benchmarks/ ablates it)
    nll_beta: float = 0.5
    # -- conditioning beyond the global latent (not in the paper) -------------------------------
    # "backbone": conditional predictions come from the Gaussian backbone (vamoh.backbone) and the
    # learned layers on top of it; the network models the backbone's standardised residual.
    # "global" is the paper's model alone; "local"/"hybrid" are earlier options kept for the
    # ablations (the backbone halves their error on ERA5 and NCEP)
    conditioning: Conditioning = "backbone"
    local_neighbours: int = 16  # k observed points pooled around each query point
    local_dim: int = 32  # width of the local feature fed to generators and categorical nets
    # which learned layers (the backbone head, the VaMoH residual) answer conditional tasks:
    # "auto" keeps each one that improves a held-out task by 2% or more in RMSE or CRPS
    learned_layers: LearnedLayers = "auto"
    pool_examples: int | None = None  # task-shaped examples for the learned layers (None: auto)
    head_steps: int = 600  # optimiser steps of the backbone head
    # how widely the backbone's hyper-parameters are searched: "full" (4 folds, 18 settings and
    # a refinement: seconds to a minute on a CPU), "quick" (2 folds, 4 settings), both with higher
    # blends for gappy records; "auto" is quick
    # for short fits (a budget under 2 minutes or 300 steps, or max_epochs of 10 or fewer)
    backbone_search: BackboneSearch = "auto"
    # -- training ---------------------------------------------------------------------------
    batch_size: int = 64
    max_epochs: int = 600
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 10.0  # max gradient norm of the per-point loss
    point_dropout: float = 0.0  # alpha: drop rate p ~ U(0, alpha) per sample
    points_per_sample: int | None = None  # random subset of points per sample per step
    likelihood_points: int | None = None  # unbiased subset of points scored per step
    flow_warmup_epochs: int = 200  # N(0, I) prior with analytic KL before the flow
    categorical_warmup_epochs: int = 100  # uniform frozen pi(c | x, z) before it is learned
    beta_z: float = 1.0
    beta_c: float = 1.0
    kl_samples: int = 1  # Monte-Carlo samples for the flow-prior KL
    # "bf16-mixed": encoder and generators compute in bfloat16 (weights, likelihood and ELBO stay
    # float32); 2x faster steps on a CPU with AVX512-BF16 (benchmarks/), ~0.5% relative error
    # in the decoded values; for GPUs and CPUs with native bfloat16 only
    precision: Precision = "fp32"
    early_stopping_patience: int | None = None  # epochs without validation improvement
    seed: int = 0

    def replace(self, **changes: Any) -> VaMoHConfig:
        """A copy with some fields changed; unknown names are an error."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(
                f"unknown VaMoHConfig fields {sorted(unknown)}; see VaMoHConfig for the names."
            )
        return dataclasses.replace(self, **changes)

    def validate(self) -> VaMoHConfig:
        """Check the sizes fit together; raises ``ValueError`` naming the field."""
        n = len(self.encoder_centroids)
        for name in ("encoder_neighbours", "encoder_channels"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} entries but encoder_centroids has "
                    f"{n}; give one per encoder layer."
                )
        for name in ("encoder_pool_centroids", "encoder_pool_neighbours"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} needs one entry (or None) per encoder layer.")
        if self.dim_z < 1 or self.n_components < 1:
            raise ValueError("dim_z and n_components must be positive.")
        if not 0.0 <= self.nll_beta <= 1.0:
            raise ValueError(f"nll_beta must be in [0, 1]; got {self.nll_beta}.")
        if not 0.0 <= self.point_dropout < 1.0:
            raise ValueError(f"point_dropout must be in [0, 1); got {self.point_dropout}.")
        for name, allowed in (
            ("conditioning", get_args(Conditioning)),
            ("learned_layers", get_args(LearnedLayers)),
            ("backbone_search", get_args(BackboneSearch)),
            ("precision", get_args(Precision)),
            ("centroid_method", get_args(CentroidMethod)),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {', '.join(map(repr, allowed))}; "
                    f"got {getattr(self, name)!r}."
                )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VaMoHConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def preset(cls, name: str, **changes: Any) -> VaMoHConfig:
        """Table 3 of the paper: ``celeba_hq``, ``shapes3d``, ``polymnist``, ``shapenet``, ``era5``."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
        return cls(**PRESETS[name]).replace(**changes)


# Table 3 of the paper (Koyuncu et al., ICML 2023): the paper's model, the network alone
# (conditioning "global"); modalities combine them with the backbone where it applies.
PRESETS: dict[str, dict[str, Any]] = {
    "celeba_hq": dict(
        conditioning="global",
        dim_z=64,
        n_components=10,
        max_epochs=1000,
        batch_size=64,
        lr=1e-4,
        encoder_weight_net=[16, 16, 16, 16],
        encoder_neighbours=[9, 9, 9, 9, 9],
        encoder_centroids=[4096, 1024, 256, 64, 1],
        encoder_channels=[64, 128, 256, 512, 512],
        encoder_pool_neighbours=[9, 9, 9, 9, None],
        encoder_pool_centroids=[1024, 256, 64, 16, None],
        categorical_layers=[64, 32],
        hypernet_layers=[256, 512],
        generator_layers=[64, 64, 64],
        flow_layers=80,
        likelihood="discretised_logistic",
    ),
    "shapes3d": dict(
        conditioning="global",
        dim_z=32,
        n_components=5,
        max_epochs=600,
        batch_size=64,
        lr=1e-4,
        encoder_weight_net=[16, 16],
        encoder_neighbours=[16, 16, 16],
        encoder_centroids=[1024, 256, 64],
        encoder_channels=[32, 64, 256],
        categorical_layers=[32, 32],
        hypernet_layers=[128, 256],
        generator_layers=[32, 32],
        flow_layers=20,
        likelihood="discretised_logistic",
    ),
    "polymnist": dict(
        conditioning="global",
        dim_z=16,
        n_components=4,
        max_epochs=600,
        batch_size=256,
        lr=1e-3,
        encoder_weight_net=[16, 16],
        encoder_neighbours=[9, 9, 9],
        encoder_centroids=[196, 49, 25],
        encoder_channels=[32, 32, 32],
        categorical_layers=[32, 32],
        hypernet_layers=[16, 32],
        generator_layers=[4, 4, 4],
        flow_layers=3,
        likelihood="discretised_logistic",
    ),
    "shapenet": dict(
        conditioning="global",
        dim_z=32,
        n_components=3,
        max_epochs=500,
        batch_size=22,
        lr=1e-3,
        encoder_weight_net=[16, 16, 16, 16],
        encoder_neighbours=[8, 27, 27, 27, 8],
        encoder_centroids=[4096, 512, 64, 16, 16],
        encoder_channels=[32, 64, 128, 256, 16],
        categorical_layers=[32, 32],
        hypernet_layers=[256, 512],
        generator_layers=[64, 64, 64],
        flow_layers=40,
        likelihood="bernoulli",
        points_per_sample=4096,
    ),
    "era5": dict(
        conditioning="global",
        dim_z=32,
        n_components=3,
        max_epochs=600,
        batch_size=64,
        lr=1e-4,
        encoder_weight_net=[16, 16, 16, 16],
        encoder_neighbours=[9, 9, 9, 9, 9],
        encoder_centroids=[1024, 256, 64, 32, 16],
        encoder_channels=[32, 64, 256, 512, 32],
        categorical_layers=[32, 32],
        hypernet_layers=[256, 512],
        generator_layers=[64, 64, 64],
        flow_layers=10,
        likelihood="continuous_bernoulli",
    ),
}
