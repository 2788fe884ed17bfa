"""Surfaces of occupancy grids: marching cubes (scikit-image) to OBJ, PLY, GLB, STL or OFF.

Works on any result: a dataset from a reader, a reconstruction's posterior-mean occupancy
(probabilities, cut at ``level``), unconditional samples (a ``sample`` dim) or a plain array.
Vertices are in the grid's model coordinates ([-1, 1]^3 for the default voxel axes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from skimage.measure import marching_cubes

from vamoh.atomic import atomic_output, check_new_output
from vamoh_voxels.selection import as_grids

__all__ = ["EXPORT_FORMATS", "export_mesh", "export_meshes", "occupancy_mesh"]

EXPORT_FORMATS: tuple[str, ...] = (".obj", ".ply", ".glb", ".stl", ".off")


def _extended(axis: np.ndarray) -> np.ndarray:
    """The axis with one more centre on each side (the zero padding around the grid)."""
    axis = np.asarray(axis, dtype=np.float64)
    if axis.size == 1:
        return np.array([axis[0] - 1.0, axis[0], axis[0] + 1.0])
    return np.concatenate([[2 * axis[0] - axis[1]], axis, [2 * axis[-1] - axis[-2]]])


def occupancy_mesh(
    grid: Any,
    *,
    level: float = 0.5,
    axes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> trimesh.Trimesh:
    """The ``level`` iso-surface of one ``(x, y, z)`` occupancy grid as a closed triangle mesh.

    The grid is padded with empty voxels so shapes touching its border still close; NaN counts
    as empty. Faces are oriented outwards (positive volume).

    Args:
        grid: one grid: ``(X, Y, Z)`` array or a DataArray with dims x, y, z.
        level: the occupancy probability that separates inside from outside.
        axes: voxel-centre coordinates (default: the grid's own, else [-1, 1] voxel axes).

    Example:
        >>> import numpy as np
        >>> g = np.zeros((5, 5, 5)); g[1:4, 1:4, 1:4] = 1
        >>> mesh = occupancy_mesh(g)
        >>> bool(mesh.is_watertight), bool(mesh.volume > 0)
        (True, True)
    """
    grids = as_grids(grid)
    if not grids.single and grids.values.shape[0] != 1:
        raise ValueError(
            f"occupancy_mesh takes one grid; got {grids.values.shape[0]}. Use export_meshes for "
            f"several, or select one (data.isel(shape=0))."
        )
    axes = grids.axes if axes is None else axes
    volume = np.nan_to_num(grids.values[0], nan=0.0)
    padded = np.pad(volume, 1, constant_values=0.0)
    if not (padded.max() > level > padded.min()):
        raise ValueError(
            f"the grid has no surface at level {level}: its values span [{volume.min():g}, "
            f"{volume.max():g}]. An empty prediction has no mesh; lower level to see faint shapes."
        )
    vertices, faces, _, _ = marching_cubes(padded, level=level, allow_degenerate=False)
    # vertex positions are fractional indices into the padded grid: map them to coordinates
    positions = np.stack(
        [
            np.interp(vertices[:, i], np.arange(padded.shape[i]), _extended(axes[i]))
            for i in range(3)
        ],
        axis=1,
    )
    mesh = trimesh.Trimesh(positions, faces, process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _check_target(path: Path, overwrite: bool) -> str:
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(
            f"{path}: unknown mesh format {suffix or '(no suffix)'!r}; choose one of "
            f"{', '.join(EXPORT_FORMATS)}."
        )
    check_new_output(path, overwrite)
    return suffix[1:]


def export_mesh(
    data: Any,
    path: str | Path,
    *,
    variable: str | None = None,
    level: float = 0.5,
    overwrite: bool = False,
) -> Path:
    """Write the surface of one occupancy grid to ``path`` (format from the suffix).

    Example:
        >>> import numpy as np, tempfile, os
        >>> g = np.zeros((6, 6, 6)); g[1:5, 1:5, 1:5] = 1
        >>> path = export_mesh(g, os.path.join(tempfile.mkdtemp(), "cube.glb"))
        >>> path.suffix, path.stat().st_size > 0
        ('.glb', True)
    """
    path = Path(path)
    file_type = _check_target(path, overwrite)
    grids = as_grids(data, variable)
    if grids.values.shape[0] != 1:
        raise ValueError(
            f"export_mesh writes one grid but got {grids.values.shape[0]}; use export_meshes for "
            f"a folder of meshes, or select one shape first."
        )
    mesh = occupancy_mesh(grids.values[0], level=level, axes=grids.axes)
    with atomic_output(path, overwrite=overwrite) as partial:
        mesh.export(partial, file_type=file_type)
    return path


def export_meshes(
    data: Any,
    directory: str | Path,
    *,
    file_type: str = "obj",
    variable: str | None = None,
    level: float = 0.5,
    overwrite: bool = False,
) -> list[Path]:
    """Write one mesh per grid into ``directory``, named after the shape labels.

    Example:
        >>> import numpy as np, tempfile
        >>> from vamoh_voxels import occupancy_dataset
        >>> g = np.zeros((2, 6, 6, 6)); g[:, 1:5, 1:5, 1:5] = 1
        >>> ds = occupancy_dataset(g, labels=["a", "b"])
        >>> [p.name for p in export_meshes(ds, tempfile.mkdtemp(), file_type="ply")]
        ['a.ply', 'b.ply']
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    grids = as_grids(data, variable)
    paths = [
        directory / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', label)}.{file_type.lstrip('.')}"
        for label in grids.labels
    ]
    for path in paths:
        _check_target(path, overwrite)
    for grid, path in zip(grids.values, paths):  # one marching-cubes run per shape
        mesh = occupancy_mesh(grid, level=level, axes=grids.axes)
        with atomic_output(path, overwrite=overwrite) as partial:
            mesh.export(partial, file_type=path.suffix[1:])
    return paths
