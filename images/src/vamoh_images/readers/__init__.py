"""Readers that turn image files into ``(image, y, x, channel)`` datasets.

``vamoh.open_dataset(path)`` picks the one that claims the path: a folder or image file
(:class:`ImageFolderReader`), ``.npy`` (:class:`NumpyImageReader`), MNIST-style IDX
(:class:`IdxReader`), HDF5 (:class:`Hdf5ImageReader`) or MATLAB ``.mat``
(:class:`MatlabImageReader`).

Example:
    >>> sorted(r.name for r in all_readers())
    ['hdf5_images', 'idx', 'image_folder', 'matlab_images', 'numpy_images']
"""

from __future__ import annotations

from vamoh.modality import Reader
from vamoh_images.readers.folder import IMAGE_EXTENSIONS, ImageFolderReader
from vamoh_images.readers.hdf5 import Hdf5ImageReader
from vamoh_images.readers.idx import IdxReader, read_idx
from vamoh_images.readers.matlab import MatlabImageReader, matlab_images
from vamoh_images.readers.npy import NumpyImageReader

__all__ = [
    "IMAGE_EXTENSIONS",
    "Hdf5ImageReader",
    "IdxReader",
    "ImageFolderReader",
    "MatlabImageReader",
    "NumpyImageReader",
    "all_readers",
    "matlab_images",
    "read_idx",
]


def all_readers() -> list[Reader]:
    """One instance of every image reader (what the plugin registers).

    Example:
        >>> len(all_readers())
        5
    """
    return [
        ImageFolderReader(),
        NumpyImageReader(),
        IdxReader(),
        Hdf5ImageReader(),
        MatlabImageReader(),
    ]
