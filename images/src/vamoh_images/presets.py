"""Model configurations for images: the paper's Table 3 presets, picked by size and scaled down.

The paper trains PolyMNIST (28x28) with ``polymnist``, Shapes3D (64x64) with ``shapes3d`` and
CelebA HQ (64x64) with ``celeba_hq``. :func:`image_config` picks by the longer image side
(<= 32: ``polymnist``; <= 64: ``shapes3d``; larger: ``celeba_hq``) and then makes it fit the data:

* encoder (and pooling) centroids shrink in proportion to the pixel count when the images have
  fewer pixels than the preset's dataset, and never exceed the points a layer receives;
  neighbour counts never exceed the points they are drawn from;
* point dropout (paper Sec. 3.3) gets the largest rate, capped at 0.5, that still leaves as many
  points as first-layer centroids;
* images above 128x128 train on random subsets of 16384 pixels per step;
* conditioning is :data:`CONDITIONING` (``"local"``): each pixel also attends to its nearest
  observed pixels;
* without a GPU: at most 10 flow layers, encoder channels capped at 128, hypernetwork layers
  capped at 256, grid-stratified centroids instead of farthest-point sampling, and with local
  conditioning at most 1024 target pixels scored per image per step (an unbiased subset).
"""

from __future__ import annotations

import math
from typing import Any

from vamoh.config import PRESETS

__all__ = ["CONDITIONING", "PRESET_PIXELS", "image_config", "preset_for"]

# Measured on held-out Olivetti faces (31x31, equal 2.5-minute CPU budgets; rerun with
# benchmarks/images_quality.py): local conditioning matched bicubic x2 super-resolution and beat
# nearest-pixel filling of 50% random gaps, where the global latent alone gave blurred mean faces
# 7 dB worse; the global latent filled a large centred patch better. The local path is the default.
CONDITIONING = "local"

# Pixels per image in the dataset each preset was tuned on (Table 3 of the paper).
PRESET_PIXELS = {"polymnist": 28 * 28, "shapes3d": 64 * 64, "celeba_hq": 64 * 64}
_LARGE_IMAGE_PIXELS = 128 * 128
_POINTS_PER_SAMPLE = 16384
_MAX_POINT_DROPOUT = 0.5
# The local path costs per scored pixel; this subset halves a CPU step on 64x64 images.
_CPU_LIKELIHOOD_POINTS = 1024


def preset_for(height: int, width: int) -> str:
    """The Table 3 preset for images of this size.

    Example:
        >>> preset_for(28, 28), preset_for(64, 64), preset_for(128, 96)
        ('polymnist', 'shapes3d', 'celeba_hq')
    """
    side = max(height, width)
    if side <= 32:
        return "polymnist"
    if side <= 64:
        return "shapes3d"
    return "celeba_hq"


def _scaled(values: list[int], ratio: float) -> list[int]:
    return [max(1, round(v * ratio)) for v in values]


def _fit_encoder(cfg: dict[str, Any], n_points: int, ratio: float) -> None:
    """Shrink centroid and neighbour counts in place so every layer has the points it asks for."""
    centroids = _scaled(cfg["encoder_centroids"], min(1.0, ratio))
    pool_centroids = cfg.get("encoder_pool_centroids")
    pool_neighbours = cfg.get("encoder_pool_neighbours")
    neighbours = list(cfg["encoder_neighbours"])
    available = n_points
    for i in range(len(centroids)):
        centroids[i] = min(centroids[i], available)
        neighbours[i] = min(neighbours[i], available)
        available = centroids[i]
        if pool_centroids is not None and pool_centroids[i] is not None:
            pooled = min(max(1, round(pool_centroids[i] * min(1.0, ratio))), available)
            pool_centroids[i] = pooled
            pool_neighbours[i] = min(pool_neighbours[i], available)
            available = pooled
    cfg["encoder_centroids"] = centroids
    cfg["encoder_neighbours"] = neighbours
    if pool_centroids is not None:
        cfg["encoder_pool_centroids"] = pool_centroids
        cfg["encoder_pool_neighbours"] = pool_neighbours


def _scale_for_cpu(cfg: dict[str, Any], n_points: int) -> None:
    cfg["flow_layers"] = min(cfg["flow_layers"], 10)
    cfg["encoder_channels"] = [min(c, 128) for c in cfg["encoder_channels"]]
    cfg["hypernet_layers"] = [min(h, 256) for h in cfg["hypernet_layers"]]
    cfg["centroid_method"] = "stratified"
    if cfg["conditioning"] != "global" and n_points > _CPU_LIKELIHOOD_POINTS:
        cfg["likelihood_points"] = _CPU_LIKELIHOOD_POINTS


def image_config(
    height: int,
    width: int,
    *,
    likelihood: str = "discretised_logistic",
    gpu: bool | None = None,
) -> dict[str, Any]:
    """Config overrides for ``height`` x ``width`` images (see the module docstring for the rules).

    Args:
        height, width: image size in pixels.
        likelihood: the likelihood suited to the pixel type.
        gpu: whether training will have a GPU (default: whether torch sees CUDA).

    Example:
        >>> cfg = image_config(16, 16, gpu=True)
        >>> cfg["encoder_centroids"], cfg["point_dropout"], cfg["dim_z"], cfg["conditioning"]
        ([64, 16, 8], 0.5, 16, 'local')
        >>> from vamoh.config import VaMoHConfig
        >>> VaMoHConfig(**image_config(64, 64, gpu=False)).validate().flow_layers
        10
    """
    if height < 1 or width < 1:
        raise ValueError(f"images need at least one pixel; got {height}x{width}.")
    if gpu is None:
        import torch

        gpu = bool(torch.cuda.is_available())
    name = preset_for(height, width)
    cfg: dict[str, Any] = {
        k: (list(v) if isinstance(v, list) else v) for k, v in PRESETS[name].items()
    }
    n_pixels = height * width
    n_points = n_pixels
    if n_pixels > _LARGE_IMAGE_PIXELS:
        cfg["points_per_sample"] = _POINTS_PER_SAMPLE
        n_points = _POINTS_PER_SAMPLE
    _fit_encoder(cfg, n_points, n_pixels / PRESET_PIXELS[name])
    spare = 1.0 - cfg["encoder_centroids"][0] / n_points
    cfg["point_dropout"] = math.floor(max(0.0, min(_MAX_POINT_DROPOUT, spare)) * 100) / 100
    cfg["likelihood"] = likelihood
    cfg["conditioning"] = CONDITIONING
    if not gpu:
        _scale_for_cpu(cfg, n_points)
    return cfg
