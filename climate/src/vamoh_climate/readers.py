"""Readers for climate stores and files: Zarr (v2 and v3, local or fsspec URL) and netCDF.

Both open lazily with dask, so ``vamoh.fit`` streams batches from a store larger than memory.
They claim paths by suffix or by the store's own metadata files, never image or voxel files.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from vamoh.modality import Reader

__all__ = ["NetCDFReader", "ZarrReader"]

_ZARR_MARKERS = (".zgroup", ".zattrs", ".zmetadata", "zarr.json")
_NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf")
_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")


def _is_url(path: Any) -> bool:
    return "://" in str(path)


class ZarrReader(Reader):
    """Zarr stores (format 2 or 3, consolidated or not) as a lazy Dataset via ``xr.open_zarr``.

    Example:
        >>> import numpy as np, xarray as xr, tempfile, os
        >>> ds = xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 3)))},
        ...                 coords={"lat": [1.0, 0.0], "lon": [0.0, 1.0, 2.0]})
        >>> path = os.path.join(tempfile.mkdtemp(), "era5.zarr")
        >>> _ = ds.to_zarr(path, zarr_format=2, consolidated=False)
        >>> ZarrReader().guess_can_open(path), ZarrReader().guess_can_open("cat.png")
        (True, False)
        >>> ZarrReader().open(path)["t2m"].chunks is not None
        True
    """

    name: ClassVar[str] = "zarr"
    extensions: ClassVar[tuple[str, ...]] = (".zarr", ".zarr.zip")
    description: ClassVar[str] = "Zarr v2/v3 stores, local or fsspec URLs (s3://, gs://, https://)"

    def guess_can_open(self, path: Any) -> bool:
        """A ``.zarr`` path/URL, or a local directory holding Zarr metadata files."""
        if super().guess_can_open(path):
            return True
        local = _local_path(path)
        return (
            local is not None
            and local.is_dir()
            and any((local / m).is_file() for m in _ZARR_MARKERS)
        )

    def open(self, path: Any, **kwargs: Any) -> xr.Dataset:
        """Open lazily (dask); consolidated metadata is used when present, without warnings.

        Keyword arguments go to ``xarray.open_zarr`` (e.g. ``storage_options``, ``chunks``).
        """
        if not _is_url(path) and not Path(os.fspath(path)).exists():
            raise FileNotFoundError(f"no Zarr store at {str(path)!r}; check the path.")
        with warnings.catch_warnings():
            # zarr 3 notes that consolidated metadata is not in the v3 spec: not actionable here
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            if "consolidated" in kwargs:
                return xr.open_zarr(path, **kwargs)
            try:
                return xr.open_zarr(path, consolidated=True, **kwargs)
            except (KeyError, ValueError, FileNotFoundError, OSError):
                pass
            try:
                return xr.open_zarr(path, consolidated=False, **kwargs)
            except Exception as exc:
                raise ValueError(
                    f"cannot open {str(path)!r} as a Zarr store: {type(exc).__name__}: {exc}. "
                    f"Check that it is a Zarr v2/v3 group (with .zgroup or zarr.json)."
                ) from exc


def _local_path(path: Any) -> Path | None:
    """``path`` as a local ``Path``, or None for URLs and objects that are not paths."""
    if _is_url(path):
        return None
    try:
        return Path(os.fspath(path))
    except TypeError:
        return None


class NetCDFReader(Reader):
    """netCDF-3/4 files (``.nc``, ``.nc4``, ``.netcdf``, ``.cdf``) as a lazy Dataset.

    Uses the netCDF4 engine when installed, else h5netcdf (netCDF-4) or scipy (netCDF-3).

    Example:
        >>> import numpy as np, xarray as xr, tempfile, os
        >>> ds = xr.Dataset({"t2m": (("lat", "lon"), np.zeros((2, 3)))},
        ...                 coords={"lat": [1.0, 0.0], "lon": [0.0, 1.0, 2.0]})
        >>> path = os.path.join(tempfile.mkdtemp(), "era5.nc")
        >>> ds.to_netcdf(path)
        >>> NetCDFReader().guess_can_open(path), NetCDFReader().guess_can_open("chair.binvox")
        (True, False)
        >>> float(NetCDFReader().open(path)["t2m"].sum())
        0.0
    """

    name: ClassVar[str] = "netcdf"
    extensions: ClassVar[tuple[str, ...]] = _NETCDF_SUFFIXES
    description: ClassVar[str] = "netCDF-3/4 files (.nc, .nc4, .netcdf, .cdf)"

    def guess_can_open(self, path: Any) -> bool:
        """A netCDF suffix, or a suffix-less local file starting with the netCDF-3 signature."""
        if super().guess_can_open(path):
            return True
        local = _local_path(path)
        if local is None or local.suffix or not local.is_file():
            return False
        with open(local, "rb") as handle:
            return handle.read(4) in _NETCDF3_MAGIC

    def open(self, path: Any, **kwargs: Any) -> xr.Dataset:
        """Open lazily (``chunks={}``: the file's own chunks) unless ``chunks`` is given."""
        if not _is_url(path) and not Path(os.fspath(path)).is_file():
            raise FileNotFoundError(f"no netCDF file at {str(path)!r}; check the path.")
        kwargs.setdefault("chunks", {})
        if "engine" not in kwargs:
            kwargs["engine"] = _netcdf_engine(path)
        try:
            return xr.open_dataset(path, **kwargs)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"cannot open {str(path)!r} as netCDF: {type(exc).__name__}: {exc}. Is the file "
                f"complete and in netCDF-3/4 format?"
            ) from exc


def _netcdf_engine(path: Any) -> str | None:
    """The first installed engine that reads this file's flavour (None: let xarray choose)."""
    import importlib.util

    candidates = ["netcdf4", "h5netcdf", "scipy"]
    modules = {"netcdf4": "netCDF4", "h5netcdf": "h5netcdf", "scipy": "scipy"}
    if not _is_url(path):
        with open(os.fspath(path), "rb") as handle:
            head = handle.read(4)
        if head in _NETCDF3_MAGIC:
            candidates = ["netcdf4", "scipy"]
        elif head == b"\x89HDF":
            candidates = ["netcdf4", "h5netcdf"]
    for engine in candidates:
        if importlib.util.find_spec(modules[engine]) is not None:
            return engine
    return None
