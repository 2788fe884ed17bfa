"""Marching-cubes meshes of occupancy grids written as OBJ, PLY, GLB, STL and OFF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from vamoh_voxels import occupancy_dataset
from vamoh_voxels.mesh import export_mesh, export_meshes, occupancy_mesh


def _box() -> np.ndarray:
    grid = np.zeros((9, 9, 9))
    grid[2:7, 2:7, 2:7] = 1
    return grid


def test_mesh_is_closed_outward_and_in_model_coordinates() -> None:
    mesh = occupancy_mesh(_box())
    assert mesh.is_watertight and mesh.volume > 0
    # centres at -1 + i/4: voxels 2..6 span [-0.5, 0.5]; the 0.5 level sits half a voxel out
    np.testing.assert_allclose(mesh.bounds, [[-0.625] * 3, [0.625] * 3])


def test_border_touching_shapes_close() -> None:
    mesh = occupancy_mesh(np.ones((4, 4, 4)))
    assert mesh.is_watertight
    np.testing.assert_allclose(mesh.bounds, [[-4 / 3] * 3, [4 / 3] * 3])


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb", ".stl", ".off"])
def test_formats_load_back(tmp_path: Path, suffix: str) -> None:
    path = export_mesh(occupancy_dataset(_box()[None]), tmp_path / f"box{suffix}")
    loaded = trimesh.load(path, force="mesh")
    assert len(loaded.faces) == len(occupancy_mesh(_box()).faces)


def test_export_every_shape_of_a_result(tmp_path: Path) -> None:
    grids = np.stack([_box(), np.roll(_box(), 1, axis=2)])
    result = occupancy_dataset(grids, labels=["chair/1", "b"]).rename(shape="sample")
    result["occupancy"] = result.occupancy * 0.9  # probabilities, like a reconstruction
    result["occupancy_std"] = result.occupancy * 0 + 0.1
    paths = export_meshes(result, tmp_path / "out", file_type="glb")
    assert [p.name for p in paths] == ["chair_1.glb", "b.glb"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_export_errors(tmp_path: Path) -> None:
    target = export_mesh(_box(), tmp_path / "box.obj")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_mesh(_box(), target)
    export_mesh(_box(), target, overwrite=True)
    with pytest.raises(ValueError, match=r"unknown mesh format '\.fbx'"):
        export_mesh(_box(), tmp_path / "box.fbx")
    with pytest.raises(ValueError, match=r"no surface at level 0\.5"):
        export_mesh(np.zeros((4, 4, 4)), tmp_path / "none.obj")
    with pytest.raises(ValueError, match="export_meshes"):
        export_mesh(np.stack([_box(), _box()]), tmp_path / "two.obj")
