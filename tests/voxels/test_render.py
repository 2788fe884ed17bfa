"""Matplotlib renders of voxel grids, saved as PNG, shapes upright."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from vamoh_voxels import VoxelModality, load_modelnet_split, occupancy_dataset
from vamoh_voxels.render import render_voxels

from .conftest import make_shapes


def _pillar(up: int) -> np.ndarray:
    """A thin column standing along data axis ``up``."""
    grid = np.zeros((8, 8, 8))
    index = [slice(3, 5)] * 3
    index[up] = slice(0, 8)
    grid[tuple(index)] = 1
    return grid


def _height_to_width(path: Path) -> float:
    image = np.asarray(Image.open(path).convert("L")) < 200  # dark pixels: the shape
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return (rows[-1] - rows[0]) / (cols[-1] - cols[0])


@pytest.mark.parametrize("style", ["voxels", "surface"])
def test_saves_png_with_one_panel_per_shape(tmp_path: Path, style: str) -> None:
    data = occupancy_dataset(make_shapes(3, 8))
    figure = render_voxels(data, tmp_path / "shapes.png", style=style, dpi=40)
    assert len(figure.axes) == 3
    assert Image.open(tmp_path / "shapes.png").format == "PNG"
    plt.close(figure)


@pytest.mark.parametrize("up", ["x", "y", "z"])
def test_the_up_axis_is_drawn_vertically(tmp_path: Path, up: str) -> None:
    data = occupancy_dataset(_pillar("xyz".index(up))[None], attrs={"up_axis": up})
    figure = render_voxels(data, tmp_path / "pillar.png", style="surface", dpi=40, elev=0)
    plt.close(figure)
    assert _height_to_width(tmp_path / "pillar.png") > 2.0


def test_options_and_errors(tmp_path: Path) -> None:
    data = occupancy_dataset(make_shapes(10, 6))
    figure = render_voxels(data, max_shapes=5, ncols=2, style="auto")
    assert len(figure.axes) == 5
    plt.close(figure)
    figure = VoxelModality().plot(data.isel(shape=0), up="y")
    plt.close(figure)
    (tmp_path / "taken.png").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        render_voxels(data, tmp_path / "taken.png")
    with pytest.raises(ValueError, match="up must be"):
        render_voxels(data, up="w")
    with pytest.raises(ValueError, match="style must be"):
        render_voxels(data, style="points")  # type: ignore[arg-type]
    empty = render_voxels(np.zeros((4, 4, 4)))  # an empty prediction draws an empty panel
    plt.close(empty)


def test_real_chairs_render_upright(voxel_data: Path, tmp_path: Path) -> None:
    _, test = load_modelnet_split(voxel_data / "modelnet10_chair_32.npy.gz")
    chair = test.isel(shape=[1])  # a straight-backed chair, taller than wide
    figure = render_voxels(chair, tmp_path / "chair.png", style="surface", dpi=40, elev=0)
    plt.close(figure)
    assert _height_to_width(tmp_path / "chair.png") > 1.2
