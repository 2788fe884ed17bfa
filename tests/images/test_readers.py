"""Readers on synthetic files written into tmp_path: folders, .npy, IDX, HDF5, .mat; bad input."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import dask.array as dsa
import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

import vamoh
from vamoh.modality import Reader
from vamoh_images import (
    CorruptImageError,
    EmptyFolderError,
    Hdf5ImageReader,
    IdxReader,
    ImageDataError,
    ImageFolderReader,
    MatlabImageReader,
    MissingImageFileError,
    MixedImageSizesError,
    NumpyImageReader,
    UnsupportedDtypeError,
)
from vamoh_images.readers import matlab_images, read_idx

from .conftest import shapes_images

# -- folders of PNG/JPEG ----------------------------------------------------------------------


def test_grey_folder_round_trips_pixels(write_pngs: Callable[..., Path]) -> None:
    arrays = list(shapes_images(5, 16))
    folder = write_pngs(arrays)
    ds = vamoh.open_dataset(folder)
    assert ds["pixels"].dims == ("image", "y", "x", "channel")
    assert ds["pixels"].dtype == np.uint8
    assert ds["channel"].values.tolist() == ["grey"]
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], np.stack(arrays))
    assert ds["file"].values.tolist() == [f"img{i:03d}.png" for i in range(5)]


def test_rgb_folder_and_mode_options(write_pngs: Callable[..., Path]) -> None:
    arrays = list(shapes_images(3, 12, rgb=True))
    folder = write_pngs(arrays)
    ds = ImageFolderReader().open(folder)
    assert ds["pixels"].shape == (3, 12, 12, 3)
    np.testing.assert_array_equal(ds["pixels"].values, np.stack(arrays))
    grey = ImageFolderReader().open(folder, mode="grey")
    assert grey["pixels"].shape == (3, 12, 12, 1)
    rgba = ImageFolderReader().open(folder, mode="rgba")
    assert rgba["channel"].values.tolist() == ["r", "g", "b", "a"]


def test_mixed_grey_and_colour_files_read_as_rgb(write_pngs: Callable[..., Path]) -> None:
    folder = write_pngs([shapes_images(1, 8)[0], shapes_images(1, 8, rgb=True)[0]])
    assert ImageFolderReader().open(folder)["pixels"].shape == (2, 8, 8, 3)


def test_mixed_sizes_need_a_size(write_pngs: Callable[..., Path]) -> None:
    folder = write_pngs(
        [shapes_images(1, 16)[0], shapes_images(1, 16)[0], np.zeros((8, 10), np.uint8)]
    )
    with pytest.raises(MixedImageSizesError, match=r"16x16 \(2 files.*8x10.*size="):
        vamoh.open_dataset(folder)
    ds = vamoh.open_dataset(folder, size=(6, 6))
    assert ds["pixels"].shape == (3, 6, 6, 1)


def test_resize_crops_to_the_aspect_ratio_by_default(write_pngs: Callable[..., Path]) -> None:
    # left half black, right half white: a centre crop to a square keeps both halves equally
    wide = np.zeros((20, 40), np.uint8)
    wide[:, 20:] = 255
    folder = write_pngs([wide])
    cropped = ImageFolderReader().open(folder, size=10)["pixels"].values[0, :, :, 0]
    stretched = (
        ImageFolderReader().open(folder, size=10, fit="stretch")["pixels"].values[0, :, :, 0]
    )
    assert cropped.shape == stretched.shape == (10, 10)
    assert cropped[:, 0].max() < 30 and cropped[:, -1].min() > 225
    np.testing.assert_allclose(cropped.mean(), 127.5, atol=15)
    with pytest.raises(ValueError, match="fit must be"):
        ImageFolderReader().open(folder, size=10, fit="squash")


def test_centre_crop_option(write_pngs: Callable[..., Path]) -> None:
    image = np.arange(100, dtype=np.uint8).reshape(10, 10)
    folder = write_pngs([image])
    ds = ImageFolderReader().open(folder, crop=(4, 6))
    np.testing.assert_array_equal(ds["pixels"].values[0, :, :, 0], image[3:7, 2:8])
    with pytest.raises(ImageDataError, match="larger than"):
        ImageFolderReader().open(folder, crop=20)


def test_class_subfolders_become_labels(tmp_path: Path) -> None:
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((5, 5), i * 50, np.uint8)).save(tmp_path / label / f"{i}.png")
    ds = vamoh.open_dataset(tmp_path)
    assert ds["label"].values.tolist() == ["cat", "cat", "dog", "dog"]
    assert ds["file"].values.tolist()[2] == str(Path("dog") / "0.png")


def test_a_single_image_file(write_pngs: Callable[..., Path]) -> None:
    folder = write_pngs([shapes_images(1, 9, rgb=True)[0]], suffix=".jpg")
    ds = vamoh.open_dataset(next(folder.iterdir()))
    assert ds["pixels"].shape == (1, 9, 9, 3)


def test_lazy_folder_reads_on_demand(write_pngs: Callable[..., Path]) -> None:
    arrays = list(shapes_images(4, 8))
    folder = write_pngs(arrays)
    ds = ImageFolderReader().open(folder, lazy=True)
    assert isinstance(ds["pixels"].data, dsa.Array)
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], np.stack(arrays))


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(EmptyFolderError, match=r"no image files \(.png"):
        ImageFolderReader().open(tmp_path)
    assert not ImageFolderReader().guess_can_open(tmp_path)


def test_corrupt_file_is_named(write_pngs: Callable[..., Path]) -> None:
    folder = write_pngs(list(shapes_images(2, 8)))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(CorruptImageError, match=r"broken\.png"):
        ImageFolderReader().open(folder)


def test_truncated_file_is_named_when_decoded(write_pngs: Callable[..., Path]) -> None:
    folder = write_pngs(list(shapes_images(2, 32)))
    victim = folder / "img001.png"
    victim.write_bytes(victim.read_bytes()[:60])  # header intact, pixel data cut off
    with pytest.raises(CorruptImageError, match=r"img001\.png"):
        ImageFolderReader().open(folder)


def test_sixteen_bit_images_are_unsupported(tmp_path: Path) -> None:
    Image.fromarray(np.full((4, 4), 4000, np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(UnsupportedDtypeError, match=r"deep\.png"):
        ImageFolderReader().open(tmp_path)


MISSING_NAMES = [
    "face.png",
    "stack.npy",
    "t10k-images-idx3-ubyte.gz",
    "shapes.h5",
    "faces.mat",
]


@pytest.mark.parametrize(
    "reader",
    [ImageFolderReader(), NumpyImageReader(), IdxReader(), Hdf5ImageReader(), MatlabImageReader()],
    ids=lambda r: r.name,
)
def test_every_reader_names_a_missing_path(tmp_path: Path, reader: Reader) -> None:
    missing = tmp_path / "gone" / "t10k-images-idx3-ubyte"
    with pytest.raises(MissingImageFileError, match=r"no such .*t10k-images-idx3-ubyte") as info:
        reader.open(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ImageDataError)
    assert isinstance(info.value, ValueError) and info.value.filename == str(missing)


@pytest.mark.parametrize("name", MISSING_NAMES)
def test_open_dataset_names_a_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(MissingImageFileError, match=re.escape(name)) as info:
        vamoh.open_dataset(tmp_path / name)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_missing_idx_labels_file_is_named(tmp_path: Path) -> None:
    images = tmp_path / "a-images-idx3-ubyte"
    images.write_bytes(_idx_bytes(shapes_images(2, 6)))
    with pytest.raises(MissingImageFileError, match=r"lost-labels"):
        IdxReader().open(images, labels=tmp_path / "lost-labels-idx1-ubyte")


# -- .npy -------------------------------------------------------------------------------------


def test_npy_is_memory_mapped_and_detected(tmp_path: Path) -> None:
    path = tmp_path / "stack.npy"
    images = shapes_images(6, 10)
    np.save(path, images)
    ds = vamoh.open_dataset(path)
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], images)
    assert NumpyImageReader().open(path, labels=np.arange(6))["label"].size == 6


def test_npy_voxel_cubes_are_not_claimed(tmp_path: Path) -> None:
    np.save(tmp_path / "cube.npy", np.zeros((8, 8, 8), bool))
    np.save(tmp_path / "voxels.npy", np.zeros((3, 8, 8, 8), bool))
    assert not NumpyImageReader().guess_can_open(tmp_path / "cube.npy")
    assert not NumpyImageReader().guess_can_open(tmp_path / "voxels.npy")


def test_npy_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy at all")
    with pytest.raises(CorruptImageError, match=r"bad\.npy"):
        NumpyImageReader().open(bad)
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((2, 4, 4), np.int32))
    with pytest.raises(UnsupportedDtypeError, match=r"wide\.npy"):
        NumpyImageReader().open(wide)


# -- IDX ----------------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_idx_images_with_sibling_labels(tmp_path: Path, compress: bool) -> None:
    images = shapes_images(5, 7)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    suffix = ".gz" if compress else ""
    write = (lambda p, b: p.write_bytes(gzip.compress(b))) if compress else Path.write_bytes
    write(tmp_path / f"train-images-idx3-ubyte{suffix}", _idx_bytes(images))
    write(tmp_path / f"train-labels-idx1-ubyte{suffix}", _idx_bytes(labels))
    ds = vamoh.open_dataset(tmp_path / f"train-images-idx3-ubyte{suffix}")
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], images)
    assert ds["label"].values.tolist() == labels.tolist()
    alone = IdxReader().open(tmp_path / f"train-images-idx3-ubyte{suffix}", labels=None)
    assert "label" not in alone.coords
    only_labels = IdxReader().open(tmp_path / f"train-labels-idx1-ubyte{suffix}")
    assert only_labels["label"].values.tolist() == labels.tolist()


def test_idx_bad_files_are_named(tmp_path: Path) -> None:
    truncated = tmp_path / "cut-images-idx3-ubyte"
    truncated.write_bytes(_idx_bytes(shapes_images(3, 6))[:-5])
    with pytest.raises(CorruptImageError, match=r"cut-images-idx3-ubyte.*truncated"):
        read_idx(truncated)
    garbage = tmp_path / "junk.idx"
    garbage.write_bytes(b"\x01\x02\x03\x04more")
    with pytest.raises(CorruptImageError, match=r"junk.idx.*not an IDX"):
        IdxReader().open(garbage)
    images = tmp_path / "a-images-idx3-ubyte"
    images.write_bytes(_idx_bytes(shapes_images(3, 6)))
    (tmp_path / "a-labels-idx1-ubyte").write_bytes(_idx_bytes(np.arange(2)))
    with pytest.raises(ImageDataError, match="labels="):
        IdxReader().open(images)


# -- HDF5 ---------------------------------------------------------------------------------------


def test_hdf5_shapes3d_like_file_opens_lazily(tmp_path: Path) -> None:
    path = tmp_path / "3dshapes.h5"
    images = shapes_images(6, 8, rgb=True)
    factors = np.random.default_rng(0).random((6, 6))
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        f.create_dataset("labels", data=factors)
    ds = vamoh.open_dataset(path, chunk_images=4)
    assert isinstance(ds["pixels"].data, dsa.Array)
    np.testing.assert_array_equal(ds["pixels"].values, images)
    assert ds["labels"].dims == ("image", "factor")
    np.testing.assert_allclose(ds["labels"].values, factors)


def test_hdf5_dataset_choice(tmp_path: Path) -> None:
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("group/faces", data=np.zeros((3, 6, 5), np.uint8))
        f.create_dataset("group/masks", data=np.zeros((3, 6, 5), np.uint8))
        f.create_dataset("ids", data=np.arange(3))
    with pytest.raises(ImageDataError, match="dataset='name'"):
        Hdf5ImageReader().open(path)
    ds = Hdf5ImageReader().open(path, dataset="group/faces", lazy=False)
    assert ds["pixels"].shape == (3, 6, 5, 1)
    with pytest.raises(ImageDataError, match="no dataset"):
        Hdf5ImageReader().open(path, dataset="nope")
    with pytest.raises(ImageDataError, match="one row per image"):
        Hdf5ImageReader().open(path, dataset="group/faces", labels="group/masks")


def test_hdf5_corrupt_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.h5"
    path.write_bytes(b"definitely not hdf5")
    assert Hdf5ImageReader().guess_can_open(path)
    with pytest.raises(CorruptImageError, match=r"broken\.h5"):
        vamoh.open_dataset(path)


# -- MATLAB ---------------------------------------------------------------------------------------


def test_mat_faces_are_column_major(tmp_path: Path) -> None:
    faces = shapes_images(4, 8)
    asymmetric = faces.copy()
    asymmetric[:, 0, :] = 255  # a bright top row tells rows from columns
    flat = asymmetric.reshape(4, -1, order="F").T  # (64, 4): img(:) per column, as MATLAB saves
    path = tmp_path / "faces.mat"
    scipy.io.savemat(path, {"faces": flat})
    ds = vamoh.open_dataset(path)
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], asymmetric)


def test_mat_layouts_and_errors(tmp_path: Path) -> None:
    stack = shapes_images(5, 6).transpose(1, 2, 0)  # MATLAB (H, W, N)
    path = tmp_path / "many.mat"
    scipy.io.savemat(path, {"stack": stack, "other": np.zeros((5, 5))})
    with pytest.raises(ImageDataError, match="variable='name'"):
        MatlabImageReader().open(path)
    ds = MatlabImageReader().open(path, variable="stack")
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], shapes_images(5, 6))
    three = matlab_images(shapes_images(3, 6).transpose(1, 2, 0))  # (6, 6, 3) reads as RGB...
    assert three.shape == (1, 6, 6, 3)
    three = matlab_images(shapes_images(3, 6).transpose(1, 2, 0), layout="stack")  # ...unless told
    assert three.shape == (3, 6, 6)
    single = MatlabImageReader().open(path, variable="other")
    assert single["pixels"].shape == (1, 5, 5, 1)
    rows = matlab_images(np.zeros((4, 6)), layout="rows", image_shape=(2, 3))
    assert rows.shape == (4, 2, 3)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file but then nothing sensible")
    with pytest.raises(CorruptImageError, match=r"bad\.mat"):
        MatlabImageReader().open(bad)


def test_every_reader_is_registered() -> None:
    names = set(vamoh.plugins.readers())
    assert {"image_folder", "numpy_images", "idx", "hdf5_images", "matlab_images"} <= names


# -- bad input through every path a user takes ---------------------------------------------------


def test_unsupported_dtypes_in_idx_and_hdf5_files_are_named(tmp_path: Path) -> None:
    values = np.arange(2 * 4 * 4, dtype=">i2").reshape(2, 4, 4)
    header = bytes([0, 0, 0x0B, 3]) + np.asarray(values.shape, ">u4").tobytes()
    idx = tmp_path / "deep-images-idx3-ubyte"
    idx.write_bytes(header + values.tobytes())
    with pytest.raises(UnsupportedDtypeError, match=r"deep-images-idx3-ubyte.*int16"):
        vamoh.open_dataset(idx)
    h5 = tmp_path / "deep.h5"
    with h5py.File(h5, "w") as f:
        f.create_dataset("images", data=np.zeros((3, 6, 6), np.uint16))
    with pytest.raises(UnsupportedDtypeError, match=r"deep\.h5.*uint16"):
        vamoh.open_dataset(h5)


def test_fit_rejects_unsupported_dtypes_before_training() -> None:
    import xarray as xr

    data = xr.DataArray(np.zeros((4, 8, 8), np.int16), dims=("image", "y", "x"), name="pixels")
    with pytest.raises(UnsupportedDtypeError, match=r"int16.*astype\('uint8'\)"):
        vamoh.fit(data, modality="images", max_epochs=1, progress=False)


def test_empty_folder_through_open_dataset(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    (downloads / ".cache").mkdir(parents=True)  # hidden entries do not count
    with pytest.raises(EmptyFolderError, match=r"the folder is empty: .*downloads"):
        vamoh.open_dataset(downloads)
    (downloads / "readme.txt").write_text("images come later")
    with pytest.raises(EmptyFolderError, match=r"holds no image files: .*downloads"):
        vamoh.open_dataset(downloads, reader="image_folder")


def test_mixed_sizes_in_class_subfolders_are_named(tmp_path: Path) -> None:
    for label, size in (("small", 6), ("large", 9)):
        (tmp_path / label).mkdir()
        Image.fromarray(np.zeros((size, size), np.uint8)).save(tmp_path / label / "a.png")
    with pytest.raises(MixedImageSizesError, match=r"6x6.*9x9|9x9.*6x6"):
        vamoh.open_dataset(tmp_path)
