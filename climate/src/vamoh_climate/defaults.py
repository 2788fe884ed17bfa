"""Model sizes that suit the data: Table 3's ERA5 setting on its 46x90 grid, smaller for small data.

The paper's ERA5 network (41 M parameters, 5 PointConv layers, 1024 first-layer centroids) is
far too big for a 32x48 regional crop on a laptop CPU; the encoder cannot pick more centroids than
the points that survive point dropout either. Everything here is an override of
:class:`vamoh.config.VaMoHConfig` and the user's own config still wins.
"""

from __future__ import annotations

import math
from typing import Any

from vamoh.config import PRESETS

__all__ = ["CONDITIONING", "PAPER_GRID", "default_config"]

# How conditional predictions (downscaling, gap filling) use the observations: "backbone" is the
# engine's Gaussian backbone with the learned layers on top (docs/guide/climate.md, "The backbone
# and the learned layers"); on ERA5 UK and NCEP it halves the error of the earlier "hybrid".
CONDITIONING = "backbone"
PAPER_GRID = (46, 90)  # the paper's ERA5 grid: latitude linspace(90, -90, 46) x 90 longitudes
_POINT_DROPOUT = 0.5
_SMALL_LIMIT = 4096  # below this many points, the small network
_SUBSET_LIMIT = 20000  # above this many points, score a random subset per step
_FPS_MINIMUM = 16  # fewer points: fewer than 4 first-layer centroids, random (see _small)


def _small(n_points: int) -> dict[str, Any]:
    # first layer: a power of two that leaves >= 1/3 of the points per centroid and fits after
    # the worst-case point dropout, then / 4 per layer (512 -> 128 -> 32 for a 32x48 grid)
    budget = max(1.0, n_points * (1.0 - _POINT_DROPOUT) * (2.0 / 3.0))
    first = 2 ** math.floor(math.log2(budget))
    centroids = [first]
    while len(centroids) < 3 and centroids[-1] >= 8:
        centroids.append(centroids[-1] // 4)
    layers = len(centroids)
    available = [max(1, int(n_points * (1.0 - _POINT_DROPOUT))), *centroids[:-1]]
    # exact farthest-point sampling needs at least 4 observed points in a sample; a network of a
    # handful of stations, thinned by gaps and point dropout, may have fewer
    centroid_method = "random" if n_points < _FPS_MINIMUM else "fps"
    return dict(
        centroid_method=centroid_method,
        dim_z=32,
        n_components=3,
        encoder_centroids=centroids,
        encoder_neighbours=[min(9, a) for a in available],
        encoder_channels=[32, 64, 128][:layers],
        encoder_weight_net=[16, 16],
        encoder_pool_centroids=None,
        encoder_pool_neighbours=None,
        hypernet_layers=[64, 128],
        generator_layers=[64, 64],
        categorical_layers=[32, 32],
        flow_layers=4,
        lr=1e-3,
        batch_size=16,
        point_dropout=_POINT_DROPOUT,
        flow_warmup_epochs=10,
        categorical_warmup_epochs=5,
    )


def default_config(n_points: int, grid_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Config overrides for a field of ``n_points`` points (``grid_shape`` for gridded data).

    The paper's grid gets Table 3's ERA5 preset with this modality's Gaussian likelihood (the
    preset's continuous Bernoulli needs [0, 1]-scaled data: ask for it explicitly with
    ``config={"likelihood": "continuous_bernoulli"}`` if the engine's normalisation suits it).
    Fields of up to 20000 points condition with :data:`CONDITIONING`; larger ones keep the
    paper's global latent and score a random subset of 8192 points per step, because the
    backbone's anomaly basis spans every point (a 0.25 degree grid's would not fit in bounded
    memory).

    Example:
        >>> cfg = default_config(32 * 48, (32, 48))
        >>> cfg["encoder_centroids"], cfg["encoder_neighbours"], cfg["encoder_channels"]
        ([512, 128, 32], [9, 9, 9], [32, 64, 128])
        >>> default_config(46 * 90, (46, 90))["encoder_centroids"]
        [1024, 256, 64, 32, 16]
        >>> default_config(5)["encoder_centroids"], default_config(5)["centroid_method"]
        ([1], 'random')
        >>> default_config(5)["conditioning"] == CONDITIONING, default_config(721 * 1440)["conditioning"]
        (True, 'global')
    """
    if grid_shape is not None and tuple(grid_shape) == PAPER_GRID:
        preset = {k: v for k, v in PRESETS["era5"].items() if k not in ("likelihood",)}
        return {**preset, "conditioning": CONDITIONING}
    if n_points < _SMALL_LIMIT:
        return {**_small(n_points), "conditioning": CONDITIONING}
    large = {k: v for k, v in PRESETS["era5"].items() if k not in ("likelihood", "max_epochs")}
    large["point_dropout"] = _POINT_DROPOUT
    if n_points > _SUBSET_LIMIT:
        large["points_per_sample"] = 8192
        large["conditioning"] = "global"
    else:
        large["conditioning"] = CONDITIONING
    return large
