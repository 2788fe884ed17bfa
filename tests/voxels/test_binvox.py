"""Reading and writing .binvox files; corrupt and truncated files name themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

import vamoh
from vamoh_voxels import BinvoxFormatError, EmptyShapeError, read_binvox, write_binvox

from .conftest import make_shapes


def test_round_trip_cubic_and_non_cubic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for shape in [(8, 8, 8), (5, 7, 9), (40, 40, 40)]:
        grid = rng.random(shape) > 0.3  # long runs (>255) and short ones
        path = write_binvox(tmp_path / "g.binvox", grid, translate=(1.0, 2.0, 3.0), scale=4.5)
        back = read_binvox(path)
        assert np.array_equal(back.occupancy, grid)
        assert back.translate == (1.0, 2.0, 3.0) and back.scale == 4.5


def test_long_runs_are_split(tmp_path: Path) -> None:
    grid = np.ones((10, 10, 10), bool)  # one run of 1000 voxels
    back = read_binvox(write_binvox(tmp_path / "full.binvox", grid))
    assert back.occupancy.all()


def test_agrees_with_trimesh_axis_order(tmp_path: Path) -> None:
    grid = make_shapes(1, 12)[0] > 0
    grid[0, 1, 2] = True  # break symmetry
    path = write_binvox(tmp_path / "s.binvox", grid)
    with path.open("rb") as stream:
        theirs = trimesh.exchange.binvox.load_binvox(stream).matrix
    assert np.array_equal(theirs, grid)


def test_reader_via_open_dataset(tmp_path: Path) -> None:
    grid = make_shapes(1, 8)[0]
    path = write_binvox(tmp_path / "ball.binvox", grid)
    ds = vamoh.open_dataset(path)
    assert ds.occupancy.dims == ("shape", "x", "y", "z")
    assert ds.shape.values.tolist() == ["ball"]
    np.testing.assert_array_equal(ds.occupancy.values[0], grid)
    assert ds.attrs["binvox_scale"] == 1.0
    coarse = vamoh.open_dataset(path, resolution=4)
    assert coarse.sizes["x"] == 4


def test_truncated_file(tmp_path: Path) -> None:
    path = write_binvox(tmp_path / "t.binvox", make_shapes(1, 16)[0])
    data = path.read_bytes()
    cut = tmp_path / "cut.binvox"
    cut.write_bytes(data[:-10])
    with pytest.raises(BinvoxFormatError, match=r"cut\.binvox.*truncated"):
        read_binvox(cut)
    odd = tmp_path / "odd.binvox"
    odd.write_bytes(data[:-1])
    with pytest.raises(BinvoxFormatError, match=r"odd\.binvox.*truncated"):
        read_binvox(odd)


def test_unreadable_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.binvox"
    garbage.write_bytes(b"\x89PNG not a voxel file")
    with pytest.raises(BinvoxFormatError, match=r"garbage\.binvox: not a readable binvox"):
        read_binvox(garbage)
    no_data = tmp_path / "nodata.binvox"
    no_data.write_bytes(b"#binvox 1\ndim 2 2 2\n")
    with pytest.raises(BinvoxFormatError, match=r"nodata\.binvox"):
        vamoh.open_dataset(no_data)
    bad_dim = tmp_path / "dim.binvox"
    bad_dim.write_bytes(b"#binvox 1\ndim 2 2\ndata\n\x00\x04")
    with pytest.raises(BinvoxFormatError, match=r"dim\.binvox"):
        read_binvox(bad_dim)
    bad_value = tmp_path / "value.binvox"
    bad_value.write_bytes(b"#binvox 1\ndim 2 2 2\ndata\n\x07\x08")
    with pytest.raises(BinvoxFormatError, match=r"value\.binvox.*0 or 1"):
        read_binvox(bad_value)
    with pytest.raises(FileNotFoundError):
        read_binvox(tmp_path / "missing.binvox")


def test_empty_binvox(tmp_path: Path) -> None:
    path = write_binvox(tmp_path / "void.binvox", np.zeros((4, 4, 4)))
    with pytest.raises(EmptyShapeError, match=r"void\.binvox.*empty"):
        vamoh.open_dataset(path)
    assert vamoh.open_dataset(path, empty="keep").occupancy.sum() == 0


def test_real_binvox_files(voxel_data: Path) -> None:
    chair = vamoh.open_dataset(voxel_data / "chair.binvox")
    assert dict(chair.sizes) == {"shape": 1, "x": 32, "y": 32, "z": 32}
    assert int(chair.occupancy.sum()) == 1002
    other = vamoh.open_dataset(voxel_data / "8a85.binvox")
    assert int(other.occupancy.sum()) == 14382
    assert other.attrs["binvox_translate"] == pytest.approx([1131.81, 21.398, -1.6942])
    with (voxel_data / "chair.binvox").open("rb") as stream:
        theirs = trimesh.exchange.binvox.load_binvox(stream).matrix
    np.testing.assert_array_equal(chair.occupancy.values[0], theirs)
