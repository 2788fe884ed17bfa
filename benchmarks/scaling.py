"""How training cost grows with points per sample and with K, and a million-point decode.

Training steps are measured as in :mod:`benchmarks.speed_training` (forward, backward, clipping,
AdamW), each configuration in a fresh process in full runs so peak memory is its own. Point
dropout is off here so the first encoder layer's 1024 centroids fit the smallest grid and the
size effect is not mixed with random dropout rates.

Example:
    >>> grid_for(4096)
    [46, 90]
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    SEED,
    current_rss_mb,
    figure_path,
    in_fresh_process,
    peak_rss_mb,
    reset_peak_rss,
    seed_everything,
    table,
    threads,
    timer,
)
from benchmarks.speed_training import (
    ERA5_GRID,
    QUICK_GRID,
    measure,
    model_config,
    sphere_fields,
    tiny_config,
)

NAME = "scaling"

FULL_POINTS = (1024, 4096, 16384, 65536)
QUICK_POINTS = (32, 128)
FULL_COMPONENTS = (1, 3, 5, 10)
QUICK_COMPONENTS = (1, 3)
SCALING_BATCH = 8  # batch 64 at 64k points would need tens of GiB of activations on a CPU box
QUICK_BATCH = 2
FULL_STEPS, FULL_WARMUP = 3, 1
QUICK_STEPS, QUICK_WARMUP = 1, 0
FULL_DECODE_POINTS = 1_000_000
QUICK_DECODE_POINTS = 4096
DECODE_REPEATS = 2


def grid_for(n_points: int) -> list[int]:
    """The smallest global grid with a 1:2 latitude:longitude shape and at least ``n_points``.

    4096 gives the paper's 46 x 90 ERA5 grid.

    Example:
        >>> [grid_for(n) for n in (1024, 65536)]
        [[23, 45], [182, 361]]
    """
    n_lat = math.ceil(math.sqrt(n_points / 2.0))
    return [n_lat, math.ceil(n_points / n_lat)]


def fibonacci_sphere(n_points: int) -> np.ndarray:
    """``(n, 3)`` float32 near-uniform points on the unit sphere (a Fibonacci lattice).

    Example:
        >>> points = fibonacci_sphere(100)
        >>> points.shape, bool(np.allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-5))
        ((100, 3), True)
    """
    index = np.arange(n_points, dtype=np.float64) + 0.5
    z = 1.0 - 2.0 * index / n_points
    radius = np.sqrt(1.0 - z**2)
    angle = np.pi * (1.0 + math.sqrt(5.0)) * index
    return np.stack([radius * np.cos(angle), radius * np.sin(angle), z], axis=1).astype(np.float32)


def measure_decode(
    n_query: int,
    grid: list[int],
    config: dict[str, Any] | None = None,
    preset: bool = False,
    repeats: int = DECODE_REPEATS,
) -> dict[str, Any]:
    """Encode one field on ``grid`` and decode it at ``n_query`` points (chunked), timed.

    Example:
        >>> r = measure_decode(500, [6, 8], tiny_config(), repeats=1)
        >>> r["n_query"], len(r["seconds"])
        (500, 1)
    """
    import torch

    from vamoh import plugins
    from vamoh.model import PointBatch, VaMoH
    from vamoh.normalisation import Normaliser

    count = threads()
    seed_everything(SEED)
    reset_peak_rss()
    baseline = current_rss_mb()
    cfg = model_config(config, preset)
    modality = plugins.modalities()["climate"]
    points = modality.to_points(sphere_fields(grid[0], grid[1], 1))
    kind = "minmax" if cfg.likelihood.startswith("continuous_bernoulli") else "standard"
    values = Normaliser.fit(kind, points.values).forward(points.samples([0]))
    network = VaMoH(cfg, points.dim, points.n_channels).eval()
    if network.flow is not None:
        network.flow_active.fill_(True)
    network.categorical_active.fill_(True)
    queries = torch.as_tensor(fibonacci_sphere(n_query))
    batch = PointBatch(
        ctx_x=torch.as_tensor(points.coords),
        ctx_y=torch.as_tensor(values.astype(np.float32)),
        ctx_valid=torch.ones(values.shape, dtype=torch.bool),
        tgt_x=queries,
        tgt_y=torch.zeros(1, n_query, points.n_channels),
        tgt_valid=torch.zeros(1, n_query, points.n_channels, dtype=torch.bool),
        tgt_scale=torch.ones(1),
    )
    seconds = []
    for _ in range(repeats):
        with timer() as elapsed:
            prediction = network.predict(batch, n_samples=0)
        seconds.append(elapsed.seconds)
    finite = bool(torch.isfinite(prediction.mean).all())
    return {
        "seconds": seconds,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
        "n_query": n_query,
        "finite": finite,
        "threads": count,
    }


def _row(label: Any, measured: dict[str, Any]) -> list[Any]:
    seconds = measured["step_seconds"]
    return [
        label,
        measured["n_points"],
        statistics.median(seconds),
        min(seconds),
        measured["peak_mb"],
        measured["peak_mb"] - measured["baseline_mb"],
    ]


def plot_points(rows: list[list[Any]], path: Path) -> Path:
    """Step time and peak memory against points per sample, log-log, written to ``path``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = plot_points([[1, 100, 0.5, 0.4, 500.0, 100.0], [2, 400, 1.5, 1.4, 700.0, 300.0]],
        ...                   Path(tempfile.mkdtemp()) / "p.png")
        >>> out.is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [row[1] for row in rows]
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(9, 3.6))
    time_axis.loglog(points, [row[2] for row in rows], "o-", color="tab:blue")
    time_axis.set_xlabel("points per sample")
    time_axis.set_ylabel("training step (s, median)")
    time_axis.set_title("Step time")
    # a log axis cannot show 0: a configuration that allocated nothing new sits at 0.1 MiB
    memory = [max(row[5], 0.1) for row in rows]
    memory_axis.loglog(points, memory, "o-", color="tab:red")
    memory_axis.set_xlabel("points per sample")
    memory_axis.set_ylabel("peak RSS above start (MiB)")
    memory_axis.set_title("Peak memory")
    for axis in (time_axis, memory_axis):
        axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Step time and memory vs points and vs K, the million-point decode, and the plot.

    ``python -m benchmarks run --only scaling`` runs it (``--quick`` for a smoke run).

    Example:
        >>> [grid_for(n) for n in FULL_POINTS]
        [[23, 45], [46, 90], [91, 181], [182, 361]]
    """
    count = threads(quick)
    fresh = not quick
    batch = QUICK_BATCH if quick else SCALING_BATCH
    steps, warmup = (QUICK_STEPS, QUICK_WARMUP) if quick else (FULL_STEPS, FULL_WARMUP)
    base = dict(tiny_config() if quick else {}, point_dropout=0.0)
    common = dict(batch_size=batch, n_fields=batch, steps=steps, warmup=warmup, preset=not quick)
    plural = "s" if count != 1 else ""
    where = "a fresh process per row" if fresh else "this process"

    point_rows = []
    for n_points in QUICK_POINTS if quick else FULL_POINTS:
        grid = grid_for(n_points)
        measured = measure(fresh, grid=grid, config=base, **common)
        point_rows.append(_row(f"{grid[0]} x {grid[1]}", measured))
    figure = plot_points(point_rows, figure_path(out_dir, "scaling_points.png"))

    component_rows = []
    k_grid = list(QUICK_GRID if quick else ERA5_GRID)
    for k in QUICK_COMPONENTS if quick else FULL_COMPONENTS:
        measured = measure(fresh, grid=k_grid, config=dict(base, n_components=k), **common)
        component_rows.append(_row(k, measured))

    n_query = QUICK_DECODE_POINTS if quick else FULL_DECODE_POINTS
    decode_arguments = dict(
        n_query=n_query, grid=k_grid, config=tiny_config() if quick else {}, preset=not quick
    )
    decoded = (
        in_fresh_process("benchmarks.scaling:measure_decode", **decode_arguments)
        if fresh
        else measure_decode(**decode_arguments)
    )
    decode_row = [
        decoded["n_query"],
        statistics.median(decoded["seconds"]),
        1e6 * statistics.median(decoded["seconds"]) / decoded["n_query"],
        decoded["peak_mb"],
        decoded["peak_mb"] - decoded["baseline_mb"],
        decoded["finite"],
    ]
    step_columns = ["step s (median)", "min s", "peak RSS MiB", "RSS above start MiB"]
    memory_note = (
        f"Median of {steps} steps after {warmup} warm-up, batch {batch}, point dropout off, "
        f"{count} torch thread{plural}; peak RSS measured in {where}."
    )
    tables = [
        table(
            "Training step vs points per sample",
            ["grid", "points / sample", *step_columns],
            point_rows,
            notes=memory_note,
        ),
        table(
            f"Training step vs K (components), {k_grid[0]} x {k_grid[1]} grid",
            ["K", "points / sample", *step_columns],
            component_rows,
            notes=memory_note,
        ),
        table(
            "Chunked decode of one field at many query points",
            [
                "query points",
                "seconds (median)",
                "µs / point",
                "peak RSS MiB",
                "RSS above start MiB",
                "all finite",
            ],
            [decode_row],
            notes=(
                f"One field on the {k_grid[0]} x {k_grid[1]} grid encoded, then "
                f"network.predict (posterior mean, 0 latent samples, decoded in chunks of 16384 "
                f"points) at a Fibonacci lattice of query points on the sphere; median of "
                f"{len(decoded['seconds'])} runs, in {where.replace(' per row', '')}."
            ),
        ),
    ]
    size = "a tiny model" if quick else "Table 3's ERA5 preset (K=3 unless varied, dim_z=32)"
    return {
        "name": NAME,
        "title": "Scaling: points per sample, K, and a million-point decode",
        "description": (
            f"Training step time and peak memory of {size} as the number of points per sample "
            f"grows (global lat/lon grids on the unit sphere with synthetic smooth fields) and "
            f"as the number of hypergenerators K grows, plus the time and memory to decode "
            f"{n_query:,} points from one encoded field. Randomly initialised weights, flow "
            f"prior active, seed {SEED}."
        ),
        "tables": tables,
        "figures": [figure.relative_to(out_dir).as_posix()],
    }
