"""IoU, PSNR and Chamfer distance against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from vamoh_voxels import occupancy_dataset
from vamoh_voxels.metrics import chamfer_distance, chamfer_distance_points, iou, psnr


def test_iou_by_hand() -> None:
    a = np.zeros((4, 4, 4))
    a[:2] = 1  # 32 voxels
    b = np.zeros((4, 4, 4))
    b[1:3] = 1  # 32 voxels, 16 in common
    assert iou(a, b) == pytest.approx(16 / 48)
    assert iou(a, a) == 1.0
    assert iou(np.zeros_like(a), np.zeros_like(a)) == 1.0
    assert iou(a, np.zeros_like(a)) == 0.0
    soft = b * 0.7
    assert iou(a, soft, threshold=0.5) == pytest.approx(16 / 48)
    assert iou(a, soft, threshold=0.8) == 0.0


def test_iou_per_shape_with_nan_ignored() -> None:
    a = np.zeros((2, 2, 2, 2))
    a[:, 0] = 1
    b = a.copy()
    b[1, 1, 0, 0] = 1  # one false positive in shape 1: 4 / 5
    np.testing.assert_allclose(iou(a, b), [1.0, 0.8])
    b[1, 1, 0, 0] = np.nan  # unobserved voxels do not count
    np.testing.assert_allclose(iou(a, b), [1.0, 1.0])


def test_psnr_by_hand() -> None:
    a = np.zeros((2, 2, 2))
    b = a.copy()
    b[0, 0, 0] = 1  # MSE = 1/8, RMSE = 1/sqrt(8)
    assert psnr(a, b) == pytest.approx(20 * np.log10(np.sqrt(8)))
    assert psnr(a, b, peak=255.0) == pytest.approx(20 * np.log10(255 * np.sqrt(8)))
    assert psnr(a, a) == np.inf
    b[0, 0, 1] = np.nan  # left out: MSE = 1/7
    assert psnr(a, b) == pytest.approx(20 * np.log10(np.sqrt(7)))


def test_chamfer_points_by_hand() -> None:
    a = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    b = np.array([[0.0, 0.0, 0.0]])
    assert chamfer_distance_points(a, b) == pytest.approx(0.25)
    c = np.array([[0.0, 3.0, 4.0]])
    assert chamfer_distance_points(b, c) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="non-empty"):
        chamfer_distance_points(a, np.zeros((0, 3)))


def test_chamfer_between_grids() -> None:
    grid = np.zeros((12, 12, 12))
    grid[3:9, 3:9, 3:9] = 1
    assert chamfer_distance(grid, grid) == 0.0
    shifted = np.roll(grid, 1, axis=0)
    spacing = 2 / 11
    distance = chamfer_distance(grid, shifted)
    # a shift by one voxel moves the two x faces by `spacing` and leaves the others in place
    assert 0.05 * spacing < distance < spacing
    assert chamfer_distance(grid, np.roll(grid, 3, axis=0)) > distance
    assert chamfer_distance(grid, np.zeros_like(grid)) == np.inf
    assert chamfer_distance(np.zeros_like(grid), np.zeros_like(grid)) == 0.0


def test_metrics_take_datasets_and_mismatches_fail() -> None:
    grids = np.zeros((2, 6, 6, 6))
    grids[:, 1:5, 1:5, 1:5] = 1
    truth = occupancy_dataset(grids)
    prediction = truth.rename(shape="sample").assign(occupancy_std=truth.occupancy * 0)
    np.testing.assert_allclose(iou(truth, prediction), [1.0, 1.0])
    assert chamfer_distance(truth, prediction).shape == (2,)
    with pytest.raises(ValueError, match="differ in shape"):
        iou(truth, truth.isel(shape=[0]))
    with pytest.raises(ValueError, match="variable='name'"):
        iou(truth.assign(other=truth.occupancy).rename(occupancy="a"), truth)
