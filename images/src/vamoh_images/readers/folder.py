"""A folder of PNG/JPEG (any Pillow format) images, or one image file, as an image stack.

Layouts: images directly in the folder, or in class subfolders (``digits/0/*.png``,
``digits/1/*.png``), whose names become a ``label`` coordinate. Every file is checked (header)
before any is decoded, so a corrupt file or mixed sizes fail fast with the file named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr

from vamoh.modality import Reader
from vamoh_images.arrays import CHANNEL_DIM, IMAGE_DIM, X_DIM, Y_DIM, from_array
from vamoh_images.errors import (
    CorruptImageError,
    EmptyFolderError,
    ImageDataError,
    MixedImageSizesError,
    UnsupportedDtypeError,
    existing_path,
)

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderReader"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_GREY_MODES = {"1", "L", "LA"}
_WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # 16/32-bit: no safe 8-bit mapping
_PIL_MODE = {"grey": "L", "rgb": "RGB", "rgba": "RGBA"}
_SUBFOLDERS_CHECKED = 64

Mode = Literal["grey", "rgb", "rgba"]
Fit = Literal["crop", "stretch"]


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _is_image(p))


def _is_empty_folder(folder: Path) -> bool:
    """No entries at all, hidden ones (``.DS_Store``) aside."""
    return not any(not entry.name.startswith(".") for entry in folder.iterdir())


def _collect(path: Path) -> tuple[list[Path], list[str] | None]:
    """(image files, class label per file or None)."""
    existing_path(path, "image file or folder")
    if path.is_file():
        return [path], None
    top = _images_in(path)
    if top:
        return top, None
    files: list[Path] = []
    labels: list[str] = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        found = _images_in(sub)
        files.extend(found)
        labels.extend([sub.name] * len(found))
    if not files:
        what = "the folder is empty" if _is_empty_folder(path) else "it holds no image files"
        raise EmptyFolderError(
            f"{what}: {str(path)!r} has no image files ({', '.join(IMAGE_EXTENSIONS)}) at the "
            f"top or in its immediate subfolders; point to a folder of images."
        )
    return files, labels


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (int(value), int(value)) if np.isscalar(value) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be a positive int or (height, width); got {value!r}.")
    return pair  # type: ignore[return-value]


def _centre_box(width: int, height: int, crop_h: int, crop_w: int) -> tuple[int, int, int, int]:
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def _load(
    file: Path,
    mode: Mode,
    crop: tuple[int, int] | None,
    size: tuple[int, int] | None,
    fit: Fit,
) -> np.ndarray:
    """Decode, crop and resize one file into ``(H, W, C)`` uint8."""
    from PIL import Image

    try:
        with Image.open(file) as im:
            im.load()
            if im.mode == "P" and "transparency" in im.info:
                im = im.convert("RGBA")
            im = im.convert(_PIL_MODE[mode])
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(
            f"cannot decode image file {str(file)!r} ({exc}); remove or replace the file."
        ) from exc
    if crop is not None:
        im = im.crop(_centre_box(im.width, im.height, *crop))
    if size is not None and (im.height, im.width) != size:
        target_h, target_w = size
        if fit == "crop":
            # the largest centred box with the target's aspect ratio, so nothing is stretched
            scale = min(im.width / target_w, im.height / target_h)
            box_w, box_h = round(target_w * scale), round(target_h * scale)
            im = im.crop(_centre_box(im.width, im.height, box_h, box_w))
        im = im.resize((target_w, target_h), Image.Resampling.BICUBIC)
    pixels = np.asarray(im, dtype=np.uint8)
    return pixels[..., None] if pixels.ndim == 2 else pixels


class ImageFolderReader(Reader):
    """Reads a folder of images (or one image file) with Pillow.

    Example:
        >>> import tempfile, numpy as np
        >>> from pathlib import Path
        >>> from PIL import Image
        >>> folder = Path(tempfile.mkdtemp())
        >>> for i in range(3):
        ...     Image.fromarray(np.full((6, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")
        >>> ds = ImageFolderReader().open(folder)
        >>> dict(ds["pixels"].sizes), ds["file"].values.tolist()
        ({'image': 3, 'y': 6, 'x': 8, 'channel': 1}, ['0.png', '1.png', '2.png'])
    """

    name: ClassVar[str] = "image_folder"
    extensions: ClassVar[tuple[str, ...]] = IMAGE_EXTENSIONS
    description: ClassVar[str] = "a folder (or class subfolders) of PNG/JPEG/... images, via Pillow"

    def guess_can_open(self, path: Any) -> bool:
        """An image file, a folder with image files at the top or one level down, or an empty
        folder without a suffix (so ``vamoh.open_dataset`` reports it as empty instead of
        unrecognised; ``era5.zarr/`` and the like stay with their own readers)."""
        p = Path(path)
        if p.is_dir():
            if (not p.suffix and _is_empty_folder(p)) or any(_is_image(f) for f in p.iterdir()):
                return True
            subs = [s for s in p.iterdir() if s.is_dir()][:_SUBFOLDERS_CHECKED]
            return any(any(_is_image(f) for f in s.iterdir()) for s in subs)
        return super().guess_can_open(p)

    def open(  # type: ignore[override]
        self,
        path: Any,
        *,
        size: int | Sequence[int] | None = None,
        crop: int | Sequence[int] | None = None,
        fit: Fit = "crop",
        mode: Mode | None = None,
        lazy: bool = False,
    ) -> xr.Dataset:
        """Read the images as ``(image, y, x, channel)`` uint8.

        Args:
            path: a folder or one image file.
            size: resize every image to ``(height, width)`` (an int means square). Required when
                the images differ in size.
            crop: first cut a centred ``(height, width)`` box out of every image.
            fit: how ``size`` treats another aspect ratio: ``"crop"`` cuts the largest centred
                box of the target's aspect ratio before resizing (nothing is distorted),
                ``"stretch"`` resizes directly.
            mode: ``"grey"``, ``"rgb"`` or ``"rgba"``; default grey when every file is grey,
                else RGB (alpha dropped).
            lazy: decode files only when the pixels are needed (a dask array, one chunk per file).

        Returns:
            A dataset with variable ``image`` and coordinates ``file`` (relative to ``path``)
            and, for class subfolders, ``label``.
        """
        root = Path(path)
        files, labels = _collect(root)
        sizes, modes = self._headers(files)
        crop_hw = _pair(crop, "crop") if crop is not None else None
        size_hw = _pair(size, "size") if size is not None else None
        if fit not in ("crop", "stretch"):
            raise ValueError(f"fit must be 'crop' or 'stretch'; got {fit!r}.")
        if crop_hw is not None:
            small = [f for f, (h, w) in zip(files, sizes) if h < crop_hw[0] or w < crop_hw[1]]
            if small:
                raise ImageDataError(
                    f"crop={crop_hw} is larger than {len(small)} image(s), e.g. {str(small[0])!r} "
                    f"({sizes[files.index(small[0])]}); choose a smaller crop."
                )
        out_hw = size_hw or crop_hw
        if out_hw is None:
            out_hw = self._common_size(files, sizes)
        wide = [f for f, m in zip(files, modes) if m in _WIDE_MODES]
        if wide:
            raise UnsupportedDtypeError(
                f"{str(wide[0])!r} (and {len(wide) - 1} more) holds 16- or 32-bit pixels, which "
                f"cannot be mapped to 8 bits without choosing a range; convert them to 8-bit "
                f"files, or load them with numpy and pass floats to vamoh_images.from_array."
            )
        if mode is None:
            mode = "grey" if all(m in _GREY_MODES for m in modes) else "rgb"
        if mode not in _PIL_MODE:
            raise ValueError(f"mode must be 'grey', 'rgb' or 'rgba'; got {mode!r}.")
        n_channels = {"grey": 1, "rgb": 3, "rgba": 4}[mode]
        shape = (*out_hw, n_channels)
        if lazy:
            import dask
            import dask.array as dsa

            load = dask.delayed(_load, pure=True)
            stack = dsa.stack(
                [
                    dsa.from_delayed(load(f, mode, crop_hw, size_hw, fit), shape, np.uint8)
                    for f in files
                ]
            )
        else:
            stack = np.stack([_load(f, mode, crop_hw, size_hw, fit) for f in files])
        ds = from_array(stack, dims=(IMAGE_DIM, Y_DIM, X_DIM, CHANNEL_DIM), labels=labels)
        base = root if root.is_dir() else root.parent
        names = [str(f.relative_to(base)) for f in files]
        ds = ds.assign_coords(file=(IMAGE_DIM, names))
        ds.attrs["source"] = str(root)
        return ds

    @staticmethod
    def _headers(files: list[Path]) -> tuple[list[tuple[int, int]], list[str]]:
        from PIL import Image

        sizes, modes = [], []
        for f in files:
            try:
                with Image.open(f) as im:
                    sizes.append((im.height, im.width))
                    modes.append(im.mode)
            except (OSError, SyntaxError, ValueError) as exc:
                raise CorruptImageError(
                    f"cannot read image file {str(f)!r} ({exc}); remove or replace the file."
                ) from exc
        return sizes, modes

    @staticmethod
    def _common_size(files: list[Path], sizes: list[tuple[int, int]]) -> tuple[int, int]:
        counts = Counter(sizes)
        if len(counts) == 1:
            return sizes[0]
        examples = ", ".join(
            f"{h}x{w} ({n} files, e.g. {files[sizes.index((h, w))].name!r})"
            for (h, w), n in counts.most_common(4)
        )
        common_h, common_w = counts.most_common(1)[0][0]
        raise MixedImageSizesError(
            f"the images differ in size (height x width): {examples}. Pass size=(height, width), "
            f"e.g. size=({common_h}, {common_w}), to resize them (fit='crop' keeps the aspect "
            f"ratio), or crop=... to cut a centred box."
        )
