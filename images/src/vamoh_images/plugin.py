"""Entry point of the vamoh_images plugin: its hook implementations.

Example:
    >>> import vamoh
    >>> "images" in vamoh.plugins.modalities() and "idx" in vamoh.plugins.readers()
    True
"""

from __future__ import annotations

import vamoh.plugins
from vamoh.coordinates import CoordinateSystem
from vamoh.modality import Modality, Reader
from vamoh_images.coordinates import PixelGridCoordinates
from vamoh_images.modality import ImageModality
from vamoh_images.readers import all_readers

__all__ = ["vamoh_coordinate_systems", "vamoh_modalities", "vamoh_readers"]


@vamoh.plugins.hookimpl
def vamoh_modalities() -> list[Modality]:
    """The ``images`` modality.

    Example:
        >>> [m.name for m in vamoh_modalities()]
        ['images']
    """
    return [ImageModality()]


@vamoh.plugins.hookimpl
def vamoh_readers() -> list[Reader]:
    """Image folders, ``.npy``, IDX, HDF5 and MATLAB readers.

    Example:
        >>> len(vamoh_readers())
        5
    """
    return all_readers()


@vamoh.plugins.hookimpl
def vamoh_coordinate_systems() -> list[type[CoordinateSystem]]:
    """The pixel-grid coordinate system, so saved image models name it.

    Example:
        >>> [c.name for c in vamoh_coordinate_systems()]
        ['pixel_grid']
    """
    return [PixelGridCoordinates]
