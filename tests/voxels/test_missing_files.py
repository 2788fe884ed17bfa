"""A missing path is a FileNotFoundError and a VoxelError (a ValueError) that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import vamoh
from vamoh.modality import Reader
from vamoh_voxels import (
    BinvoxReader,
    MeshReader,
    MissingVoxelFileError,
    OccupancyArrayReader,
    ShapeNetReader,
    VoxelError,
)


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        (BinvoxReader(), "chair.binvox"),
        (OccupancyArrayReader(), "chairs.npy.gz"),
        (MeshReader(), "chair.obj"),
        (ShapeNetReader(), "ShapeNetVox32"),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_readers_name_a_missing_path(tmp_path: Path, reader: Reader, name: str) -> None:
    missing = tmp_path / "gone" / name
    with pytest.raises(MissingVoxelFileError, match=re.escape(name)) as info:
        reader.open(missing)
    error = info.value
    assert isinstance(error, FileNotFoundError) and isinstance(error, VoxelError)
    assert isinstance(error, ValueError) and error.filename == str(missing)


@pytest.mark.parametrize("name", ["chair.binvox", "chairs.npy.gz", "chair.stl"])
def test_open_dataset_names_a_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(MissingVoxelFileError, match=re.escape(name)):
        vamoh.open_dataset(tmp_path / name)


def test_a_missing_plain_npy_is_claimed_once(tmp_path: Path) -> None:
    # the images plugin reports a missing .npy; two claims would be an ambiguity error instead
    assert not OccupancyArrayReader().guess_can_open(tmp_path / "chairs.npy")
    with pytest.raises(FileNotFoundError, match=r"chairs\.npy"):
        vamoh.open_dataset(tmp_path / "chairs.npy")
