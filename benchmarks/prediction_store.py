"""Prediction store: peak memory of gap filling many fields, in memory vs block by block into Zarr.

``model.impute(ds)`` holds its whole result (mean and std for every field) in memory;
``vamoh.write_predictions`` reads, predicts and writes one block of fields at a time, so its
peak should not grow with the number of fields. Both run on the same lazily opened store, each
in a fresh process, so each peak RSS is that call's alone.

Example:
    >>> FULL_FIELDS * FULL_GRID[0] * FULL_GRID[1] * 4 // 2**20  # store data, MiB (float32)
    497
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    SEED,
    current_rss_mb,
    in_fresh_process,
    peak_rss_mb,
    reset_peak_rss,
    seed_everything,
    table,
    threads,
    timer,
)
from benchmarks.speed_training import sphere_fields, tiny_config

NAME = "prediction_store"

FULL_GRID = (181, 360)  # 1 degree, poles included
QUICK_GRID = (8, 16)
FULL_FIELDS = 2000
QUICK_FIELDS = 40
FIELDS_PER_CHUNK = 50  # of the input store
QUICK_BLOCK = 8  # fields per block of the writer in quick runs (full runs: its default)
HIDDEN = 0.3  # share of each field's points missing (to be filled)
TRAIN_FIELDS = 8


def write_gappy_store(path: Path, n_fields: int, grid: tuple[int, int]) -> float:
    """``n_fields`` synthetic fields with ``HIDDEN`` of their points missing, written a chunk of
    fields at a time; returns the uncompressed data size in MiB.

    Example:
        >>> import tempfile, xarray as xr
        >>> store = Path(tempfile.mkdtemp()) / "g.zarr"
        >>> round(write_gappy_store(store, 5, (4, 8)), 4)
        0.0006
        >>> ds = xr.open_zarr(store)
        >>> ds.t2m.chunks[0], 0.0 < float(ds.t2m.isnull().mean()) < 1.0
        ((5,), True)
    """
    rng = np.random.default_rng(SEED)
    for start in range(0, n_fields, FIELDS_PER_CHUNK):
        count = min(FIELDS_PER_CHUNK, n_fields - start)
        block = sphere_fields(grid[0], grid[1], count, seed=SEED + start)
        block = block.assign_coords(time=np.arange(start, start + count))
        block = block.where(rng.random(block.t2m.shape) >= HIDDEN).astype(np.float32)
        block = block.chunk({"time": FIELDS_PER_CHUNK})
        if start == 0:
            block.to_zarr(path, mode="w", consolidated=False)
        else:
            block.to_zarr(path, append_dim="time", consolidated=False)
    return n_fields * grid[0] * grid[1] * 4 / 2**20


def train_model(path: Path, grid: tuple[int, int]) -> None:
    """A small climate model fitted on a few complete fields of ``grid``, saved to ``path``."""
    import vamoh

    fields = sphere_fields(grid[0], grid[1], TRAIN_FIELDS, seed=SEED + 10_000)
    config = dict(tiny_config(), batch_size=4, points_per_sample=min(2048, grid[0] * grid[1]))
    model = vamoh.fit(fields, max_epochs=1, progress=False, report=False, config=config)
    model.save(path)


def measure(store: str, model_path: str, mode: str, out: str, block: int | None) -> dict[str, Any]:
    """Fill the gaps of every field of ``store``: in memory (``mode="memory"``) or into ``out``
    block by block (``mode="store"``); returns the peak RSS and the time.

    One latent draw per prediction: memory does not depend on the number of draws, time does.

    Example:
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_gappy_store(folder / "g.zarr", 6, (6, 8))
        >>> train_model(folder / "m.vamoh", (6, 8))
        >>> r = measure(str(folder / "g.zarr"), str(folder / "m.vamoh"), "store",
        ...             str(folder / "out.zarr"), 4)
        >>> r["fields"], r["peak_mb"] >= r["baseline_mb"], (folder / "out.zarr").is_dir()
        (6, True, True)
    """
    import xarray as xr

    import vamoh

    count = threads()
    seed_everything(SEED)
    model = vamoh.load(model_path)
    model.n_samples = 1
    data = xr.open_zarr(store, consolidated=False)
    reset_peak_rss()
    baseline = current_rss_mb()
    with timer() as elapsed:
        if mode == "memory":
            result = model.impute(data)
            fields = int(result.sizes["time"])
        else:
            vamoh.write_predictions(
                model, "impute", data, out, block_size=block, progress=False, overwrite=True
            )
            fields = int(xr.open_zarr(out).sizes["time"])
    return {
        "seconds": elapsed.seconds,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
        "fields": fields,
        "threads": count,
    }


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Write a gappy store, fill it in memory and into Zarr (fresh processes in full runs).

    ``python -m benchmarks run --only prediction_store`` runs it (``--quick``: a smoke run).

    Example:
        >>> FULL_FIELDS // FIELDS_PER_CHUNK
        40
    """
    count = threads(quick)
    grid = QUICK_GRID if quick else FULL_GRID
    n_fields = QUICK_FIELDS if quick else FULL_FIELDS
    block = QUICK_BLOCK if quick else None
    folder = Path(tempfile.mkdtemp(prefix="vamoh-prediction-store-"))
    rows = []
    try:
        store, model_path = folder / "gappy.zarr", folder / "model.vamoh"
        data_mb = write_gappy_store(store, n_fields, grid)
        train_model(model_path, grid)
        for mode, label in (("memory", "model.impute (in memory)"), ("store", "write_predictions")):
            arguments = dict(
                store=str(store),
                model_path=str(model_path),
                mode=mode,
                out=str(folder / "filled.zarr"),
                block=block,
            )
            result = (
                measure(**arguments)
                if quick
                else in_fresh_process("benchmarks.prediction_store:measure", **arguments)
            )
            rows.append(
                [
                    label,
                    result["fields"],
                    result["seconds"],
                    result["peak_mb"],
                    result["peak_mb"] - result["baseline_mb"],
                ]
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    per_sample = grid[0] * grid[1]
    default_block = max(1, 2**22 // per_sample)
    where = "in this process (quick run)" if quick else "in a fresh process per call"
    plural = "s" if count != 1 else ""
    return {
        "name": NAME,
        "title": "Writing predictions for many fields into Zarr",
        "description": (
            f"{n_fields} synthetic temperature fields on a global {grid[0]} x {grid[1]} grid "
            f"({data_mb:.0f} MiB as float32), {HIDDEN:.0%} of each field's points missing, in a "
            f"Zarr store ({FIELDS_PER_CHUNK} fields per chunk) opened lazily with "
            f"xarray.open_zarr. A small climate model fills every gap, once with model.impute "
            f"(the whole result in memory) and once with vamoh.write_predictions into a Zarr "
            f"store (blocks of {block or default_block} fields); one latent draw per prediction, "
            f"{count} torch thread{plural}, seed {SEED}."
        ),
        "tables": [
            table(
                "Peak memory of gap filling every field",
                ["call", "fields", "seconds", "peak RSS MiB", "RSS above start MiB"],
                rows,
                notes=(
                    f"Peak RSS measured {where}, after loading the model and opening the store. "
                    f"The result (mean and std, float64) is "
                    f"{n_fields * per_sample * 2 * 8 / 2**20:.0f} MiB."
                ),
            )
        ],
        "figures": [],
    }
