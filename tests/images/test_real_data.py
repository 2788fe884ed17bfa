"""Real images when present: MNIST (IDX), Olivetti faces (.mat), Fashion-MNIST (Debian package)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

import vamoh
from vamoh_images import ImageModality
from vamoh_images.baselines import bicubic_upsample
from vamoh_images.metrics import psnr

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def test_mnist_test_set(shared_data: Path) -> None:
    ds = vamoh.open_dataset(shared_data / "images" / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert ds["pixels"].shape == (10000, 28, 28, 1) and ds["pixels"].dtype == np.uint8
    assert ds["label"].values[:4].tolist() == [7, 2, 1, 0]
    assert np.bincount(ds["label"].values).tolist()[:2] == [980, 1135]
    subset = ds.isel(image=slice(0, 50))
    images = ImageModality()
    assert images.can_handle(subset) == 0.95
    assert images.from_points(images.to_points(subset)).identical(subset)


def test_olivetti_faces_are_upright(shared_data: Path) -> None:
    path = shared_data / "images" / "olivetti" / "olivettifaces.mat"
    ds = vamoh.open_dataset(path)
    assert ds["pixels"].shape == (400, 64, 64, 1) and ds["pixels"].dtype == np.uint8
    faces = scipy.io.loadmat(path)["faces"]
    recipe = faces.T.reshape(400, 64, 64).transpose(0, 2, 1)  # the data README's recipe
    np.testing.assert_array_equal(ds["pixels"].values[..., 0], recipe)
    # faces are mirror-symmetric left to right, not top to bottom
    mean = ds["pixels"].values[..., 0].mean(axis=0)
    left_right = np.corrcoef(mean.ravel(), mean[:, ::-1].ravel())[0, 1]
    top_bottom = np.corrcoef(mean.ravel(), mean[::-1, :].ravel())[0, 1]
    assert left_right > 0.9 > top_bottom


def test_bicubic_baseline_on_olivetti(shared_data: Path) -> None:
    ds = vamoh.open_dataset(shared_data / "images" / "olivetti" / "olivettifaces.mat")
    faces = ds.isel(image=slice(0, 20))
    coarse = faces.isel(y=slice(0, 64, 3), x=slice(0, 64, 3))  # pixels 0, 3, ..., 63
    restored = bicubic_upsample(coarse, to=(64, 64))  # exactly the original pixel grid
    np.testing.assert_array_equal(restored["y"], faces["y"])
    scores = psnr(faces, restored)
    assert 22 < float(scores.mean()) < 40


@pytest.mark.skipif(not FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist() -> None:
    candidates = sorted(FASHION_MNIST.rglob("*images-idx3-ubyte*"))
    # the package is installed: files missing from it is a layout change to notice, not a skip
    assert candidates, (
        f"dataset-fashion-mnist is installed but has no IDX image file under {FASHION_MNIST}"
    )
    ds = vamoh.open_dataset(candidates[0])
    assert ds["pixels"].shape[1:] == (28, 28, 1)
    assert "label" in ds.coords and int(ds["label"].max()) == 9
