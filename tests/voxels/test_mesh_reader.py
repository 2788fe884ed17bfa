"""Meshes (OBJ/PLY/STL/OFF) voxelised at a chosen resolution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

import vamoh
from vamoh_voxels import MeshFormatError, voxel_axis, voxelize_mesh


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".off"])
def test_formats_voxelise_a_sphere(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ball{suffix}"
    trimesh.creation.icosphere(subdivisions=3, radius=3.0).export(path)
    ds = vamoh.open_dataset(path, resolution=16)
    assert dict(ds.sizes) == {"shape": 1, "x": 16, "y": 16, "z": 16}
    assert ds.shape.values.tolist() == ["ball"]
    axis = voxel_axis(16)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    inside = x**2 + y**2 + z**2 <= 0.8**2
    assert ds.occupancy.values[0][inside].all()  # the filled interior
    assert not ds.occupancy.values[0][x**2 + y**2 + z**2 > 1.3**2].any()


def test_box_fills_its_extent() -> None:
    grid = voxelize_mesh(trimesh.creation.box(extents=(2.0, 1.0, 0.5)), 16)
    assert grid.any(axis=(1, 2)).sum() == 16
    assert grid.any(axis=(0, 2)).sum() == 8
    assert grid.all(axis=0).any()
    hollow = voxelize_mesh(trimesh.creation.box(), 8, fill=False)
    assert not hollow[3:5, 3:5, 3:5].any() and hollow.sum() < 8**3


def test_bad_meshes(tmp_path: Path) -> None:
    from vamoh_voxels.meshes import MeshReader

    reader = MeshReader()
    with pytest.raises(MeshFormatError, match=r"shape\.xyz: unknown mesh format '\.xyz'"):
        reader.open(tmp_path / "shape.xyz")
    empty = tmp_path / "empty.obj"
    empty.write_text("# nothing here\n")
    with pytest.raises(MeshFormatError, match=r"empty\.obj: holds no triangles"):
        reader.open(empty)
    with pytest.raises(FileNotFoundError):
        reader.open(tmp_path / "missing.stl")
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 99\nend_header\n\x00")
    with pytest.raises(MeshFormatError, match=r"broken\.ply"):
        reader.open(broken)
    with pytest.raises(ValueError, match="resolution"):
        voxelize_mesh(trimesh.creation.box(), 1)
