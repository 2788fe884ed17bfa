"""Triangle meshes (OBJ, PLY, STL, OFF) voxelised into occupancy grids.

A mesh is centred and scaled so its longest side spans the voxel centres from -1 to 1, its
surface is voxelised by trimesh (subdividing triangles until they are smaller than a voxel),
and the enclosed interior is filled. A mesh with holes in its surface keeps only the surface
voxels where the holes let the inside leak out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import trimesh
import xarray as xr
from scipy import ndimage

from vamoh.modality import Reader
from vamoh_voxels.arrays import occupancy_dataset
from vamoh_voxels.errors import MeshFormatError, existing_path

__all__ = ["MESH_FORMATS", "MeshReader", "load_mesh", "voxelize_mesh"]

MESH_FORMATS: tuple[str, ...] = (".obj", ".ply", ".stl", ".off")


def load_mesh(path: str | Path) -> trimesh.Trimesh:
    """Load one triangle mesh; unknown formats and meshes without triangles raise.

    Example:
        >>> import tempfile, os, trimesh
        >>> path = os.path.join(tempfile.mkdtemp(), "box.stl")
        >>> _ = trimesh.creation.box().export(path)
        >>> len(load_mesh(path).faces)
        12
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise MeshFormatError(
            f"{path}: unknown mesh format {suffix or '(no suffix)'!r}; supported: "
            f"{', '.join(MESH_FORMATS)}. Convert the mesh (e.g. with trimesh or meshlab)."
        )
    existing_path(path, f"{suffix[1:].upper()} mesh file")
    try:
        mesh = trimesh.load(path, file_type=suffix[1:], force="mesh")
    except Exception as exc:  # trimesh's parsers raise many types on corrupt input
        raise MeshFormatError(
            f"{path}: could not be read as {suffix[1:].upper()} ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise MeshFormatError(
            f"{path}: holds no triangles to voxelise; check that it is a "
            f"{suffix[1:].upper()} surface mesh and not a point cloud or an empty file."
        )
    return mesh


def voxelize_mesh(mesh: trimesh.Trimesh, resolution: int = 32, *, fill: bool = True) -> np.ndarray:
    """An ``(r, r, r)`` bool occupancy grid of ``mesh``, scaled to fit the voxel cube.

    Args:
        mesh: a triangle mesh (any position and size).
        resolution: voxels per axis.
        fill: fill the enclosed interior (solid shapes) instead of keeping only the surface.

    Example:
        >>> import trimesh
        >>> grid = voxelize_mesh(trimesh.creation.box(), resolution=8)
        >>> grid.shape, bool(grid.all())
        ((8, 8, 8), True)
    """
    if int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2; got {resolution!r}.")
    resolution = int(resolution)
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    lower, upper = vertices.min(axis=0), vertices.max(axis=0)
    extent = float((upper - lower).max())
    if not np.isfinite(extent) or extent <= 0.0:
        raise MeshFormatError(
            "the mesh has no extent (all vertices coincide); nothing to voxelise."
        )
    pitch = 2.0 / (resolution - 1)
    # centre the mesh in [0, 2]^3 so voxel centres fall on multiples of the pitch, which is
    # where trimesh's subdivision voxeliser places them
    centre = (lower + upper) / 2.0
    normalised = (vertices - centre) * (2.0 / extent) + 1.0
    scaled = trimesh.Trimesh(normalised, np.asarray(mesh.faces), process=False)
    surface = trimesh.voxel.creation.voxelize(scaled, pitch=pitch, method="subdivide")
    indices = np.rint(np.asarray(surface.points) / pitch).astype(np.int64)  # (V, 3)
    indices = np.clip(indices, 0, resolution - 1)
    grid = np.zeros((resolution,) * 3, dtype=bool)
    grid[indices[:, 0], indices[:, 1], indices[:, 2]] = True
    return ndimage.binary_fill_holes(grid) if fill else grid


class MeshReader(Reader):
    """Opens an OBJ, PLY, STL or OFF mesh as occupancy over ``(shape, x, y, z)``.

    ``open`` takes ``resolution`` (voxels per axis, default 32) and ``fill`` (default True:
    solid interior; False: surface voxels only).

    Example:
        >>> import tempfile, os, trimesh, vamoh
        >>> path = os.path.join(tempfile.mkdtemp(), "ball.ply")
        >>> _ = trimesh.creation.icosphere().export(path)
        >>> ds = vamoh.open_dataset(path, resolution=16)
        >>> dict(ds.sizes), ds.attrs["voxelized_at"]
        ({'shape': 1, 'x': 16, 'y': 16, 'z': 16}, 16)
    """

    name: ClassVar[str] = "mesh"
    extensions: ClassVar[tuple[str, ...]] = MESH_FORMATS
    description: ClassVar[str] = "OBJ/PLY/STL/OFF triangle meshes, voxelised at a chosen resolution"

    def open(
        self, path: Any, *, resolution: int = 32, fill: bool = True, **kwargs: Any
    ) -> xr.Dataset:
        if kwargs:
            raise TypeError(f"mesh reader got unknown options {sorted(kwargs)}.")
        path = Path(path)
        grid = voxelize_mesh(load_mesh(path), resolution, fill=fill)
        return occupancy_dataset(
            grid[None],
            labels=[path.stem],
            source=str(path),
            attrs={"voxelized_at": int(resolution)},
        )
