"""The errors the images plugin raises for bad input: each a ``ValueError`` that names the fix.

Example:
    >>> from vamoh_images.errors import ImageDataError, UnsupportedDtypeError
    >>> issubclass(UnsupportedDtypeError, ImageDataError) and issubclass(ImageDataError, ValueError)
    True
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

__all__ = [
    "CorruptImageError",
    "EmptyFolderError",
    "ImageDataError",
    "ImageShapeError",
    "MissingImageFileError",
    "MixedImageSizesError",
    "UnsupportedDtypeError",
    "existing_path",
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


class MissingImageFileError(FileNotFoundError, ImageDataError):
    """A path given to a reader does not exist.

    It is a ``FileNotFoundError`` (what Python code expects of a missing file) and an
    :class:`ImageDataError` (so ``except ValueError`` around bad input catches it too); its
    ``filename`` is the path.

    Example:
        >>> error = MissingImageFileError(2, "no such image file", "faces.mat")
        >>> isinstance(error, FileNotFoundError), isinstance(error, ValueError), error.filename
        (True, True, 'faces.mat')
        >>> str(error)
        "[Errno 2] no such image file: 'faces.mat'"
    """


def existing_path(path: Any, what: str = "image file") -> Path:
    """``path`` as a ``Path`` when it exists, else a :class:`MissingImageFileError` naming it.

    Args:
        path: a file or folder path.
        what: how the message calls it (``"IDX file"``, ``"image file or folder"``...).

    Example:
        >>> existing_path("/no/such/faces.mat", "MATLAB file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        vamoh_images.errors.MissingImageFileError: [Errno 2] no such MATLAB file ...
    """
    candidate = Path(path)
    if not candidate.exists():
        raise MissingImageFileError(
            errno.ENOENT,
            f"no such {what} (check the spelling; relative paths start at {Path.cwd()})",
            str(candidate),
        )
    return candidate
