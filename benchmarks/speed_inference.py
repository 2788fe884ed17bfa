"""Inference time per field at the paper's ERA5 configuration: in-painting and x2 super-resolution.

Two levels are timed. The network alone (``model.network.predict`` on a ``PointBatch``: one
encoder pass and a chunked decode), which is what the issues' references measure, and the
user-facing API (``Model.impute`` / ``Model.super_resolve`` on an xarray Dataset), which adds the
modality's conversions. Both with the posterior mean only (0 latent samples) and with 8 latent
samples for the predictive standard deviation.

Example:
    >>> result = measure_inference(grid=[6, 8], batch_size=2, repeats=1, warmup=0,
    ...                            config=tiny_config(), n_samples=[0])
    >>> sorted(result["network"])
    ['inpainting', 'super_resolution']
"""

from __future__ import annotations

import statistics
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
from benchmarks.speed_training import (
    ERA5_GRID,
    QUICK_GRID,
    model_config,
    sphere_fields,
    tiny_config,
)

NAME = "speed_inference"

BATCH = 8  # fields per forward pass, as in the issues' reference
QUICK_BATCH = 2
HIDDEN_FRACTION = 0.5
SAMPLE_COUNTS = (0, 8)
FULL_REPEATS, FULL_WARMUP = 5, 1
QUICK_REPEATS, QUICK_WARMUP = 1, 0
REFERENCE_NOTE = (
    "Quoted references (issues #3 and #8, not measured here): the authors' code takes about "
    "35 ms per field for in-painting reconstruction (batch of 8) on 2 CPU cores, and the paper "
    "reports 7.45 ms on a V100 GPU; the goal on CPU is at most 10 ms per field."
)


def inference_setup(grid: list[int], batch_size: int, config: Any) -> dict[str, Any]:
    """Network, API model, fields, their 2x template and point sets for the timed tasks.

    Example:
        >>> from vamoh.config import VaMoHConfig
        >>> setup = inference_setup([6, 8], 2, VaMoHConfig(**tiny_config()))
        >>> setup["points"].n_points, setup["fine_points"].n_points
        (48, 192)
    """
    from vamoh import plugins
    from vamoh.api import Model
    from vamoh.model import VaMoH
    from vamoh.neighbours import typical_spacing
    from vamoh.normalisation import Normaliser

    modality = plugins.modalities()["climate"]
    fields = sphere_fields(grid[0], grid[1], batch_size)
    points = modality.to_points(fields)
    state = modality.state(points)
    modality = modality.with_state(state)
    kind = "minmax" if config.likelihood.startswith("continuous_bernoulli") else "standard"
    normaliser = Normaliser.fit(kind, points.values)
    network = VaMoH(
        config, points.dim, points.n_channels, length_scale=typical_spacing(points.coords)
    ).eval()
    if network.flow is not None:
        network.flow_active.fill_(True)
    network.categorical_active.fill_(True)
    model = Model(network, modality, normaliser, points, state)
    model.batch_size = batch_size
    fine = modality.refine(fields, factor=2)
    fine_points = modality.to_points(fine)
    hidden = np.random.default_rng(SEED).random(fields["t2m"].shape) < HIDDEN_FRACTION
    gappy = fields.copy(deep=True)
    gappy["t2m"] = gappy["t2m"].where(~hidden)
    return {
        "network": network,
        "model": model,
        "normaliser": normaliser,
        "points": points,
        "fields": fields,
        "gappy": gappy,
        "hidden": hidden.reshape(batch_size, -1),
        "fine_points": fine_points,
    }


def network_batches(setup: dict[str, Any], device: str) -> dict[str, Any]:
    """The two ``PointBatch`` es: 50% of points hidden -> all points; all points -> the 2x grid.

    Example:
        >>> from vamoh.config import VaMoHConfig
        >>> setup = inference_setup([6, 8], 2, VaMoHConfig(**tiny_config()))
        >>> batches = network_batches(setup, "cpu")
        >>> tuple(batches["super_resolution"].tgt_x.shape)
        (192, 3)
    """
    import torch

    from vamoh.model import PointBatch

    points = setup["points"]
    values = setup["normaliser"].forward(points.samples(slice(None))).astype(np.float32)
    b, _, c = values.shape
    observed = ~setup["hidden"][..., None].repeat(c, axis=-1)
    coords = torch.as_tensor(points.coords, device=device)
    fine = torch.as_tensor(setup["fine_points"].coords, device=device)

    def batch(valid: np.ndarray, targets: torch.Tensor) -> PointBatch:
        m = targets.shape[0]
        return PointBatch(
            ctx_x=coords,
            ctx_y=torch.as_tensor(np.where(valid, values, 0.0), device=device),
            ctx_valid=torch.as_tensor(valid, device=device),
            tgt_x=targets,
            tgt_y=torch.zeros(b, m, c, device=device),
            tgt_valid=torch.zeros(b, m, c, dtype=torch.bool, device=device),
            tgt_scale=torch.ones(b, device=device),
        )

    return {
        "inpainting": batch(observed, coords),
        "super_resolution": batch(np.ones_like(observed), fine),
    }


def _timed(function: Any, repeats: int, warmup: int, device: str) -> list[float]:
    import torch

    seconds = []
    for index in range(warmup + repeats):
        with timer() as elapsed:
            function()
            if device.startswith("cuda"):
                torch.cuda.synchronize()
        if index >= warmup:
            seconds.append(elapsed.seconds)
    return seconds


def measure_inference(
    grid: list[int],
    batch_size: int,
    repeats: int,
    warmup: int,
    config: dict[str, Any] | None = None,
    preset: bool = False,
    n_samples: list[int] | None = None,
    device: str = "cpu",
    api: bool = True,
) -> dict[str, Any]:
    """Seconds per batch for each task, level and latent sample count, plus peak memory.

    Returns:
        ``{"network": {task: {n: [seconds...]}}, "api": {...}, "peak_mb", "baseline_mb",
        "n_points", "n_fine_points", "batch_size", "threads"}`` (JSON-ready, keys of
        ``n`` as strings).

    Example:
        >>> r = measure_inference([6, 8], 2, 1, 0, tiny_config(), n_samples=[0], api=False)
        >>> r["n_fine_points"], list(r["network"]["inpainting"])
        (192, ['0'])
    """
    import torch

    count = threads()
    seed_everything(SEED)
    reset_peak_rss()
    baseline = current_rss_mb()
    cfg = model_config(config, preset)
    setup = inference_setup(grid, batch_size, cfg)
    network = setup["network"].to(device)
    batches = network_batches(setup, device)
    counts = list(n_samples if n_samples is not None else SAMPLE_COUNTS)
    result: dict[str, Any] = {"network": {}, "api": {}}

    def cold(batch: Any) -> Any:  # a new observed mask: centroids and neighbours from scratch
        network.encoder.clear_cache()
        return network.predict(batch, 0)

    with torch.no_grad():
        for task, batch in batches.items():
            result["network"][task] = {
                str(n): _timed(lambda b=batch, n=n: network.predict(b, n), repeats, warmup, device)
                for n in counts
            }
        result["cold"] = {
            "inpainting": {"0": _timed(lambda: cold(batches["inpainting"]), repeats, 0, device)}
        }
    if api:
        model = setup["model"]
        operations = {
            "inpainting": lambda: model.impute(setup["gappy"]),
            "super_resolution": lambda: model.super_resolve(setup["fields"], factor=2),
        }
        for task, operation in operations.items():
            result["api"][task] = {}
            for n in counts:
                model.n_samples = n
                result["api"][task][str(n)] = _timed(operation, repeats, warmup, device)
    result.update(
        peak_mb=peak_rss_mb(),
        baseline_mb=baseline,
        n_points=setup["points"].n_points,
        n_fine_points=setup["fine_points"].n_points,
        batch_size=batch_size,
        threads=count,
    )
    return result


TASK_LABELS = {
    "inpainting": "in-painting (50% hidden) -> all points",
    "super_resolution": "x2 super-resolution -> 2x grid",
}
LEVEL_LABELS = {
    "network": "network.predict",
    "cold": "network.predict, new mask (no cached neighbours)",
    "api": "Model API (xarray in/out)",
}


def rows_from(measured: dict[str, Any]) -> list[list[Any]]:
    """Table rows: task, level, latent samples, query points, ms per field (median, min).

    Example:
        >>> rows_from({"network": {"inpainting": {"0": [0.08, 0.04]}}, "api": {},
        ...            "batch_size": 8, "n_points": 10, "n_fine_points": 40})
        [['in-painting (50% hidden) -> all points', 'network.predict', 0, 10, 7.5, 5.0]]
    """
    rows = []
    b = measured["batch_size"]
    for level in LEVEL_LABELS:
        for task, by_count in measured.get(level, {}).items():
            queries = measured["n_points"] if task == "inpainting" else measured["n_fine_points"]
            for count, seconds in by_count.items():
                rows.append(
                    [
                        TASK_LABELS[task],
                        LEVEL_LABELS[level],
                        int(count),
                        queries,
                        1000.0 * statistics.median(seconds) / b,
                        1000.0 * min(seconds) / b,
                    ]
                )
    return rows


COLUMNS = [
    "task",
    "level",
    "latent samples",
    "query points / field",
    "ms / field (median)",
    "ms / field (min)",
]


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Time both tasks at both levels; GPU table too when a GPU is present.

    ``python -m benchmarks run --only speed_inference`` runs it (``--quick`` for a smoke run).

    Example:
        >>> NAME, SAMPLE_COUNTS
        ('speed_inference', (0, 8))
    """
    import torch

    count = threads(quick)
    grid = list(QUICK_GRID if quick else ERA5_GRID)
    batch = QUICK_BATCH if quick else BATCH
    repeats, warmup = (QUICK_REPEATS, QUICK_WARMUP) if quick else (FULL_REPEATS, FULL_WARMUP)
    common = dict(
        grid=grid,
        batch_size=batch,
        repeats=repeats,
        warmup=warmup,
        config=tiny_config() if quick else {},
        preset=not quick,
    )
    if quick:
        measured = measure_inference(**common)
    else:
        measured = in_fresh_process("benchmarks.speed_inference:measure_inference", **common)
    where = "this process" if quick else "a fresh process"
    tables = [
        table(
            f"Inference per field on CPU ({count} thread{'s' if count != 1 else ''}), batch {batch}",
            COLUMNS,
            rows_from(measured),
            notes=(
                f"Time of one batch of {batch} fields divided by {batch}; median and minimum of "
                f"{repeats} repeats after {warmup} warm-up. 'network.predict' is one encoder "
                f"pass and a decode chunked by 16384 query points; the API level adds the "
                f"climate modality's xarray conversions (and, for super-resolution, building "
                f"the 2x template). With 8 latent samples the predictive std is computed too. "
                f"Peak RSS of {where} for all of it: {measured['peak_mb']:.0f} MiB "
                f"({measured['peak_mb'] - measured['baseline_mb']:.0f} MiB above its start). "
                f"{REFERENCE_NOTE}"
            ),
        )
    ]
    mixed = dict(common, config=dict(common["config"], precision="bf16-mixed"), api=False)
    if quick:
        measured_mixed = measure_inference(**mixed)
    else:
        measured_mixed = in_fresh_process("benchmarks.speed_inference:measure_inference", **mixed)
    tables.append(
        table(
            f"Inference per field on CPU ({count} thread{'s' if count != 1 else ''}), batch "
            f"{batch}, precision bf16-mixed",
            COLUMNS,
            rows_from(measured_mixed),
            notes=(
                "The same network with config.precision = 'bf16-mixed': the generators and the "
                "encoder compute in bfloat16 (this CPU has AVX512-BF16 if the environment line "
                "says so; without it bfloat16 has no fast path), the hypernetworks and the "
                "likelihood in float32."
            ),
        )
    )
    if torch.cuda.is_available():
        gpu_title = (
            f"Inference per field on the GPU ({torch.cuda.get_device_name(0)}), batch {batch}"
        )
        try:
            gpu_rows = rows_from(measure_inference(**common, device="cuda", api=False))
            gpu_notes = "network.predict on the GPU, synchronised before each clock reading."
        except Exception as error:  # the CPU table stays valid; this one says why it is empty
            gpu_rows = []
            gpu_notes = f"The GPU measurement failed: {type(error).__name__}: {error}"
        tables.append(table(gpu_title, COLUMNS, gpu_rows, notes=gpu_notes))
    size = "a tiny model on an 8 x 16 grid" if quick else "Table 3's ERA5 preset (41 M parameters)"
    return {
        "name": NAME,
        "title": "Inference speed: in-painting and x2 super-resolution",
        "description": (
            f"Time per field to reconstruct fields with {HIDDEN_FRACTION:.0%} of their points "
            f"hidden (in-painting, decoded at every grid point) and to decode at the x2 finer "
            f"grid (super-resolution). Data: synthetic smooth temperature fields on a global "
            f"{grid[0]} x {grid[1]} grid on the unit sphere; the hidden points are drawn with "
            f"seed {SEED}. Model: {size}, randomly initialised (speed does not depend on the "
            f"weights), flow prior active."
        ),
        "tables": tables,
        "figures": [],
    }
