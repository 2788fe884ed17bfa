"""Wrapping in-memory occupancy arrays, and the errors bad arrays raise."""

from __future__ import annotations

import numpy as np
import pytest

from vamoh_voxels import EmptyShapeError, OccupancyArrayError, occupancy_dataset

from .conftest import make_shapes


def test_wraps_n_d_h_w_with_labels_and_grid_coordinates() -> None:
    grids = make_shapes(3, 8)
    ds = occupancy_dataset(grids, labels=["a", "b", "c"], shape_coords={"kind": [0, 1, 0]})
    assert ds.occupancy.dims == ("shape", "x", "y", "z")
    assert ds.occupancy.dtype == np.float32
    assert ds.shape.values.tolist() == ["a", "b", "c"]
    assert ds.kind.dims == ("shape",)
    np.testing.assert_array_equal(ds.occupancy.values, grids)
    assert ds.x.values[0] == -1.0 and ds.z.values[-1] == 1.0


def test_accepts_singleton_channel_and_single_grid_and_bool() -> None:
    assert occupancy_dataset(np.ones((2, 1, 4, 4, 4))).sizes["shape"] == 2
    assert occupancy_dataset(np.ones((4, 5, 6), bool)).sizes == {"shape": 1, "x": 4, "y": 5, "z": 6}


def test_non_binary_values_name_the_source() -> None:
    grids = np.full((1, 4, 4, 4), 0.3)
    with pytest.raises(OccupancyArrayError, match=r"chairs\.npy: .*binary"):
        occupancy_dataset(grids, source="chairs.npy")


def test_nan_is_not_binary() -> None:
    grids = np.ones((1, 4, 4, 4))
    grids[0, 0, 0, 0] = np.nan
    with pytest.raises(OccupancyArrayError, match="binary"):
        occupancy_dataset(grids)


@pytest.mark.parametrize("shape", [(4, 4), (2, 2, 4, 4, 4), (2, 3, 4, 4, 4), (1, 1, 4, 4)])
def test_wrong_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(OccupancyArrayError, match=r"\(N, D, H, W\)|2 voxels"):
        occupancy_dataset(np.ones(shape), source="x.npy")


def test_non_numeric() -> None:
    with pytest.raises(OccupancyArrayError, match="numeric"):
        occupancy_dataset(np.array([["a"]]))


def test_empty_shapes_error_drop_keep() -> None:
    grids = make_shapes(3, 6)
    grids[1] = 0
    with pytest.raises(EmptyShapeError, match=r"m\.npy: 1 shape\(s\) are empty.*shape 1"):
        occupancy_dataset(grids, source="m.npy")
    dropped = occupancy_dataset(grids, labels=["a", "b", "c"], empty="drop")
    assert dropped.shape.values.tolist() == ["a", "c"]
    assert occupancy_dataset(grids, empty="keep").sizes["shape"] == 3
    with pytest.raises(EmptyShapeError, match="every shape"):
        occupancy_dataset(np.zeros((2, 3, 3, 3)), empty="drop")
    with pytest.raises(ValueError, match="empty must be"):
        occupancy_dataset(grids, empty="ignore")  # type: ignore[arg-type]


def test_label_count_must_match() -> None:
    with pytest.raises(OccupancyArrayError, match="2 labels for 3 shapes"):
        occupancy_dataset(make_shapes(3, 6), labels=["a", "b"])
