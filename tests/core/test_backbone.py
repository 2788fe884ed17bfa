"""The Gaussian backbone's hyper-parameter search and the std calibration of its layers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from vamoh.backbone.backbone import GAPPY_BLENDS, GaussianBackbone
from vamoh.layers.ablation import std_scales
from vamoh.modality import Modality
from vamoh.nn.heads import BackboneHead
from vamoh.normalisation import Normaliser
from vamoh.pointset import PointSet


def _records(missing: float, seed: int = 0) -> PointSet:
    """A 40-site network in 2-D: smooth fields plus noise, ``missing`` of the records NaN."""
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0.0, 1.0, (40, 2))
    dist2 = ((sites[:, None] - sites[None]) ** 2).sum(-1)
    chol = np.linalg.cholesky(np.exp(-dist2 / (2 * 0.2**2)) + 1e-6 * np.eye(40))
    values = (chol @ rng.standard_normal((40, 36))).T + 0.1 * rng.standard_normal((36, 40))
    values[rng.random(values.shape) < missing] = np.nan
    return PointSet(sites.astype(np.float32), values[..., None], ("v",), (None,))


def _fit(points: PointSet) -> GaussianBackbone:
    norm = Normaliser.fit("standard", np.asarray(points.values))
    return GaussianBackbone.fit(points, Modality(), norm, np.arange(32), search="quick")


def test_gappy_records_are_scored_and_get_the_higher_blends() -> None:
    backbone = _fit(_records(missing=0.6))
    assert backbone.prior.stats.gappy
    scores = [v for table in backbone.scores.values() for v in table.values()]
    # every candidate has a finite validation error: the records' own gaps are skipped
    assert scores and all(math.isfinite(v) for v in scores)
    blends = {float(key.split("/")[0]) for key in backbone.scores["hole"]}
    assert set(GAPPY_BLENDS) <= blends


def test_complete_fields_keep_the_low_blends() -> None:
    backbone = _fit(_records(missing=0.0))
    assert not backbone.prior.stats.gappy
    blends = {float(key.split("/")[0]) for key in backbone.scores["hole"]}
    assert blends.isdisjoint(GAPPY_BLENDS)


def test_the_head_never_narrows_the_backbone_std() -> None:
    torch.manual_seed(0)
    head = BackboneHead()
    for p in head.parameters():
        torch.nn.init.normal_(p, std=3.0)  # a head that would like to shrink or widen a lot
    experts = torch.rand(500, 2, 2) + 0.1
    w_free = torch.rand(500)
    _, std = head(experts, torch.ones(500), w_free, torch.zeros(500), torch.zeros(500))
    _, mixture = head(
        experts, torch.ones(500), w_free, torch.zeros(500), torch.zeros(500), use_std=False
    )
    assert bool((std >= mixture * (1 - 1e-6)).all())
    assert bool((std > mixture * 1.01).any())


def test_std_calibration_widens_in_full_and_narrows_half_way() -> None:
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((50, 30, 1))
    pool = SimpleNamespace(
        hidden=np.ones((50, 30), dtype=bool), truth=truth, kinds=np.zeros(50, dtype=int)
    )
    mean = np.zeros_like(truth)
    too_wide = std_scales(pool, None, mean, np.full_like(truth, 5.0))
    too_narrow = std_scales(pool, None, mean, np.full_like(truth, 0.5))
    # a std of 5 needs a factor of 1/5 to cover 90%; half-way in log scale is about 0.45
    assert 0.38 < too_wide["points"] < 0.52
    assert 1.8 < too_narrow["points"] < 2.2  # a std of 0.5 x 2 covers 90% of N(0, 1)
