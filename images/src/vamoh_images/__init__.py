"""vamoh_images: the first-party images plugin for vamoh.

Readers for image folders, ``.npy``, MNIST IDX, HDF5 and MATLAB files; the ``images`` modality
(pixel grids in [-1, 1]^2, discretised logistic for 8-bit data); masks for in-painting,
out-painting and completion; PSNR/SSIM/bits-per-dim; image grids; classical baselines.

Example:
    >>> import numpy as np, vamoh_images
    >>> ds = vamoh_images.from_array(np.zeros((2, 28, 28), np.uint8))
    >>> vamoh_images.ImageModality().can_handle(ds)
    0.95
"""

from __future__ import annotations

from vamoh_images.arrays import from_array
from vamoh_images.coordinates import PixelGridCoordinates
from vamoh_images.errors import (
    CorruptImageError,
    EmptyFolderError,
    ImageDataError,
    ImageShapeError,
    MissingImageFileError,
    MixedImageSizesError,
    UnsupportedDtypeError,
)
from vamoh_images.modality import ImageModality
from vamoh_images.readers import (
    Hdf5ImageReader,
    IdxReader,
    ImageFolderReader,
    MatlabImageReader,
    NumpyImageReader,
)

__all__ = [
    "CorruptImageError",
    "EmptyFolderError",
    "Hdf5ImageReader",
    "IdxReader",
    "ImageDataError",
    "ImageFolderReader",
    "ImageModality",
    "ImageShapeError",
    "MatlabImageReader",
    "MissingImageFileError",
    "MixedImageSizesError",
    "NumpyImageReader",
    "PixelGridCoordinates",
    "UnsupportedDtypeError",
    "from_array",
]
