"""The errors the images plugin raises for bad input: each a ``ValueError`` that names the fix.

Example:
    >>> from vamoh_images.errors import ImageDataError, UnsupportedDtypeError
    >>> issubclass(UnsupportedDtypeError, ImageDataError) and issubclass(ImageDataError, ValueError)
    True
"""

from __future__ import annotations

__all__ = [
    "CorruptImageError",
    "EmptyFolderError",
    "ImageDataError",
    "ImageShapeError",
    "MixedImageSizesError",
    "UnsupportedDtypeError",
]


class ImageDataError(ValueError):
    """Base class: the data cannot be read or modelled as images.

    Example:
        >>> raise ImageDataError("nothing to see")
        Traceback (most recent call last):
        ...
        vamoh_images.errors.ImageDataError: nothing to see
    """


class EmptyFolderError(ImageDataError):
    """A folder holds no image files the reader understands.

    Example:
        >>> isinstance(EmptyFolderError("empty"), ValueError)
        True
    """


class MixedImageSizesError(ImageDataError):
    """Images of different sizes cannot be stacked without a ``size=`` (resize) option.

    Example:
        >>> isinstance(MixedImageSizesError("28x28 and 32x32"), ImageDataError)
        True
    """


class UnsupportedDtypeError(ImageDataError):
    """Pixel values of a type the modality cannot model (16-bit, signed integers, complex...).

    Example:
        >>> isinstance(UnsupportedDtypeError("int16"), ImageDataError)
        True
    """


class CorruptImageError(ImageDataError):
    """A file could not be decoded; the message names the file.

    Example:
        >>> "a.png" in str(CorruptImageError("cannot read a.png"))
        True
    """


class ImageShapeError(ImageDataError):
    """The array's dimensions do not describe images (missing ``y``/``x``, a ``z`` axis...).

    Example:
        >>> isinstance(ImageShapeError("no y/x dims"), ImageDataError)
        True
    """
