"""Voxel quality on held-out chairs: reconstruction, x2 super-resolution and completion (#6).

Data: the ModelNet10 chairs at 32^3 in ``../shared/data/voxels/modelnet10_chair_32.npy.gz``
(889 real shapes after the all-zero placeholder row), split by position with
``vamoh_voxels.load_modelnet_split``: the first 800 train (the engine holds the last 10 % of them
out for validation and early choice of weights), the other 89 test. Quick runs use synthetic
15^3 spheres and boxes instead.

Tasks and scores on the test chairs (per shape, then averaged; IoU of occupancy > 0.5, Chamfer-L1
distance between marching-cubes surfaces in model units where the grid spans [-1, 1], PSNR as in
the paper with peak 1, all from :mod:`vamoh_voxels.metrics`):

* reconstruction: ``model.reconstruct`` of complete chairs;
* x2 super-resolution with a ground truth: every second voxel (16^3) back to the 31^3 grid of
  voxels 0..30, whose ground truth is known, against trilinear interpolation;
* x2 super-resolution 32^3 -> 63^3 (the grid that holds every original voxel centre, see
  :mod:`vamoh_voxels.grid`): no ground truth exists, so it is shown as renders and scored only by
  its agreement with the input at the input's voxel centres;
* completion: the upper half of each chair (z > 0: most of the backrest) hidden and filled by
  ``model.impute``, against the mean training shape and against retrieval (the training chair
  whose lower half matches best by IoU, its upper half pasted in); scored on the hidden half.

One model serves every task: the voxels plugin's defaults (``VoxelModality.default_config``: the
paper's ShapeNet preset scaled for the grid and the device) under :data:`FULL_BUDGET`; the tables
report the epochs reached and the minutes taken.

Example:
    >>> split = synthetic_split(n_train=4, n_test=2, size=7)
    >>> dict(decimate(split.test).sizes)
    {'shape': 2, 'x': 4, 'y': 4, 'z': 4}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from benchmarks.common import (
    SEED,
    Budget,
    figure_path,
    shared_data,
    table,
    threads,
    timer,
    train_within_budget,
    training_table,
)

NAME = "voxels_quality"
TITLE = "Voxels: reconstruction, x2 super-resolution and completion of held-out chairs"

N_TRAIN = 800
SHOWN = 4  # shapes per figure row
COLUMNS = ["task", "method", "IoU", "Chamfer-L1", "PSNR (dB)", "empty results", "scored voxels"]


# About 15 minutes on 2 CPU cores: at most 11 of training, then a few of scoring (reported);
# everything else is the voxels plugin's default.
FULL_BUDGET = Budget(max_epochs=30, max_minutes=11.0)
QUICK_BUDGET = Budget(
    max_epochs=1,
    max_minutes=1.0,
    config={
        "encoder_centroids": [128, 16, 8],
        "encoder_neighbours": [8, 8, 8],
        "encoder_channels": [16, 16, 16],
        "encoder_weight_net": [8, 8],
        "hypernet_layers": [32, 32],
        "generator_layers": [16, 16],
        "flow_layers": 2,
        "points_per_sample": 512,
        "batch_size": 8,
    },
)


@dataclass(frozen=True)
class VoxelSplit:
    """Training and test shapes of one collection.

    Example:
        >>> synthetic_split(n_train=3, n_test=1, size=7).train.sizes["shape"]
        3
    """

    name: str
    train: xr.Dataset
    test: xr.Dataset


def modelnet_split(root: Path) -> VoxelSplit:
    """The ModelNet10 chairs: the first 800 train, the other 89 test.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> split = modelnet_split(root) if root else None
        >>> split is None or (split.train.sizes["shape"], split.test.sizes["shape"]) == (800, 89)
        True
    """
    from vamoh_voxels import load_modelnet_split

    train, test = load_modelnet_split(
        root / "voxels" / "modelnet10_chair_32.npy.gz", n_train=N_TRAIN
    )
    return VoxelSplit("ModelNet10 chairs 32^3", train.load(), test.load())


def synthetic_split(n_train: int = 24, n_test: int = 6, size: int = 15) -> VoxelSplit:
    """Spheres and flat boxes of random centre and size (``size``^3 grids).

    Example:
        >>> split = synthetic_split(n_train=2, n_test=1, size=7)
        >>> split.test.occupancy.dims
        ('shape', 'x', 'y', 'z')
    """
    from vamoh_voxels import occupancy_dataset, voxel_axis

    n = n_train + n_test
    rng = np.random.default_rng(SEED)
    axis = voxel_axis(size)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    centres = rng.uniform(-0.3, 0.3, size=(n, 3))[:, :, None, None, None]
    radii = rng.uniform(0.35, 0.6, size=n)[:, None, None, None]
    dx, dy, dz = x - centres[:, 0], y - centres[:, 1], z - centres[:, 2]
    spheres = dx**2 + dy**2 + dz**2 <= radii**2
    boxes = (np.abs(dx) <= radii) & (np.abs(dy) <= radii) & (np.abs(dz) <= 0.7 * radii)
    grids = np.where((np.arange(n) % 2 == 1)[:, None, None, None], spheres, boxes)
    shapes = occupancy_dataset(grids.astype(np.float32), labels=[f"s{i}" for i in range(n)])
    return VoxelSplit(
        "synthetic shapes",
        shapes.isel(shape=slice(0, n_train)),
        shapes.isel(shape=slice(n_train, None)),
    )


def decimate(shapes: xr.Dataset) -> xr.Dataset:
    """Every second voxel along each axis, keeping their coordinates (16^3 from 32^3).

    Example:
        >>> decimate(synthetic_split(n_train=1, n_test=1, size=9).test).x.values.tolist()[:2]
        [-1.0, -0.5]
    """
    return shapes.isel(x=slice(None, None, 2), y=slice(None, None, 2), z=slice(None, None, 2))


def refined_truth(shapes: xr.Dataset) -> xr.Dataset:
    """The voxels of ``shapes`` that the x2 grid of :func:`decimate` covers (0..30 of 32).

    Example:
        >>> refined_truth(synthetic_split(n_train=1, n_test=1, size=8).test).sizes["x"]
        7
    """
    span = {dim: slice(0, 2 * (decimate(shapes).sizes[dim] - 1) + 1) for dim in ("x", "y", "z")}
    return shapes.isel(span)


def scores(scored: xr.Dataset, estimate: Any, whole: xr.Dataset | None = None) -> list[Any]:
    """IoU, Chamfer-L1, PSNR and the number of empty results, over the shapes of ``scored``.

    IoU is averaged over shapes. PSNR comes from the mean squared error pooled over shapes, so
    a shape predicted exactly (PSNR infinite on its own) does not make the average infinite.
    Both skip the NaN voxels of ``scored``. Chamfer compares whole surfaces (``whole``, default
    ``scored``) and is averaged over the shapes whose result has a surface at all; results
    without one are counted in the last number.

    Example:
        >>> shapes = synthetic_split(n_train=1, n_test=2, size=7).test
        >>> iou_score, chamfer, psnr_score, empty = scores(shapes, shapes)
        >>> iou_score, chamfer < 0.05, psnr_score, empty
        (1.0, True, inf, 0)
    """
    from vamoh_voxels.metrics import chamfer_distance, iou, psnr

    surfaces = (whole if whole is not None else scored).fillna(0.0)
    chamfer = np.asarray(chamfer_distance(surfaces, estimate), dtype=np.float64)
    has_surface = np.isfinite(chamfer)
    mse = 10.0 ** (-np.asarray(psnr(scored, estimate), dtype=np.float64) / 10.0)  # peak 1
    with np.errstate(divide="ignore"):
        pooled_psnr = float(-10.0 * np.log10(np.mean(mse)))
    return [
        float(np.mean(iou(scored, estimate))),
        float(np.mean(chamfer[has_surface])) if has_surface.any() else "",
        pooled_psnr,
        int((~has_surface).sum()),
    ]


def _occupancy(shapes: xr.Dataset, values: np.ndarray) -> xr.Dataset:
    """``shapes`` with other occupancy values (same dims and coordinates)."""
    return shapes.copy(data={"occupancy": values.astype(np.float32)})


def trilinear(coarse: xr.Dataset, template: xr.Dataset) -> xr.Dataset:
    """Trilinear interpolation of ``coarse`` onto ``template``'s grid (the classical baseline).

    Example:
        >>> from vamoh_voxels import VoxelModality
        >>> coarse = decimate(synthetic_split(n_train=1, n_test=1, size=9).test)
        >>> fine = trilinear(coarse, VoxelModality().refine(coarse, factor=2))
        >>> dict(fine.sizes)
        {'shape': 1, 'x': 9, 'y': 9, 'z': 9}
    """
    from vamoh_voxels import VoxelModality

    modality = VoxelModality()
    source = modality.to_points(coarse[["occupancy"]])
    target = modality.to_points(template[["occupancy"]])
    values = modality.interpolate(source, source.samples(slice(None)), target.coords)
    return modality.from_points(target.with_values(values))


def _upper(shapes: xr.Dataset) -> xr.DataArray:
    return shapes.z > 0


def retrieval_fill(observed: xr.Dataset, train: xr.Dataset) -> xr.Dataset:
    """Fill each shape's NaN voxels from the training shape that agrees best (IoU) elsewhere.

    Every test shape hides the same voxels here (the upper half), so one matrix product scores
    every pair of observed halves.

    Example:
        >>> split = synthetic_split(n_train=6, n_test=2, size=7)
        >>> hidden = split.test.where(split.test.z <= 0)
        >>> bool(retrieval_fill(hidden, split.train).occupancy.notnull().all())
        True
    """
    test_values = observed.occupancy.transpose("shape", "x", "y", "z").values
    n_test = test_values.shape[0]
    flat = test_values.reshape(n_test, -1)
    seen = np.isfinite(flat[0])  # (V,) the shared observed voxels
    library = train.occupancy.transpose("shape", "x", "y", "z").values.reshape(
        train.sizes["shape"], -1
    )
    query = (flat[:, seen] > 0.5).astype(np.float32)  # (T, V_seen)
    keys = (library[:, seen] > 0.5).astype(np.float32)  # (L, V_seen)
    intersection = query @ keys.T  # (T, L)
    union = query.sum(1)[:, None] + keys.sum(1)[None, :] - intersection
    best = np.argmax(intersection / np.maximum(union, 1.0), axis=1)  # (T,)
    filled = np.where(np.isfinite(flat), flat, library[best])
    return _occupancy(observed, filled.reshape(test_values.shape))


def mean_shape_fill(observed: xr.Dataset, train: xr.Dataset) -> xr.Dataset:
    """Fill NaN voxels with the training set's occupancy frequency at that voxel.

    Example:
        >>> split = synthetic_split(n_train=6, n_test=2, size=7)
        >>> filled = mean_shape_fill(split.test.where(split.test.z <= 0), split.train)
        >>> bool(filled.occupancy.max() <= 1.0)
        True
    """
    mean = train.occupancy.mean("shape")
    return observed.fillna(mean).transpose(*observed.occupancy.dims)


@dataclass
class Evaluation:
    """Score rows and the shapes behind the figures.

    Example:
        >>> Evaluation().rows
        []
    """

    rows: list[list[Any]] = field(default_factory=list)
    shapes: dict[str, dict[str, xr.Dataset]] = field(default_factory=dict)
    exact_retrievals: int = 0  # test shapes whose retrieval completion is exact


def evaluate(model: Any, split: VoxelSplit) -> Evaluation:
    """Every task on the test shapes, for vamoh and the classical baselines.

    Example:
        >>> split = synthetic_split(n_train=8, n_test=2, size=9)
        >>> result = evaluate(train_within_budget(split.train, QUICK_BUDGET).model, split)
        >>> [row[1] for row in result.rows][:3]
        ['vamoh', 'trilinear', 'vamoh']
    """
    from vamoh_voxels.metrics import iou

    test = split.test
    result = Evaluation()

    recon = model.reconstruct(test)
    result.rows.append(["reconstruction", "vamoh", *scores(test, recon), "all"])
    result.shapes["reconstruction"] = {"truth": test, "vamoh": recon}

    coarse = decimate(test)
    truth = refined_truth(test)
    fine = model.super_resolve(coarse, factor=2)
    np.testing.assert_allclose(fine.x.values, truth.x.values, atol=1e-6)  # the same centres
    for method, estimate in (("trilinear", trilinear(coarse, fine)), ("vamoh", fine)):
        scored = scores(truth, estimate.occupancy.transpose(*truth.occupancy.dims))
        result.rows.append(["x2 super-resolution (1/2 -> x1)", method, *scored, "all"])

    shown = test.isel(shape=slice(0, SHOWN))
    fine_shown = model.super_resolve(shown, factor=2)
    agreement = float(np.mean(iou(shown, fine_shown.sel(x=shown.x, y=shown.y, z=shown.z))))
    result.rows.append(
        ["x2 super-resolution (x1 -> x2, no truth)", "vamoh", agreement, "", "", "", "input voxels"]
    )
    result.shapes["super-resolution"] = {
        "input": shown,
        "trilinear x2": trilinear(shown, fine_shown),
        "vamoh x2": fine_shown,
    }

    hidden = test.where(~_upper(test))
    on_hidden = test.where(_upper(test))  # truth where scored, NaN elsewhere
    filled = {
        "mean shape": mean_shape_fill(hidden, split.train),
        "retrieval": retrieval_fill(hidden, split.train),
        "vamoh": model.impute(hidden),
    }
    for method, estimate in filled.items():
        scored = scores(on_hidden, estimate, whole=test)
        result.rows.append(["completion (upper half hidden)", method, *scored, "hidden"])
    result.exact_retrievals = int((np.asarray(iou(test, filled["retrieval"])) == 1.0).sum())
    result.shapes["completion"] = {
        "observed": hidden.isel(shape=slice(0, SHOWN)).fillna(0.0),
        **{k: v.isel(shape=slice(0, SHOWN)) for k, v in filled.items() if k != "mean shape"},
        "truth": shown,
    }
    result.shapes["reconstruction"] = {
        k: v.isel(shape=slice(0, SHOWN)) for k, v in result.shapes["reconstruction"].items()
    }
    return result


def render_rows(rows: dict[str, xr.Dataset], path: Path) -> Path:
    """One row of upright surface renders per entry of ``rows``, stacked into one PNG.

    Example:
        >>> import tempfile
        >>> split = synthetic_split(n_train=1, n_test=2, size=7)
        >>> path = Path(tempfile.mkdtemp()) / "rows.png"
        >>> out = render_rows({"a": split.test, "b": split.test}, path)
        >>> out.stat().st_size > 0
        True
    """
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from vamoh_voxels.render import render_voxels

    pictures = []
    for label, shapes in rows.items():  # one figure per row: rows may differ in resolution
        named = shapes.assign_coords(shape=[f"{label}: {s}" for s in shapes.shape.values])
        figure = render_voxels(
            named, style="surface", max_shapes=SHOWN, ncols=SHOWN, panel_size=2.5
        )
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        plt.close(figure)
        pictures.append(np.asarray(Image.open(buffer).convert("RGB")))
    width = max(picture.shape[1] for picture in pictures)
    padded = [
        np.pad(picture, ((0, 0), (0, width - picture.shape[1]), (0, 0)), constant_values=255)
        for picture in pictures
    ]
    Image.fromarray(np.concatenate(padded, axis=0)).save(path)
    return path


def save_figures(result: Evaluation, model: Any, out_dir: Path) -> list[str]:
    """Renders of every task (PNG under ``out_dir/figures``); paths relative to ``out_dir``.

    Example:
        >>> import tempfile
        >>> split = synthetic_split(n_train=8, n_test=2, size=9)
        >>> model = train_within_budget(split.train, QUICK_BUDGET).model
        >>> save_figures(evaluate(model, split), model, Path(tempfile.mkdtemp()))[0]
        'figures/voxels_reconstruction.png'
    """
    like = result.shapes["reconstruction"]["truth"].isel(shape=[0])
    samples = model.sample(SHOWN, like=like, seed=SEED).rename(sample="shape")
    groups = {
        "reconstruction": {**result.shapes["reconstruction"], "prior sample": samples},
        "super_resolution": result.shapes["super-resolution"],
        "completion": result.shapes["completion"],
    }
    written = []
    for name, rows in groups.items():
        path = render_rows(rows, figure_path(out_dir, f"voxels_{name}.png"))
        written.append(path.relative_to(out_dir).as_posix())
    return written


def _config_summary(model: Any) -> str:
    cfg = model.config
    return (
        f"conditioning {cfg.conditioning}, K={cfg.n_components}, dim_z={cfg.dim_z}, "
        f"centroids {cfg.encoder_centroids}, hypernet {cfg.hypernet_layers}, generators "
        f"{cfg.generator_layers}, flow {cfg.flow_layers}, {cfg.points_per_sample} voxels per "
        f"shape per step (balanced: {getattr(model.modality, 'balance_occupancy', False)}), "
        f"lr {cfg.lr}, batch {cfg.batch_size}"
    )


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Train one model, score every task against the baselines, render the shapes.

    Example:
        >>> import tempfile
        >>> result = run(True, Path(tempfile.mkdtemp()))
        >>> result["name"], len(result["figures"])
        ('voxels_quality', 3)
    """
    n_threads = threads(quick)
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    root = None if quick else shared_data()
    description = (
        "ModelNet10 chairs at 32^3: the first 800 train (the last 10% of them for validation), "
        "the other 89 test. "
        if not quick
        else "Quick run: synthetic 15^3 spheres and boxes, 24 train / 6 test. "
    ) + (
        f"Budget: at most {budget.max_epochs} epochs and {budget.max_minutes:g} minutes on "
        f"{n_threads} torch thread(s), config overrides {budget.config or 'none'} on top of "
        f"the voxels plugin's defaults. Seed {SEED}. IoU of occupancy > 0.5, Chamfer-L1 between "
        f"marching-cubes surfaces (model units, the grid spans [-1, 1]), PSNR with peak 1, "
        f"averaged over test shapes."
    )
    result: dict[str, Any] = {
        "name": NAME,
        "title": TITLE,
        "description": description,
        "tables": [],
        "figures": [],
    }
    quality_title = "Held-out quality: vamoh against classical baselines"
    if not quick and root is None:
        skipped = [["all", "skipped: ../shared/data absent", "", "", "", "", ""]]
        result["tables"].append(table(quality_title, COLUMNS, skipped))
        return result
    split = synthetic_split() if quick else modelnet_split(root)  # type: ignore[arg-type]
    trained = train_within_budget(split.train, budget)
    with timer() as scoring:
        evaluation = evaluate(trained.model, split)
    notes = (
        "Reconstruction sees every voxel it is scored on. Super-resolution with a truth starts "
        "from every second voxel and is scored on the whole finer grid (one voxel in eight is "
        "its input). Completion hides z > 0 and scores IoU and PSNR there; its Chamfer distance "
        "compares whole surfaces. Retrieval pastes the upper half of the training shape whose "
        f"lower half matches best; for {evaluation.exact_retrievals} of "
        f"{split.test.sizes['shape']} test shapes it pastes exactly the hidden half (the "
        "collection holds near-duplicates). Empty results: shapes "
        "with no voxel above 0.5 (no surface, so no Chamfer distance)."
    )
    result["tables"].append(table(quality_title, COLUMNS, evaluation.rows, notes=notes))
    result["tables"].append(
        training_table(
            split.name,
            split.train.sizes["shape"],
            split.test.sizes["shape"],
            trained,
            scoring.seconds,
            n_threads,
            _config_summary(trained.model),
        )
    )
    result["figures"] = save_figures(evaluation, trained.model, out_dir)
    return result
