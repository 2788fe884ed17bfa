"""Fixtures for the images plugin: tiny synthetic images written as real files into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from vamoh_images import from_array


def shapes_images(n: int = 8, size: int = 16, rgb: bool = False, seed: int = 0) -> np.ndarray:
    """``(n, size, size[, 3])`` uint8: a bright square or disc of random size/place on a dark field."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    cy = rng.uniform(size * 0.3, size * 0.7, n)[:, None, None]
    cx = rng.uniform(size * 0.3, size * 0.7, n)[:, None, None]
    radius = rng.uniform(size * 0.15, size * 0.3, n)[:, None, None]
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    square = (np.abs(yy - cy) < radius) & (np.abs(xx - cx) < radius)
    shape = np.where(np.arange(n)[:, None, None] % 2 == 0, disc, square)
    grey = np.where(shape, 220, 30).astype(np.uint8)
    if not rgb:
        return grey
    tint = rng.uniform(0.5, 1.0, (n, 1, 1, 3))
    return (grey[..., None] * tint).astype(np.uint8)


@pytest.fixture
def grey_images() -> xr.Dataset:
    """Eight 16x16 grey 8-bit images with labels."""
    return from_array(shapes_images(8, 16), labels=np.arange(8) % 2)


@pytest.fixture
def rgb_images() -> xr.Dataset:
    """Six 12x12 RGB 8-bit images."""
    return from_array(shapes_images(6, 12, rgb=True, seed=1))


@pytest.fixture
def write_pngs(tmp_path: Path) -> Callable[..., Path]:
    """``write_pngs(arrays, folder="imgs", suffix=".png")`` saves each array with Pillow."""
    from PIL import Image

    def write(arrays: list[np.ndarray], folder: str = "imgs", suffix: str = ".png") -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        for i, array in enumerate(arrays):
            Image.fromarray(array).save(target / f"img{i:03d}{suffix}")
        return target

    return write
