"""``.binvox`` files: the run-length-encoded voxel format ShapeNet ships in.

The header is parsed by trimesh (``trimesh.exchange.binvox``); the run-length payload is decoded
here with numpy so that a truncated or corrupt file is caught and named instead of silently
reshaped. Voxels are stored with y running fastest, then z, then x; grids come back as ``(x, y, z)``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from trimesh.exchange.binvox import binvox_bytes, parse_binvox

from vamoh.atomic import atomic_output
from vamoh.modality import Reader
from vamoh_voxels.arrays import EmptyPolicy, occupancy_dataset
from vamoh_voxels.errors import BinvoxFormatError, EmptyShapeError, existing_path
from vamoh_voxels.grid import downsample_occupancy

__all__ = ["BinvoxGrid", "BinvoxReader", "open_binvox_files", "read_binvox", "write_binvox"]

_RUN_LIMIT = 255  # a binvox run count is one byte


@dataclass(frozen=True)
class BinvoxGrid:
    """One decoded ``.binvox`` file.

    Attributes:
        occupancy: ``(x, y, z)`` bool grid.
        translate: the header's translation of the grid in the source model's units.
        scale: the header's edge length of the whole grid in the source model's units.

    Example:
        >>> import numpy as np
        >>> BinvoxGrid(np.ones((2, 2, 2), bool), (0.0, 0.0, 0.0), 1.0).occupancy.shape
        (2, 2, 2)
    """

    occupancy: np.ndarray
    translate: tuple[float, float, float]
    scale: float


def read_binvox(path: str | Path) -> BinvoxGrid:
    """Decode a ``.binvox`` file; a corrupt or truncated one raises :class:`BinvoxFormatError`.

    Example:
        >>> import numpy as np, tempfile, os
        >>> g = np.zeros((4, 4, 4), bool); g[1, 2, 3] = True
        >>> path = os.path.join(tempfile.mkdtemp(), "dot.binvox")
        >>> _ = write_binvox(path, g)
        >>> np.argwhere(read_binvox(path).occupancy).tolist()
        [[1, 2, 3]]
    """
    path = existing_path(path, "binvox file")
    raw = path.read_bytes()
    try:
        parsed = parse_binvox(io.BytesIO(raw))
        dims = tuple(int(d) for d in np.asarray(parsed.shape).ravel())
        translate = tuple(float(t) for t in np.asarray(parsed.translate).ravel())
        scale = float(parsed.scale)
    except (ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise BinvoxFormatError(
            f"{path}: not a readable binvox file ({exc}). Check that it is a binvox file "
            f"(it starts with '#binvox 1' and has 'dim', 'translate', 'scale', 'data' lines)."
        ) from exc
    if len(dims) != 3 or min(dims) < 1 or len(translate) != 3:
        raise BinvoxFormatError(
            f"{path}: binvox header needs 'dim D H W' and 'translate tx ty tz'; got dim {dims} "
            f"and translate {translate}."
        )
    runs = np.asarray(parsed.rle_data, dtype=np.uint8)
    expected = int(np.prod(dims))
    if runs.size % 2:
        raise BinvoxFormatError(
            f"{path}: binvox data ends in the middle of a (value, count) pair; the file is "
            f"truncated. Re-export or re-download it."
        )
    values, counts = runs[0::2], runs[1::2].astype(np.int64)
    total = int(counts.sum())
    if total != expected:
        state = "truncated" if total < expected else "longer than its header says"
        raise BinvoxFormatError(
            f"{path}: binvox data is {state}: it encodes {total} voxels but 'dim {dims[0]} "
            f"{dims[1]} {dims[2]}' needs {expected}. Re-export or re-download the file."
        )
    if np.any(values > 1):
        raise BinvoxFormatError(
            f"{path}: binvox run values must be 0 or 1; found {int(values.max())}. The file is "
            f"corrupt; re-export or re-download it."
        )
    flat = np.repeat(values.astype(bool), counts)  # (x, z, y) order, y fastest
    occupancy = flat.reshape(dims[0], dims[2], dims[1]).transpose(0, 2, 1)
    return BinvoxGrid(np.ascontiguousarray(occupancy), translate, scale)  # type: ignore[arg-type]


def _run_lengths(flat: np.ndarray) -> bytes:
    starts = np.flatnonzero(np.concatenate([[True], flat[1:] != flat[:-1]]))
    lengths = np.diff(np.concatenate([starts, [flat.size]]))  # (R,)
    values = flat[starts].astype(np.uint8)
    pieces = -(-lengths // _RUN_LIMIT)  # runs longer than 255 are split
    counts = np.full(int(pieces.sum()), _RUN_LIMIT, dtype=np.int64)
    counts[np.cumsum(pieces) - 1] = lengths - _RUN_LIMIT * (pieces - 1)
    pairs = np.stack([np.repeat(values, pieces), counts.astype(np.uint8)], axis=1)
    return pairs.astype(np.uint8).tobytes()


def write_binvox(
    path: str | Path,
    occupancy: np.ndarray,
    *,
    translate: tuple[float, float, float] = (0.0, 0.0, 0.0),
    scale: float = 1.0,
) -> Path:
    """Write an ``(x, y, z)`` occupancy grid as a ``.binvox`` file (values > 0.5 are occupied).

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = write_binvox(os.path.join(tempfile.mkdtemp(), "a.binvox"), np.ones((2, 2, 2)))
        >>> path.read_bytes().startswith(b"#binvox 1")
        True
    """
    grid = np.asarray(occupancy)
    if grid.ndim != 3:
        raise ValueError(f"write_binvox needs one (x, y, z) grid; got shape {grid.shape}.")
    flat = (grid > 0.5).transpose(0, 2, 1).ravel()  # binvox order: x slowest, then z, y fastest
    payload = np.frombuffer(_run_lengths(flat), dtype=np.uint8)
    path = Path(path)
    with atomic_output(path, overwrite=True) as partial:
        partial.write_bytes(
            binvox_bytes(payload, shape=grid.shape, translate=translate, scale=scale)
        )
    return path


def open_binvox_files(
    paths: list[Path],
    *,
    labels: list[str],
    resolution: int | None,
    empty: EmptyPolicy,
    source: str,
    shape_coords: dict[str, list[str]] | None = None,
) -> tuple[xr.Dataset, list[BinvoxGrid]]:
    """Several binvox files as one dataset, and their decoded headers (shared by the
    single-file and ShapeNet readers).

    Example:
        >>> import numpy as np, tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp())
        >>> paths = [write_binvox(folder / f"{n}.binvox", np.ones((4, 4, 4))) for n in "ab"]
        >>> ds, headers = open_binvox_files(
        ...     paths, labels=["a", "b"], resolution=2, empty="error", source=str(folder))
        >>> dict(ds.sizes), headers[0].scale
        ({'shape': 2, 'x': 2, 'y': 2, 'z': 2}, 1.0)
    """
    grids, decoded = [], []
    for path in paths:  # one file per shape: decoding is per file, each vectorised inside
        decoded.append(read_binvox(path))
        grid = decoded[-1].occupancy
        if resolution is not None:
            try:
                grid = downsample_occupancy(grid, resolution)
            except ValueError as exc:
                raise BinvoxFormatError(f"{path}: {exc}") from exc
        if empty == "error" and not grid.any():
            raise EmptyShapeError(
                f"{path}: the shape is empty (no occupied voxel). Pass empty='drop' to skip "
                f"empty shapes or empty='keep' to keep them."
            )
        grids.append(grid)
    sizes = {g.shape for g in grids}
    if len(sizes) > 1:
        by_size = {g.shape: p for g, p in zip(grids, paths)}
        examples = ", ".join(f"{p.name} {s}" for s, p in by_size.items())
        raise BinvoxFormatError(
            f"{source}: the binvox files have different resolutions ({examples}); pass "
            f"resolution=N to bring them all to N^3."
        )
    dataset = occupancy_dataset(
        np.stack(grids), labels=labels, source=source, empty=empty, shape_coords=shape_coords
    )
    return dataset, decoded


class BinvoxReader(Reader):
    """Opens one ``.binvox`` file as occupancy over ``(shape, x, y, z)`` with one shape.

    ``open`` takes ``resolution`` (coarsen to N^3, any-occupied pooling) and ``empty``
    (``"error"``, ``"drop"`` or ``"keep"`` for an all-zero grid).

    Example:
        >>> import numpy as np, tempfile, os, vamoh
        >>> g = np.zeros((8, 8, 8)); g[2:6, 2:6, 2:6] = 1
        >>> path = write_binvox(os.path.join(tempfile.mkdtemp(), "box.binvox"), g)
        >>> ds = vamoh.open_dataset(path)
        >>> dict(ds.sizes), ds.shape.values.tolist()
        ({'shape': 1, 'x': 8, 'y': 8, 'z': 8}, ['box'])
    """

    name: ClassVar[str] = "binvox"
    extensions: ClassVar[tuple[str, ...]] = (".binvox",)
    description: ClassVar[str] = "a .binvox voxel file (ShapeNet's format)"

    def guess_can_open(self, path: Any) -> bool:
        return super().guess_can_open(path) and not Path(str(path)).is_dir()

    def open(
        self,
        path: Any,
        *,
        resolution: int | None = None,
        empty: EmptyPolicy = "error",
        **kwargs: Any,
    ) -> xr.Dataset:
        if kwargs:
            raise TypeError(f"binvox reader got unknown options {sorted(kwargs)}.")
        path = Path(path)
        dataset, (header,) = open_binvox_files(
            [path], labels=[path.stem], resolution=resolution, empty=empty, source=str(path)
        )
        dataset.attrs.update(binvox_translate=list(header.translate), binvox_scale=header.scale)
        return dataset
