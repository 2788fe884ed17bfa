"""ShapeNet folder layouts: every shape found, labelled by synset and model id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vamoh
from vamoh_voxels import BinvoxFormatError, EmptyShapeError, write_binvox
from vamoh_voxels.shapenet import ShapeNetReader

from .conftest import make_shapes


def _vox32(root: Path, synset: str, models: list[str], size: int = 8) -> None:
    grids = make_shapes(len(models), size)
    for model, grid in zip(models, grids):
        (root / synset / model).mkdir(parents=True)
        write_binvox(root / synset / model / "model.binvox", grid)


def test_vox32_root_and_synset_folder(tmp_path: Path) -> None:
    _vox32(tmp_path, "03001627", ["b", "a"])
    _vox32(tmp_path, "04379243", ["c"])
    ds = vamoh.open_dataset(tmp_path)
    assert ds.shape.values.tolist() == ["a", "b", "c"]
    assert ds.synset.values.tolist() == ["03001627", "03001627", "04379243"]
    assert ds.occupancy.dims == ("shape", "x", "y", "z")
    chairs = vamoh.open_dataset(tmp_path / "03001627")
    assert chairs.shape.values.tolist() == ["a", "b"]
    one = vamoh.open_dataset(tmp_path / "03001627" / "a")
    assert one.shape.values.tolist() == ["a"]


def test_core_v2_layout_with_resolution(tmp_path: Path) -> None:
    for model, grid in zip(["m1", "m2"], make_shapes(2, 16)):
        folder = tmp_path / "03001627" / model / "models"
        folder.mkdir(parents=True)
        write_binvox(folder / "model_normalized.solid.binvox", grid)
    ds = vamoh.open_dataset(tmp_path, resolution=8)
    assert ds.shape.values.tolist() == ["m1", "m2"] and ds.sizes["x"] == 8
    assert ds.synset.values.tolist() == ["03001627"] * 2
    assert vamoh.open_dataset(tmp_path, limit=1).sizes["shape"] == 1


def test_flat_folder_of_binvox(tmp_path: Path) -> None:
    for name, grid in zip(["p", "q"], make_shapes(2, 8)):
        write_binvox(tmp_path / f"{name}.binvox", grid)
    ds = vamoh.open_dataset(tmp_path)
    assert ds.shape.values.tolist() == ["p", "q"]


def test_mixed_resolutions_and_empty_shapes(tmp_path: Path) -> None:
    _vox32(tmp_path, "s", ["a"], size=8)
    _vox32(tmp_path, "s2", ["b"], size=16)
    with pytest.raises(BinvoxFormatError, match=r"different resolutions.*resolution=N"):
        vamoh.open_dataset(tmp_path)
    assert vamoh.open_dataset(tmp_path, resolution=8).sizes["shape"] == 2
    (tmp_path / "s" / "z").mkdir()
    write_binvox(tmp_path / "s" / "z" / "model.binvox", np.zeros((8, 8, 8)))
    with pytest.raises(EmptyShapeError, match=r"z[/\\]model\.binvox.*empty"):
        vamoh.open_dataset(tmp_path, resolution=8)
    ds = vamoh.open_dataset(tmp_path, resolution=8, empty="drop")
    assert ds.shape.values.tolist() == ["a", "b"]


def test_folders_it_does_not_claim(tmp_path: Path) -> None:
    reader = ShapeNetReader()
    assert not reader.guess_can_open(tmp_path)
    assert not reader.guess_can_open(tmp_path / "missing")
    with pytest.raises(BinvoxFormatError, match="no ShapeNet voxel files"):
        reader.open(tmp_path)
