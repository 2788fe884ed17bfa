"""Occupancy arrays in .npy / .npy.gz files, including the real ModelNet10 chairs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import vamoh
from vamoh_voxels import EmptyShapeError, OccupancyArrayError, load_modelnet_split
from vamoh_voxels.numpy_files import OccupancyArrayReader

from .conftest import make_shapes


def _save_gz(path: Path, array: np.ndarray) -> Path:
    with gzip.open(path, "wb") as stream:
        np.save(stream, array)
    return path


def test_npy_and_npy_gz(tmp_path: Path) -> None:
    grids = make_shapes(3, 8)
    np.save(tmp_path / "a.npy", grids)
    _save_gz(tmp_path / "b.npy.gz", grids[:, None])
    for name, stem in [("a.npy", "a"), ("b.npy.gz", "b")]:
        ds = vamoh.open_dataset(tmp_path / name)
        assert ds.shape.values.tolist() == [f"{stem}/0", f"{stem}/1", f"{stem}/2"]
        np.testing.assert_array_equal(ds.occupancy.values, grids)


def test_does_not_claim_image_stacks(tmp_path: Path) -> None:
    reader = OccupancyArrayReader()
    np.save(tmp_path / "images.npy", np.zeros((10, 28, 28, 3)))
    np.save(tmp_path / "flat.npy", np.zeros((10, 28)))
    np.save(tmp_path / "cubes.npy", np.zeros((10, 5, 5, 5)))
    np.save(tmp_path / "tiny.npy", np.zeros((10, 4, 4, 4)))
    assert not reader.guess_can_open(tmp_path / "images.npy")
    assert not reader.guess_can_open(tmp_path / "flat.npy")
    assert reader.guess_can_open(tmp_path / "cubes.npy")
    assert not reader.guess_can_open(tmp_path / "tiny.npy")  # (N, C=4, H, W) images


def test_bad_files_name_themselves(tmp_path: Path) -> None:
    reader = OccupancyArrayReader()
    good = tmp_path / "good.npy.gz"
    _save_gz(good, make_shapes(2, 8))
    truncated = tmp_path / "truncated.npy.gz"
    truncated.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(OccupancyArrayError, match=r"truncated\.npy\.gz: not a readable"):
        reader.open(truncated)
    np.save(tmp_path / "soft.npy", np.full((2, 5, 5, 5), 0.5))
    with pytest.raises(OccupancyArrayError, match=r"soft\.npy: .*binary"):
        vamoh.open_dataset(tmp_path / "soft.npy")
    np.save(tmp_path / "wrong.npy", np.ones((2, 3, 4, 4, 4)))
    with pytest.raises(OccupancyArrayError, match=r"wrong\.npy: .*\(N, D, H, W\)"):
        reader.open(tmp_path / "wrong.npy")
    grids = make_shapes(3, 8)
    grids[0] = 0
    np.save(tmp_path / "holes.npy", grids)
    with pytest.raises(EmptyShapeError, match=r"holes\.npy: .*empty='drop'"):
        reader.open(tmp_path / "holes.npy")
    kept = reader.open(tmp_path / "holes.npy", empty="drop")
    assert kept.row.values.tolist() == [1, 2]
    with pytest.raises(FileNotFoundError):
        reader.open(tmp_path / "missing.npy")


def test_real_modelnet_chairs(voxel_data: Path) -> None:
    path = voxel_data / "modelnet10_chair_32.npy.gz"
    with pytest.raises(EmptyShapeError, match=r"modelnet10_chair_32\.npy\.gz"):
        vamoh.open_dataset(path)  # row 0 is an all-zero placeholder
    train, test = load_modelnet_split(path)
    assert train.sizes["shape"] == 800 and test.sizes["shape"] == 89
    assert train.row.values[0] == 1 and test.row.values[0] == 801
    assert test.shape.values[-1] == "modelnet10_chair_32/889"
    assert set(np.unique(train.occupancy.values)) == {0.0, 1.0}
    assert vamoh.plugins.modalities()["voxels"].can_handle(test) == 1.0
