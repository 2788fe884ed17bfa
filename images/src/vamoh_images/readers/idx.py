"""MNIST-style IDX files (``t10k-images-idx3-ubyte[.gz]``), with their labels file when present.

The format: two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
dimension and the values in C order. MNIST, Fashion-MNIST and KMNIST ship this way.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_images.arrays import CHANNEL_DIM, IMAGE_DIM, X_DIM, Y_DIM, check_pixel_dtype, from_array
from vamoh_images.errors import CorruptImageError, ImageDataError, existing_path

__all__ = ["IdxReader", "read_idx"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_NAME = re.compile(r"idx\d", re.IGNORECASE)


def _open_binary(path: Path) -> Any:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")


def _parse_header(head: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES:
        raise CorruptImageError(
            f"{str(path)!r} is not an IDX file (bad magic number {head[:4]!r}); IDX files start "
            f"with two zero bytes, a type code and the number of dimensions."
        )
    ndim = head[3]
    size = 4 + 4 * ndim
    if len(head) < size:
        raise CorruptImageError(f"{str(path)!r} is truncated inside its IDX header.")
    shape = tuple(int(v) for v in np.frombuffer(head[4:size], dtype=">u4"))
    return np.dtype(_IDX_TYPES[head[2]]), shape, size


def read_idx(path: Any) -> np.ndarray:
    """The array stored in an IDX file (plain or gzip), in native byte order.

    Example:
        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
        >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(path).tolist()
        [7, 8, 9]
    """
    p = existing_path(path, "IDX file")
    try:
        with _open_binary(p) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise CorruptImageError(f"cannot read IDX file {str(p)!r} ({exc}).") from exc
    dtype, shape, offset = _parse_header(raw[: 4 + 4 * 255], p)
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise CorruptImageError(
            f"IDX file {str(p)!r} holds {len(raw) - offset} bytes of data but its header "
            f"announces shape {shape} ({expected} bytes); the file is truncated or corrupt."
        )
    array = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def _sibling_labels(path: Path) -> Path | None:
    name = path.name
    candidate = re.sub(r"images-idx3", "labels-idx1", name)
    if candidate == name:
        return None
    sibling = path.with_name(candidate)
    return sibling if sibling.exists() else None


class IdxReader(Reader):
    """Opens IDX image files as ``(image, y, x, channel)`` with a ``label`` coordinate.

    Example:
        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> header = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3])
        >>> _ = (folder / "train-images-idx3-ubyte").write_bytes(header + bytes(range(18)))
        >>> _ = (folder / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 4, 2]))
        >>> ds = IdxReader().open(folder / "train-images-idx3-ubyte")
        >>> ds["pixels"].shape, ds["label"].values.tolist()
        ((2, 3, 3, 1), [4, 2])
    """

    name: ClassVar[str] = "idx"
    extensions: ClassVar[tuple[str, ...]] = ("-ubyte", "-ubyte.gz", ".idx", ".idx.gz")
    description: ClassVar[str] = (
        "MNIST-style IDX files (plain or .gz), labels from the sibling file"
    )

    def guess_can_open(self, path: Any) -> bool:
        """IDX names (``*-idx3-ubyte``, ``*.idx``, optionally ``.gz``) with a valid magic number."""
        p = Path(path)
        if not (super().guess_can_open(p) or _NAME.search(p.name)):
            return False
        if not p.is_file():
            return super().guess_can_open(p)
        try:
            with _open_binary(p) as fh:
                _parse_header(fh.read(4 + 4 * 4), p)
        except (OSError, EOFError, CorruptImageError):
            return super().guess_can_open(p)  # claim by name so open() names the problem
        return True

    def open(self, path: Any, *, labels: Any = "auto") -> xr.Dataset:  # type: ignore[override]
        """Read images (3-D or 4-D IDX) or, for a 1-D labels file, the labels alone.

        Args:
            path: the images file.
            labels: ``"auto"`` (the sibling ``*-labels-idx1-*`` file when it exists), a path,
                or ``None`` for none.
        """
        p = Path(path)
        array = read_idx(p)
        if array.ndim == 1:
            return xr.Dataset({"label": (IMAGE_DIM, array)}, attrs={"source": str(p)})
        check_pixel_dtype(array.dtype, str(p))
        label_path = _sibling_labels(p) if labels == "auto" else labels
        label_values = None
        if label_path is not None:
            label_values = read_idx(label_path)
            if label_values.shape != (array.shape[0],):
                raise ImageDataError(
                    f"labels file {str(label_path)!r} has shape {label_values.shape} but "
                    f"{str(p)!r} holds {array.shape[0]} images; pass labels= the matching file "
                    f"or labels=None."
                )
        if array.ndim not in (3, 4):
            raise ImageDataError(
                f"IDX file {str(p)!r} holds a {array.ndim}-D array; images are 3-D "
                f"(image, y, x) or 4-D (image, y, x, channel)."
            )
        dims = (IMAGE_DIM, Y_DIM, X_DIM, CHANNEL_DIM)[: array.ndim]
        ds = from_array(array, dims=dims, labels=label_values)
        ds.attrs["source"] = str(p)
        return ds
