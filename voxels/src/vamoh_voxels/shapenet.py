"""ShapeNet voxel folders: every shape under a directory, labelled by synset and model id.

Two layouts are recognised:

* ShapeNetVox32: ``<synset>/<model_id>/model.binvox`` (32^3 surface-filled grids);
* ShapeNetCore v2: ``<synset>/<model_id>/models/model_normalized.solid.binvox`` (128^3 solids;
  pass ``resolution=32`` to pool them down).

The directory may be the dataset root, one synset folder or a single model folder. A folder with
neither layout but with ``*.binvox`` files directly inside is read too (labels are file stems).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from vamoh.modality import Reader
from vamoh_voxels.arrays import EmptyPolicy
from vamoh_voxels.binvox import open_binvox_files
from vamoh_voxels.errors import BinvoxFormatError, existing_path

__all__ = ["ShapeNetReader", "find_shapenet_files"]

VOX32_NAME = "model.binvox"
CORE_V2_NAME = "model_normalized.solid.binvox"

# Where the files of each layout sit below the root, synset and model folders.
_PATTERNS: tuple[str, ...] = (
    VOX32_NAME,
    f"*/{VOX32_NAME}",
    f"*/*/{VOX32_NAME}",
    f"models/{CORE_V2_NAME}",
    f"*/models/{CORE_V2_NAME}",
    f"*/*/models/{CORE_V2_NAME}",
)


def _ids(path: Path) -> tuple[str, str]:
    model_folder = path.parent.parent if path.name == CORE_V2_NAME else path.parent
    return model_folder.parent.name, model_folder.name


def find_shapenet_files(directory: str | Path) -> tuple[list[Path], list[str], list[str]]:
    """The ShapeNet binvox files under ``directory``, sorted, with their synsets and model ids.

    Example:
        >>> import numpy as np, tempfile
        >>> from pathlib import Path
        >>> from vamoh_voxels.binvox import write_binvox
        >>> root = Path(tempfile.mkdtemp()); (root / "03001627" / "abc").mkdir(parents=True)
        >>> _ = write_binvox(root / "03001627" / "abc" / "model.binvox", np.ones((4, 4, 4)))
        >>> files, synsets, models = find_shapenet_files(root)
        >>> synsets, models
        (['03001627'], ['abc'])
    """
    directory = Path(directory)
    found: set[Path] = set()
    for pattern in _PATTERNS:
        found.update(p for p in directory.glob(pattern) if p.is_file())
    if not found:
        found.update(p for p in directory.glob("*.binvox") if p.is_file())
        files = sorted(found)
        return files, [directory.name] * len(files), [p.stem for p in files]
    files = sorted(found)
    ids = [_ids(p) for p in files]
    return files, [s for s, _ in ids], [m for _, m in ids]


class ShapeNetReader(Reader):
    """Opens a ShapeNet voxel folder (or any folder of ``.binvox`` files) as one dataset.

    The result is occupancy over ``(shape, x, y, z)`` with the model ids on ``shape`` and a
    ``synset`` coordinate beside them. ``open`` takes ``resolution`` (pool every grid to N^3),
    ``empty`` (``"error"``, ``"drop"``, ``"keep"``) and ``limit`` (read only the first N shapes).

    Example:
        >>> import numpy as np, tempfile, vamoh
        >>> from pathlib import Path
        >>> from vamoh_voxels.binvox import write_binvox
        >>> root = Path(tempfile.mkdtemp())
        >>> for model in ["m1", "m2"]:
        ...     (root / "03001627" / model).mkdir(parents=True)
        ...     _ = write_binvox(root / "03001627" / model / "model.binvox", np.ones((4, 4, 4)))
        >>> ds = vamoh.open_dataset(root)
        >>> ds.shape.values.tolist(), ds.synset.values.tolist()
        (['m1', 'm2'], ['03001627', '03001627'])
    """

    name: ClassVar[str] = "shapenet"
    extensions: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "a ShapeNetVox32 / ShapeNetCore v2 folder of .binvox voxel files"

    def guess_can_open(self, path: Any) -> bool:
        directory = Path(str(path))
        if not directory.is_dir():
            return False
        patterns = (*_PATTERNS, "*.binvox")
        return any(next(directory.glob(pattern), None) is not None for pattern in patterns)

    def open(
        self,
        path: Any,
        *,
        resolution: int | None = None,
        empty: EmptyPolicy = "error",
        limit: int | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        if kwargs:
            raise TypeError(f"shapenet reader got unknown options {sorted(kwargs)}.")
        directory = existing_path(path, "ShapeNet folder")
        if not directory.is_dir():
            raise NotADirectoryError(f"{directory}: the shapenet reader opens folders.")
        files, synsets, models = find_shapenet_files(directory)
        if not files:
            raise BinvoxFormatError(
                f"{directory}: no ShapeNet voxel files found (looked for <synset>/<model>/"
                f"{VOX32_NAME}, <synset>/<model>/models/{CORE_V2_NAME} and *.binvox)."
            )
        if limit is not None:
            files, synsets, models = files[:limit], synsets[:limit], models[:limit]
        dataset, _ = open_binvox_files(
            files,
            labels=models,
            resolution=resolution,
            empty=empty,
            source=str(directory),
            shape_coords={"synset": synsets},
        )
        return dataset
