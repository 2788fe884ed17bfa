"""Predictions for many samples written into a Zarr store block by block, in bounded memory.

``model.impute(ds)`` returns its whole result in memory; for years of hourly fields that does not
fit. :func:`write_predictions` reads a block of samples of the (lazy) input, predicts it through
the same public :class:`~vamoh.api.Model` method, and writes that block into its region of the
store along the sample dimension, so memory holds one block whatever the store's length. The
values, coordinates, attributes and units are those the in-memory call returns.

The store is written under a temporary name beside ``out`` and renamed when complete
(:func:`vamoh.atomic.atomic_output`): a write that fails or is killed never leaves a
half-written store under the requested name.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from vamoh.atomic import atomic_output, check_new_output
from vamoh.progress import ProgressReport, progress_report

if TYPE_CHECKING:
    from vamoh.api import Model

__all__ = ["METHODS", "write_predictions"]

METHODS = ("impute", "reconstruct", "predict", "downscale", "super_resolve")
_BLOCK_NUMBERS = 2**22  # default block: about 4 M input numbers (32 MB as float64)


def _as_dataset(data: Any, what: str) -> xr.Dataset:
    if isinstance(data, xr.DataArray):
        return data.to_dataset(name=str(data.name or "values"))
    if isinstance(data, xr.Dataset):
        return data
    raise TypeError(
        f"write_predictions needs {what} as an xarray Dataset or DataArray with a sample "
        f"dimension; got {type(data).__name__}. Call the model method directly for other data."
    )


def _sample_dim(model: Model, data: xr.Dataset, requested: str | None) -> str | None:
    """The dimension that indexes samples: given, or the one whose slices split the samples
    (``None`` for data that hold a single sample)."""
    if requested is not None:
        if requested not in data.dims:
            raise ValueError(
                f"sample_dim={requested!r} is not a dimension of the data; dims: "
                f"{list(map(str, data.dims))}."
            )
        return requested
    variables = list(model.channels)
    whole = model.modality.to_points(data, variables=variables)
    for dim in data.dims:
        size = int(data.sizes[dim])
        if size < 2 or whole.n_samples % size:
            continue
        try:
            part = model.modality.to_points(data.isel({dim: slice(0, 1)}), variables=variables)
        except ValueError:  # slicing a spatial dim to one point breaks the grid: not samples
            continue
        if part.n_samples == whole.n_samples // size and part.n_points == whole.n_points:
            return str(dim)
    if whole.n_samples == 1:
        return None
    raise ValueError(
        f"cannot tell which dimension of the data indexes samples (dims "
        f"{list(map(str, data.dims))}, {whole.n_samples} samples); pass sample_dim=..."
    )


def _block_of(value: Any, dim: str, n: int, block: slice) -> Any:
    """An xarray argument that lines up with the data's samples is cut to the block too."""
    if isinstance(value, xr.DataArray | xr.Dataset) and value.sizes.get(dim) == n:
        return value.isel({dim: block})
    return value


def _template(result: xr.Dataset, data: xr.Dataset, dim: str, n: int, block: int) -> xr.Dataset:
    """The full store's layout from the first block's result: lazy, nothing computed.

    Variables along ``dim`` become placeholders ``n`` long (every block then writes its region
    of them, coordinates included); the rest is written once, as the first block has it.
    """
    import dask.array as da

    def full(var: xr.Variable) -> xr.Variable:
        shape = tuple(n if d == dim else var.sizes[d] for d in var.dims)
        chunks = tuple(block if d == dim else var.sizes[d] for d in var.dims)
        return xr.Variable(var.dims, da.empty(shape, dtype=var.dtype, chunks=chunks), var.attrs)

    data_vars = {k: full(v.variable) if dim in v.dims else v for k, v in result.data_vars.items()}
    coords: dict[str, Any] = {}
    for name, coord in result.coords.items():
        if dim not in coord.dims:
            coords[str(name)] = coord.variable
        elif name == dim:  # an index: the input's labels (each block writes its own anyway)
            source = data[dim] if dim in data.coords else xr.DataArray(np.arange(n), dims=dim)
            coords[dim] = xr.Variable(dim, source.values.astype(coord.dtype), coord.attrs)
        else:
            coords[str(name)] = full(coord.variable)
    return xr.Dataset(data_vars, coords=coords, attrs=result.attrs)


@contextmanager
def _draws_as_in_one_call(model: Model, first_sample: int) -> Iterator[None]:
    """Latent draws for a block starting at ``first_sample`` as one call on all samples makes them.

    A prediction seeds each inference batch with ``model.seed`` plus the batch's first position
    in the call; shifting the seed by the block's start (blocks are whole batches) gives every
    batch the seed it has in the call on the whole input.
    """
    seed = model.seed
    model.seed = seed + first_sample
    try:
        yield
    finally:
        model.seed = seed


def _write_blocks(
    model: Model,
    method: str,
    ds: xr.Dataset,
    kwargs: dict[str, Any],
    store: Path,
    dim: str,
    block_size: int | None,
    report: ProgressReport,
) -> None:
    """Predict ``ds`` a block of samples along ``dim`` at a time into the new Zarr ``store``."""
    n = int(ds.sizes[dim])
    if block_size is None:
        per_sample = max(1, int(np.prod([s for d, s in ds.sizes.items() if d != dim])))
        block_size = _BLOCK_NUMBERS // per_sample
    # whole inference batches per block: the batches, and so the latent draws, are the same as
    # in one call on all samples
    block_size = math.ceil(max(1, block_size) / model.batch_size) * model.batch_size
    predict = getattr(model, method)
    for start in range(0, n, block_size):
        block = slice(start, min(n, start + block_size))
        args = {k: _block_of(v, dim, n, block) for k, v in kwargs.items()}
        with _draws_as_in_one_call(model, start):
            result = _as_dataset(predict(ds.isel({dim: block}), **args), "the result")
        result = result.drop_encoding()
        if result.sizes.get(dim) != block.stop - block.start:
            raise ValueError(
                f"model.{method} returned no {dim!r} dimension of the block's length "
                f"(dims {dict(result.sizes)}); it cannot be written block by block."
            )
        if start == 0:
            _template(result, ds, dim, n, block_size).to_zarr(store, mode="w-", compute=False)
        written_once = [k for k, v in result.variables.items() if dim not in v.dims]
        result.drop_vars(written_once).to_zarr(store, region={dim: block})
        report.advance(block.stop - block.start)


def write_predictions(
    model: Model,
    method: str,
    data: xr.Dataset | xr.DataArray,
    out: str | Path,
    *,
    sample_dim: str | None = None,
    block_size: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    **kwargs: Any,
) -> Path:
    """Run ``model.<method>(data, **kwargs)`` a block of samples at a time into a Zarr store.

    The store holds what the in-memory call returns (same variables, values, coordinates,
    attributes and units); memory holds one block of input and result at a time, whatever the
    number of samples. A lazy (dask) input is read one block at a time. (The values are equal
    where one call gives the same answer twice: an encoder that picks its centroids at random,
    ``centroid_method="random"`` or ``"stratified"``, draws other centroids on every call.)

    Args:
        model: a trained :class:`~vamoh.api.Model`.
        method: ``"impute"``, ``"reconstruct"``, ``"predict"``, ``"downscale"`` or
            ``"super_resolve"``.
        data: the input, an xarray object with a sample dimension (e.g. ``time``).
        out: the Zarr store to write (e.g. ``"filled.zarr"``).
        sample_dim: the dimension to cut into blocks; found from the data by default.
        block_size: samples per block (default: about 4 M input numbers), rounded up to a
            multiple of ``model.batch_size`` so that the latent draws are those of the
            in-memory call; also the store's chunk length along ``sample_dim``.
        overwrite: replace an existing ``out`` (otherwise it is refused, before any work).
        progress: print progress lines (samples done, ETA) when the work takes long.
        **kwargs: the method's arguments (``factor=2``, ``to=grid``, ``at=stations``); an
            xarray argument with the same sample dimension and length is cut to each block.

    Returns:
        The path of the complete store (open it with ``xarray.open_zarr``).

    Example:
        >>> import tempfile, numpy as np, xarray as xr, vamoh
        >>> from vamoh.toy import ToyModality
        >>> from vamoh.output import write_predictions
        >>> values = np.sin(np.linspace(0, 3, 24))[None, :] * np.linspace(1, 2, 12)[:, None]
        >>> ds = xr.Dataset({"v0": (("sample", "x"), values)})
        >>> with vamoh.plugins.registered(ToyModality.plugin()):
        ...     model = vamoh.fit(values, modality="toy", max_epochs=1, progress=False,
        ...                       report=False, config={"batch_size": 4})
        ...     model.batch_size = 4  # samples per forward pass at inference
        ...     gappy = ds.where(ds.x % 3 != 0)
        ...     out = f"{tempfile.mkdtemp()}/filled.zarr"
        ...     path = write_predictions(model, "impute", gappy, out, block_size=4)
        ...     stored = xr.open_zarr(path)
        >>> sorted(stored.data_vars), stored["v0"].shape, stored["v0"].chunks[0]
        (['v0', 'v0_std'], (12, 24), (4, 4, 4))
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    target = check_new_output(out, overwrite)  # before any work
    ds = _as_dataset(data, "the data")
    dim = _sample_dim(model, ds, sample_dim)
    if block_size is not None and block_size < 1:
        raise ValueError(f"block_size must be at least 1; got {block_size}.")
    with atomic_output(target, overwrite=overwrite) as partial, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        if dim is None:  # a single field: one block
            result = _as_dataset(getattr(model, method)(ds, **kwargs), "the result")
            result.drop_encoding().to_zarr(partial, mode="w-")
        else:
            with progress_report(
                int(ds.sizes[dim]), what=f"{method} -> {target.name}", enabled=progress
            ) as report:
                _write_blocks(model, method, ds, kwargs, partial, dim, block_size, report)
    return target
