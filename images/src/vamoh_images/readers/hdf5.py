"""Image stacks stored in HDF5 (e.g. Shapes3D's ``3dshapes.h5``: ``images`` and ``labels``).

Opened lazily by default: the pixels stay on disk in a dask array (chunks of whole images) and
are read when a batch needs them, so a 480,000-image file opens instantly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_images.arrays import IMAGE_DIM, check_pixel_dtype, from_array
from vamoh_images.errors import CorruptImageError, ImageDataError, existing_path
from vamoh_images.readers.npy import looks_like_images

__all__ = ["Hdf5ImageReader"]

_PREFERRED_IMAGES = ("images", "image", "imgs", "x")
_PREFERRED_LABELS = ("labels", "label", "y", "targets")


def _datasets(handle: Any) -> dict[str, Any]:
    """Every dataset in the file by its full path (without the leading slash)."""
    import h5py

    found: dict[str, Any] = {}

    def collect(name: str, obj: Any) -> None:  # returning None keeps h5py visiting
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    handle.visititems(collect)
    return found


def _image_like(datasets: dict[str, Any]) -> list[str]:
    return [
        name
        for name, d in datasets.items()
        if d.ndim in (3, 4) and looks_like_images(tuple(d.shape)) and d.dtype.kind in "ubf"
    ]


class Hdf5ImageReader(Reader):
    """Opens an HDF5 dataset of images (``(N, H, W)`` or ``(N, H, W, C)``) with its labels.

    Example:
        >>> import tempfile, h5py, numpy as np
        >>> from pathlib import Path
        >>> path = Path(tempfile.mkdtemp()) / "shapes.h5"
        >>> with h5py.File(path, "w") as f:
        ...     _ = f.create_dataset("images", data=np.zeros((4, 8, 8, 3), np.uint8))
        ...     _ = f.create_dataset("labels", data=np.arange(4.0))
        >>> ds = Hdf5ImageReader().open(path, lazy=False)
        >>> ds["pixels"].shape, ds["label"].values.tolist()
        ((4, 8, 8, 3), [0.0, 1.0, 2.0, 3.0])
    """

    name: ClassVar[str] = "hdf5_images"
    extensions: ClassVar[tuple[str, ...]] = (".h5", ".hdf5", ".he5")
    description: ClassVar[str] = "image stacks in HDF5 files (e.g. Shapes3D), read lazily"

    def guess_can_open(self, path: Any) -> bool:
        """HDF5 files holding an image-like dataset (unreadable ones too, so open can report)."""
        if not super().guess_can_open(path):
            return False
        try:
            import h5py

            with h5py.File(path, "r") as handle:
                return bool(_image_like(_datasets(handle)))
        except Exception:
            return True

    def open(  # type: ignore[override]
        self,
        path: Any,
        *,
        dataset: str | None = None,
        labels: str | None = "auto",
        dims: Sequence[str] | None = None,
        lazy: bool = True,
        chunk_images: int = 256,
    ) -> xr.Dataset:
        """Read the images dataset as ``(image, y, x, channel)``.

        Args:
            dataset: the images dataset; default ``images`` (or the only image-like one).
            labels: a labels dataset with one row per image: ``"auto"`` looks for ``labels``,
                ``label``, ``y`` or ``targets``; ``None`` skips. 1-D labels become a ``label``
                coordinate, ``(N, k)`` labels (generative factors) a ``labels`` variable with
                dims ``(image, factor)``.
            dims: names of the dataset's axes, as in :func:`vamoh_images.from_array`.
            lazy: keep pixels on disk (dask) until used; the file stays open meanwhile.
            chunk_images: images per dask chunk.
        """
        import h5py

        p = existing_path(path, "HDF5 file")
        try:
            handle = h5py.File(p, "r")
        except OSError as exc:
            raise CorruptImageError(f"cannot open HDF5 file {str(p)!r} ({exc}).") from exc
        try:
            datasets = _datasets(handle)
            name = self._choose(p, datasets, dataset)
            source = datasets[name]
            check_pixel_dtype(source.dtype, f"{str(p)!r} dataset {name!r}")
            if lazy:
                import dask.array as dsa

                chunks = (min(chunk_images, source.shape[0]), *source.shape[1:])
                pixels = dsa.from_array(source, chunks=chunks, lock=True)
            else:
                pixels = source[()]
            label_values = self._labels(p, datasets, labels, source.shape[0])
        except Exception:
            handle.close()
            raise
        if not lazy:
            handle.close()
        flat = label_values if label_values is not None and label_values.ndim == 1 else None
        ds = from_array(pixels, dims=dims, labels=flat)
        if label_values is not None and label_values.ndim == 2:
            ds["labels"] = ((IMAGE_DIM, "factor"), label_values)
        ds.attrs["source"] = str(p)
        ds.attrs["dataset"] = name
        return ds

    @staticmethod
    def _choose(path: Path, datasets: dict[str, Any], dataset: str | None) -> str:
        if dataset is not None:
            if dataset.strip("/") not in datasets:
                raise ImageDataError(
                    f"{str(path)!r} has no dataset {dataset!r}; it holds {sorted(datasets)}."
                )
            return dataset.strip("/")
        for name in _PREFERRED_IMAGES:
            if name in datasets:
                return name
        candidates = _image_like(datasets)
        if len(candidates) != 1:
            raise ImageDataError(
                f"cannot tell which dataset of {str(path)!r} holds the images (image-like: "
                f"{candidates or 'none'}; all: {sorted(datasets)}); pass dataset='name'."
            )
        return candidates[0]

    @staticmethod
    def _labels(
        path: Path, datasets: dict[str, Any], labels: str | None, n_images: int
    ) -> np.ndarray | None:
        if labels is None:
            return None
        if labels != "auto":
            if labels.strip("/") not in datasets:
                raise ImageDataError(
                    f"{str(path)!r} has no labels dataset {labels!r}; it holds {sorted(datasets)}."
                )
            names = [labels.strip("/")]
        else:
            names = [n for n in _PREFERRED_LABELS if n in datasets]
        for name in names:
            values = datasets[name]
            if values.ndim in (1, 2) and values.shape[0] == n_images:
                return np.asarray(values[()])
            if labels != "auto":
                raise ImageDataError(
                    f"labels dataset {name!r} of {str(path)!r} has shape {values.shape}; it needs "
                    f"one row per image ({n_images})."
                )
        return None
