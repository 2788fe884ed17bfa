"""Matplotlib pictures of voxel grids, shapes standing upright, saved as PNG.

The axis named by ``up`` (default: the data's ``attrs["up_axis"]``, else ``z``) is drawn
vertically. The ModelNet10 and ShapeNet binvox chairs read by this package stand on ``z``; a
collection whose chairs lie on their side is drawn upright by naming its up axis (``up="y"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from vamoh.atomic import atomic_output, check_new_output
from vamoh_voxels.mesh import occupancy_mesh
from vamoh_voxels.selection import as_grids

__all__ = ["render_voxels"]

Style = Literal["auto", "voxels", "surface"]

# Cyclic permutations keep the picture right-handed (no mirrored shapes).
_UPRIGHT: dict[str, tuple[int, int, int]] = {"z": (0, 1, 2), "y": (2, 0, 1), "x": (1, 2, 0)}
_AXIS_NAMES = ("x", "y", "z")
# Above this many voxels per grid ax.voxels gets slow; surfaces draw in a fraction of the time.
_VOXEL_STYLE_LIMIT = 16**3


def render_voxels(
    data: Any,
    path: str | Path | None = None,
    *,
    variable: str | None = None,
    threshold: float = 0.5,
    up: str | None = None,
    style: Style = "auto",
    max_shapes: int = 8,
    ncols: int = 4,
    panel_size: float = 3.0,
    elev: float = 20.0,
    azim: float = -60.0,
    color: str = "tab:blue",
    dpi: int = 100,
    overwrite: bool = False,
) -> Any:
    """Draw up to ``max_shapes`` grids side by side; save a PNG when ``path`` is given.

    Args:
        data: Dataset / DataArray with dims (shape?, x, y, z), or an ``(S?, X, Y, Z)`` array.
        path: where to save the PNG (an existing file is kept unless ``overwrite``).
        variable: which variable of a Dataset (default ``occupancy``).
        threshold: occupancy above it is drawn.
        up: the data axis that points up (``"x"``, ``"y"`` or ``"z"``).
        style: ``"voxels"`` (cubes), ``"surface"`` (marching cubes) or ``"auto"`` (cubes up to
            16^3, surfaces beyond: cubes take seconds per 32^3 shape).
        max_shapes, ncols, panel_size: grid of panels and their size in inches.
        elev, azim: viewing angles.
        color, dpi: looks.

    Returns:
        The matplotlib figure.

    Example:
        >>> import numpy as np, tempfile, os
        >>> g = np.zeros((2, 6, 6, 6)); g[:, 1:5, 1:5, 1:3] = 1
        >>> path = os.path.join(tempfile.mkdtemp(), "slabs.png")
        >>> fig = render_voxels(g, path, style="surface")
        >>> len(fig.axes), os.path.getsize(path) > 0
        (2, True)
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    target = Path(path) if path is not None else None
    if target is not None:
        check_new_output(target, overwrite)
    grids = as_grids(data, variable)
    up_axis = (up or grids.up).lower()
    if up_axis not in _UPRIGHT:
        raise ValueError(f"up must be 'x', 'y' or 'z'; got {up_axis!r}.")
    if style not in ("auto", "voxels", "surface"):
        raise ValueError(f"style must be 'auto', 'voxels' or 'surface'; got {style!r}.")
    order = _UPRIGHT[up_axis]
    count = min(max_shapes, grids.values.shape[0])
    columns = max(1, min(ncols, count))
    rows = -(-count // columns)
    figure = plt.figure(figsize=(panel_size * columns, panel_size * rows))
    use_voxels = style == "voxels" or (
        style == "auto" and int(np.prod(grids.values.shape[1:])) <= _VOXEL_STYLE_LIMIT
    )
    axes = [np.asarray(grids.axes[i]) for i in order]
    for index in range(count):  # one panel per shape
        ax = figure.add_subplot(rows, columns, index + 1, projection="3d")
        grid = np.nan_to_num(grids.values[index], nan=0.0).transpose(order)
        inside = grid > threshold
        if inside.any() and use_voxels:
            edges = [np.concatenate([a - _half_step(a), [a[-1] + _half_step(a)[-1]]]) for a in axes]
            ex, ey, ez = np.meshgrid(*edges, indexing="ij")
            ax.voxels(ex, ey, ez, inside, facecolors=color, edgecolor="k", linewidth=0.1)
        elif inside.any():
            mesh = occupancy_mesh(grid, level=threshold, axes=tuple(axes))  # type: ignore[arg-type]
            shade = 0.35 + 0.65 * np.abs(mesh.face_normals @ np.array([0.3, -0.4, 0.85]))
            faces = Poly3DCollection(mesh.triangles, linewidths=0)
            base = np.array(plt.matplotlib.colors.to_rgb(color))
            faces.set_facecolor(np.clip(base[None, :] * shade[:, None], 0, 1))
            ax.add_collection3d(faces)
        low = min(float(a[0]) for a in axes)
        high = max(float(a[-1]) for a in axes)
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(low, high)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(grids.labels[index], fontsize=8)
    figure.tight_layout()
    if target is not None:
        with atomic_output(target, overwrite=overwrite) as partial:
            figure.savefig(partial, dpi=dpi)
    return figure


def _half_step(axis: np.ndarray) -> np.ndarray:
    """Half the spacing around each centre (for voxel cube edges)."""
    if axis.size == 1:
        return np.array([0.5])
    steps = np.diff(axis)
    return np.concatenate([steps[:1], steps]) / 2.0
