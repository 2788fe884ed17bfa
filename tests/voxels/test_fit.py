"""A tiny VaMoH fit on synthetic 16^3 shapes, then every operation of the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import vamoh
from vamoh_voxels import VoxelModality, occupancy_dataset
from vamoh_voxels.mesh import export_meshes
from vamoh_voxels.metrics import iou, psnr

from .conftest import make_shapes

TINY = {
    "dim_z": 8,
    "n_components": 2,
    "flow_layers": 2,
    "encoder_centroids": [256, 32, 8],
    "encoder_neighbours": [8, 8, 8],
    "encoder_channels": [16, 16, 16],
    "encoder_weight_net": [8, 8],
    "hypernet_layers": [32, 32],
    "generator_layers": [16, 16],
    "categorical_layers": [16],
    "points_per_sample": 512,
    "batch_size": 8,
    "lr": 3e-3,
}


@pytest.fixture(scope="module")
def shapes16() -> xr.Dataset:
    return occupancy_dataset(make_shapes(16, 16), labels=[f"s{i}" for i in range(16)])


@pytest.fixture(scope="module")
def model(shapes16: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> vamoh.Model:
    folder = tmp_path_factory.mktemp("checkpoints")
    return vamoh.fit(shapes16, config=TINY, max_epochs=3, progress=False, checkpoint_dir=folder)


def _in_unit_interval(values: xr.DataArray) -> bool:
    array = values.values
    return bool(np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0)


def test_fit_detects_voxels_and_uses_bernoulli(model: vamoh.Model) -> None:
    assert model.modality.name == "voxels"
    assert model.config.likelihood == "bernoulli"
    assert model.config.points_per_sample == 512


def test_reconstruct(model: vamoh.Model, shapes16: xr.Dataset) -> None:
    data = shapes16.isel(shape=slice(0, 3))
    recon = model.reconstruct(data)
    assert recon.occupancy.dims == ("shape", "x", "y", "z")
    assert recon.shape.values.tolist() == ["s0", "s1", "s2"]
    assert _in_unit_interval(recon.occupancy) and np.isfinite(recon.occupancy_std.values).all()
    assert iou(data, recon).shape == (3,) and np.isfinite(psnr(data, recon)).all()


def test_super_resolve_contains_the_original_grid(model: vamoh.Model, shapes16: xr.Dataset) -> None:
    data = shapes16.isel(shape=slice(0, 2))
    fine = model.super_resolve(data, factor=2)
    assert dict(fine.sizes) == {"shape": 2, "x": 31, "y": 31, "z": 31}
    assert _in_unit_interval(fine.occupancy)
    assert np.array_equal(fine.x.values[::2], data.x.values)


def test_impute_completes_half_a_shape(model: vamoh.Model, shapes16: xr.Dataset) -> None:
    data = shapes16.isel(shape=slice(0, 2))
    half = data.where(data.x < 0)  # the x >= 0 half is unobserved
    filled = model.impute(half)
    assert filled.occupancy.dims == ("shape", "x", "y", "z")
    assert _in_unit_interval(filled.occupancy)
    kept = data.occupancy.where(data.x < 0)
    np.testing.assert_array_equal(
        filled.occupancy.where(data.x < 0).values, kept.values.astype(np.float64)
    )
    hidden_std = filled.occupancy_std.where(data.x >= 0)
    assert float(hidden_std.max()) > 0.0
    assert float(filled.occupancy_std.where(data.x < 0).max()) == 0.0


def test_sample(model: vamoh.Model, shapes16: xr.Dataset, tmp_path: Path) -> None:
    draws = model.sample(3, like=shapes16.isel(shape=[0]), seed=0)
    assert draws.occupancy.dims == ("sample", "x", "y", "z") and draws.sizes["sample"] == 3
    assert _in_unit_interval(draws.occupancy)
    visible = draws.occupancy.max(dim=("x", "y", "z")) > 0.5
    if bool(visible.any()):
        kept = draws.isel(sample=np.flatnonzero(visible.values))
        assert export_meshes(kept, tmp_path, file_type="ply")


def test_segment(model: vamoh.Model, shapes16: xr.Dataset) -> None:
    parts = model.segment(shapes16.isel(shape=slice(0, 2)))
    assert parts.component.dims == ("shape", "x", "y", "z")
    assert set(np.unique(parts.component.values)) <= {0.0, 1.0}
    assert float(parts.entropy.min()) >= 0.0 and float(parts.entropy.max()) <= np.log(2) + 1e-6


def test_save_and_load(model: vamoh.Model, shapes16: xr.Dataset, tmp_path: Path) -> None:
    path = model.save(tmp_path / "shapes.vamoh")
    loaded = vamoh.load(path)
    assert isinstance(loaded.modality, VoxelModality)
    data = shapes16.isel(shape=[0])
    torch.manual_seed(0)  # predictions average random latent draws
    theirs = loaded.reconstruct(data).occupancy.values
    torch.manual_seed(0)
    np.testing.assert_allclose(theirs, model.reconstruct(data).occupancy.values, atol=1e-5)


class _RecordingVoxels(VoxelModality):
    """The voxels modality, noting the occupied share of every training subset it draws."""

    def __init__(self, **options: bool) -> None:
        super().__init__(**options)
        self.occupied_shares: list[float] = []

    def sample_points(self, values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        chosen = super().sample_points(values, n, rng)
        picked = np.take_along_axis(values[..., 0], chosen, axis=1)  # (b, n)
        self.occupied_shares.append(float(np.nanmean(picked)))
        return chosen


def test_fit_with_balanced_occupancy(shapes16: xr.Dataset, tmp_path: Path) -> None:
    modality = _RecordingVoxels(balance_occupancy=True)
    model = vamoh.fit(
        shapes16,
        modality=modality,
        config=TINY,
        max_epochs=2,
        progress=False,
        checkpoint_dir=tmp_path,
    )
    # every step drew its 512 voxels per shape through the modality: up to half of them
    # occupied (all the occupied voxels of a small shape), where uniform draws find about 5%
    shares = np.asarray(modality.occupied_shares)
    assert len(shares) >= 4 and shares.max() <= 0.5 + 1e-9
    assert shares.min() > 3 * float(shapes16.occupancy.mean())
    assert all(np.isfinite(v) for v in model.info["metrics"].values())
    recon = model.reconstruct(shapes16.isel(shape=slice(0, 2)))
    assert _in_unit_interval(recon.occupancy)
