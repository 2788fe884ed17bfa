"""The voxel-centre convention and refinement that keeps every original centre."""

from __future__ import annotations

import numpy as np
import pytest

from vamoh_voxels.grid import downsample_occupancy, refine_axis, resample_axis, voxel_axis


def test_voxel_axis_spans_the_cube() -> None:
    axis = voxel_axis(32)
    assert axis[0] == -1.0 and axis[-1] == 1.0
    np.testing.assert_allclose(np.diff(axis), 2 / 31, rtol=1e-5)


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_refine_contains_every_original_centre_bit_for_bit(factor: int) -> None:
    axis = voxel_axis(32)
    fine = refine_axis(axis, factor)
    assert len(fine) == factor * 31 + 1
    assert np.array_equal(fine[::factor], axis)
    np.testing.assert_allclose(fine, voxel_axis(len(fine)), atol=1e-6)


def test_refine_nonuniform_axis() -> None:
    fine = refine_axis(np.array([-1.0, 0.0, 0.5]), 2)
    np.testing.assert_allclose(fine, [-1.0, -0.5, 0.0, 0.25, 0.5])


def test_resample_nests_when_possible() -> None:
    axis = voxel_axis(32)
    assert np.array_equal(resample_axis(axis, 63)[::2], axis)
    sixty_four = resample_axis(axis, 64)
    assert len(sixty_four) == 64 and sixty_four[0] == -1 and sixty_four[-1] == 1


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_refine_rejects_bad_factors(bad: float) -> None:
    with pytest.raises(ValueError, match="factor"):
        refine_axis(voxel_axis(4), bad)  # type: ignore[arg-type]


def test_downsample_any_occupied() -> None:
    grid = np.zeros((8, 8, 8), bool)
    grid[7, 0, 3] = True
    small = downsample_occupancy(grid, 4)
    assert small.shape == (4, 4, 4) and small.sum() == 1 and small[3, 0, 1]
    with pytest.raises(ValueError, match="multiple"):
        downsample_occupancy(grid, 3)
