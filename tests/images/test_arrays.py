"""from_array: shape guessing, explicit dims, torch/dask inputs, labels and pixel types."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pytest
import torch

from vamoh_images import ImageShapeError, UnsupportedDtypeError, from_array
from vamoh_images.arrays import channel_labels, check_pixel_dtype, restore_pixel_dtype


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((7, 9), (1, 7, 9, 1)),
        ((5, 7, 9), (5, 7, 9, 1)),
        ((10, 12, 3), (1, 10, 12, 3)),  # one RGB image
        ((5, 4, 4), (5, 4, 4, 1)),  # five 4x4 grey images, not one 5x4 RGBA image
        ((2, 7, 9, 3), (2, 7, 9, 3)),
        ((2, 3, 7, 9), (2, 7, 9, 3)),  # (N, C, H, W)
    ],
)
def test_shapes_are_guessed(shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    ds = from_array(np.zeros(shape, np.uint8))
    assert ds["pixels"].dims == ("image", "y", "x", "channel")
    assert ds["pixels"].shape == expected
    assert ds["y"].values.tolist() == list(range(expected[1]))


def test_explicit_dims_override_the_guess() -> None:
    ds = from_array(np.zeros((3, 8, 6)), dims=("channel", "y", "x"))
    assert ds["pixels"].shape == (1, 8, 6, 3)
    assert ds["channel"].values.tolist() == ["r", "g", "b"]


def test_torch_tensors_are_channels_first() -> None:
    ds = from_array(torch.zeros(4, 3, 10, 8))
    assert ds["pixels"].shape == (4, 10, 8, 3)
    assert from_array(torch.zeros(1, 10, 8))["pixels"].shape == (1, 10, 8, 1)


def test_dask_stays_lazy() -> None:
    ds = from_array(dsa.zeros((6, 8, 8), dtype=np.uint8, chunks=2))
    assert isinstance(ds["pixels"].data, dsa.Array)


def test_labels_and_channel_names() -> None:
    dims = ("image", "y", "x", "channel")
    ds = from_array(np.zeros((3, 4, 4, 2), np.float32), dims=dims, labels=["a", "b", "c"])
    assert ds["label"].dims == ("image",)
    assert ds["channel"].values.tolist() == ["c0", "c1"]
    ds = from_array(np.zeros((3, 5, 5, 2), np.float32), dims=dims, channel_names=["u", "v"])
    assert ds["channel"].values.tolist() == ["u", "v"]


def test_float16_becomes_float32_and_bool_is_kept() -> None:
    assert from_array(np.zeros((2, 4, 4), np.float16))["pixels"].dtype == np.float32
    assert from_array(np.zeros((2, 4, 4), bool))["pixels"].dtype == bool


@pytest.mark.parametrize("dtype", ["int16", "uint16", "int64", "complex64"])
def test_unsupported_dtypes_are_rejected(dtype: str) -> None:
    with pytest.raises(UnsupportedDtypeError, match=r"astype\('uint8'\)"):
        from_array(np.zeros((2, 4, 4), dtype))


def test_object_arrays_are_rejected() -> None:
    with pytest.raises(UnsupportedDtypeError):
        check_pixel_dtype(np.dtype(object))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": ("image", "y")}, "name each"),
        ({"dims": ("image", "row", "col")}, "must contain 'y' and 'x'"),
        ({"labels": [1, 2]}, "one entry per image"),
        ({"channel_names": ["a", "b"]}, "channel_names"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs: dict, match: str) -> None:
    with pytest.raises(ImageShapeError, match=match):
        from_array(np.zeros((3, 4, 4), np.uint8), **kwargs)


def test_five_dimensional_arrays_are_not_images() -> None:
    with pytest.raises(ImageShapeError, match="dims="):
        from_array(np.zeros((2, 1, 4, 4, 4)))


def test_restore_pixel_dtype_rules() -> None:
    assert restore_pixel_dtype(np.array([1.4, -3.0]), np.dtype("uint8")).tolist() == [1, 0]
    kept = restore_pixel_dtype(np.array([1.4]), np.dtype("uint8"), round_uint8=False)
    assert kept.dtype == np.float32
    assert restore_pixel_dtype(np.array([0.0, 1.0]), np.dtype(bool)).dtype == bool
    assert restore_pixel_dtype(np.array([0.3]), np.dtype(bool)).dtype == np.float32
    assert restore_pixel_dtype(np.array([0.3]), np.dtype("float64")).dtype == np.float64
    assert channel_labels(4) == ["r", "g", "b", "a"]
