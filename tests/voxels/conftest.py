"""Tiny synthetic voxel shapes (spheres and boxes) shared by the voxel tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from vamoh_voxels import occupancy_dataset, voxel_axis


def make_shapes(n: int = 16, size: int = 16, seed: int = 0) -> np.ndarray:
    """``(n, size, size, size)`` 0/1 grids: spheres and boxes of random centre and size."""
    rng = np.random.default_rng(seed)
    axis = voxel_axis(size)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    centres = rng.uniform(-0.3, 0.3, size=(n, 3))[:, :, None, None, None]
    radii = rng.uniform(0.35, 0.6, size=n)[:, None, None, None]
    dx, dy, dz = x - centres[:, 0], y - centres[:, 1], z - centres[:, 2]
    spheres = dx**2 + dy**2 + dz**2 <= radii**2
    boxes = (np.abs(dx) <= radii) & (np.abs(dy) <= radii) & (np.abs(dz) <= 0.7 * radii)
    is_sphere = (np.arange(n) % 2 == 1)[:, None, None, None]
    return np.where(is_sphere, spheres, boxes).astype(np.float64)


@pytest.fixture
def shapes() -> xr.Dataset:
    """16 synthetic 16^3 shapes labelled s0..s15."""
    return occupancy_dataset(make_shapes(), labels=[f"s{i}" for i in range(16)])


@pytest.fixture
def voxel_data(shared_data: Path) -> Path:
    """The real voxel files in ../shared/data/voxels (skips when absent)."""
    folder = shared_data / "voxels"
    if not folder.is_dir():
        pytest.skip("../shared/data/voxels is not present")
    return folder
