"""Image quality on held-out faces: reconstruction, x2 super-resolution and in-painting (#7).

Data: the 400 Olivetti faces in ``../shared/data/images/olivetti/olivettifaces.mat`` (40 people,
10 pictures each, stored person by person), cropped to 63 x 63 pixels (the last row and column
dropped) so that every second pixel gives a 32 x 32 picture spanning exactly the same box.
Split by person, so no test face was seen in training: people 1-36 train (360 faces; the engine
holds the last 10 % out for validation and early choice of weights), people 37-40 test (40
faces). Quick runs use synthetic 15 x 15 discs and squares instead.

Tasks and scores, on the test faces (8-bit values; PSNR as in the paper, eqs. 19-20, peak 255;
SSIM from scikit-image on whole images):

* reconstruction: ``model.reconstruct`` of complete faces, every pixel scored;
* x2 super-resolution: from every second pixel (32 x 32) back to the 63 x 63 grid, against
  bicubic interpolation; PSNR on the pixels the input lacks (three quarters of them);
* in-painting: a centred 24 x 24 patch hidden, and 50 % of the pixels hidden at random
  (``vamoh_images.masks.random_pixel_mask(..., seed=0)``), against filling with the image's mean
  and with the nearest observed pixel; PSNR on the hidden pixels.

One model serves every task. It is trained with the images plugin's defaults
(``ImageModality.default_config``: the Table 3 preset for the image size, scaled for the device,
with its conditioning) under :data:`FULL_BUDGET`; the tables report the epochs reached, the
minutes taken and the conditioning used.

Example:
    >>> split = synthetic_split(n_train=4, n_test=2, side=7)
    >>> coarse = decimate(split.test)
    >>> dict(coarse["pixels"].sizes), dict(split.test["pixels"].sizes)["y"]
    ({'image': 2, 'y': 4, 'x': 4, 'channel': 1}, 7)
"""

from __future__ import annotations

import math
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

NAME = "images_quality"
TITLE = "Images: reconstruction, x2 super-resolution and in-painting of held-out faces"

FACE_SIDE = 63  # odd, so the 2x-decimated picture keeps the first and last pixel centres
TRAIN_PEOPLE = 36  # Olivetti: 10 faces per person, stored person by person
FACES_PER_PERSON = 10
PATCH_SIDE = 24  # pixels of the in-painting patch (in full runs; a fraction in quick runs)
RANDOM_FRACTION = 0.5
SHOWN = 8  # images per figure row
COLUMNS = ["task", "method", "PSNR (dB)", "SSIM", "scored pixels"]


# About 15 minutes on 2 CPU cores: at most 10 of training, then a few of scoring (reported). A
# short run needs a larger step size than the preset's 1e-4 (tuned for 1000 GPU epochs) and
# smaller batches for more steps; everything else is the plugin's default.
FULL_BUDGET = Budget(max_epochs=40, max_minutes=10.0, config={"lr": 1e-3, "batch_size": 32})
QUICK_BUDGET = Budget(max_epochs=1, max_minutes=1.0, config={"batch_size": 8})


@dataclass(frozen=True)
class ImageSplit:
    """Training and test images of one data set.

    Example:
        >>> synthetic_split(n_train=3, n_test=1, side=5).train.sizes["image"]
        3
    """

    name: str
    train: xr.Dataset
    test: xr.Dataset
    patch: float  # side of the in-painting patch: pixels (>= 1) or a fraction of the side


def olivetti_split(root: Path) -> ImageSplit:
    """The Olivetti faces, cropped to 63 x 63, split by person (36 train, 4 test).

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> split = olivetti_split(root) if root else None
        >>> split is None or (split.train.sizes["image"], split.test.sizes["image"]) == (360, 40)
        True
    """
    import vamoh

    faces = vamoh.open_dataset(root / "images" / "olivetti" / "olivettifaces.mat")
    faces = faces.isel(y=slice(0, FACE_SIDE), x=slice(0, FACE_SIDE)).load()
    cut = TRAIN_PEOPLE * FACES_PER_PERSON
    return ImageSplit(
        "Olivetti faces",
        faces.isel(image=slice(0, cut)),
        faces.isel(image=slice(cut, None)),
        float(PATCH_SIDE),
    )


def synthetic_split(n_train: int = 24, n_test: int = 8, side: int = 15) -> ImageSplit:
    """Bright discs and squares of random size and place on a dark field (8-bit, grey).

    Example:
        >>> split = synthetic_split(n_train=2, n_test=1, side=5)
        >>> split.test["pixels"].dtype.name, split.test.sizes["y"]
        ('uint8', 5)
    """
    from vamoh_images import from_array

    n = n_train + n_test
    rng = np.random.default_rng(SEED)
    yy, xx = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    centre_y = rng.uniform(0.3, 0.7, n)[:, None, None] * side
    centre_x = rng.uniform(0.3, 0.7, n)[:, None, None] * side
    radius = rng.uniform(0.15, 0.3, n)[:, None, None] * side
    disc = (yy - centre_y) ** 2 + (xx - centre_x) ** 2 < radius**2
    square = (np.abs(yy - centre_y) < radius) & (np.abs(xx - centre_x) < radius)
    shapes = np.where((np.arange(n) % 2 == 0)[:, None, None], disc, square)
    images = from_array(np.where(shapes, 220, 30).astype(np.uint8))
    return ImageSplit(
        "synthetic shapes",
        images.isel(image=slice(0, n_train)),
        images.isel(image=slice(n_train, None)),
        0.4,
    )


def decimate(images: xr.Dataset) -> xr.Dataset:
    """Every second pixel in both directions: the x2-downsampled input of super-resolution.

    Example:
        >>> decimate(synthetic_split(n_train=1, n_test=1, side=9).test).sizes["x"]
        5
    """
    return images.isel(y=slice(None, None, 2), x=slice(None, None, 2))


def _mean(values: Any) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def _row(task: str, method: str, truth: xr.Dataset, estimate: Any, where: Any, scored: str) -> list:
    from vamoh_images.metrics import psnr, ssim

    return [
        task,
        method,
        _mean(psnr(truth, estimate, where=where)),
        _mean(ssim(truth, estimate)),
        scored,
    ]


@dataclass
class Evaluation:
    """Score rows and the pictures behind them.

    Example:
        >>> Evaluation().rows
        []
    """

    rows: list[list[Any]] = field(default_factory=list)
    pictures: dict[str, dict[str, Any]] = field(default_factory=dict)


def evaluate(model: Any, split: ImageSplit) -> Evaluation:
    """Every task on the test images, for vamoh and the classical baselines.

    Example:
        >>> split = synthetic_split(n_train=8, n_test=2, side=7)
        >>> result = evaluate(train_within_budget(split.train, QUICK_BUDGET).model, split)
        >>> [row[1] for row in result.rows][:3]
        ['vamoh', 'bicubic', 'vamoh']
    """
    from vamoh_images.baselines import bicubic_upsample, mean_fill, nearest_fill
    from vamoh_images.masks import apply_mask, centre_patch_mask, random_pixel_mask

    test = split.test
    height, width = test.sizes["y"], test.sizes["x"]
    result = Evaluation()

    recon = model.reconstruct(test)
    result.rows.append(_row("reconstruction", "vamoh", test, recon, None, "all"))
    segments = model.segment(test.isel(image=slice(0, SHOWN)))
    result.pictures["reconstruction"] = {"faces": test, "vamoh": recon, "segments": segments}

    coarse = decimate(test)
    new_pixels = np.ones((height, width), dtype=bool)
    new_pixels[::2, ::2] = False  # the input's own pixels are not scored
    target = (height, width)
    bicubic = bicubic_upsample(coarse, to=target)
    fine = model.super_resolve(coarse, to=target)
    for method, estimate in (("bicubic", bicubic), ("vamoh", fine)):
        np.testing.assert_allclose(estimate["y"].values, test["y"].values)  # the same grid
        result.rows.append(
            _row("x2 super-resolution", method, test, estimate, new_pixels, "new 3/4")
        )
    result.pictures["super-resolution"] = {
        "truth": test,
        "input (x1/2)": coarse,
        "bicubic": bicubic,
        "vamoh": fine,
    }

    patch = int(split.patch) if split.patch >= 1 else split.patch
    masks = {
        f"in-painting {_patch_label(test, patch)} patch": centre_patch_mask(test, patch),
        f"in-painting {RANDOM_FRACTION:.0%} random": random_pixel_mask(
            test, RANDOM_FRACTION, seed=SEED
        ),
    }
    for task, mask in masks.items():
        hidden = apply_mask(test, mask)
        filled = {
            "mean fill": mean_fill(hidden),
            "nearest fill": nearest_fill(hidden),
            "vamoh": model.impute(hidden),
        }
        for method, estimate in filled.items():
            result.rows.append(_row(task, method, test, estimate, mask, "hidden"))
        result.pictures[task] = {"truth": test, "hidden": hidden, **filled}
    return result


def _patch_label(images: xr.Dataset, patch: float) -> str:
    from vamoh_images.masks import centre_patch_mask

    mask = centre_patch_mask(images, patch)
    rows, cols = int(mask.any("x").sum()), int(mask.any("y").sum())
    return f"{rows}x{cols}"


def save_figures(result: Evaluation, model: Any, out_dir: Path) -> list[str]:
    """Image grids of every task (PNG under ``out_dir/figures``); paths relative to ``out_dir``.

    Example:
        >>> import tempfile
        >>> split = synthetic_split(n_train=8, n_test=2, side=7)
        >>> model = train_within_budget(split.train, QUICK_BUDGET).model
        >>> paths = save_figures(evaluate(model, split), model, Path(tempfile.mkdtemp()))
        >>> paths[0]
        'figures/images_reconstruction.png'
    """
    from vamoh_images.grids import save_grid
    from vamoh_images.render import entropy_rgb, segmentation_rgb

    k = model.config.n_components
    recon = result.pictures["reconstruction"]
    first = recon["faces"].isel(image=slice(0, 1))
    rows = {
        "test face": recon["faces"],
        "reconstruction": recon["vamoh"],
        "component": segmentation_rgb(recon["segments"]["component"], n_components=k),
        "entropy": entropy_rgb(recon["segments"]["entropy"], max_entropy=math.log(k)),
        "prior sample": model.sample(SHOWN, like=first, seed=SEED),
    }
    written = []
    names = {
        "reconstruction": rows,
        "super_resolution": result.pictures["super-resolution"],
        "inpainting_patch": _first_with(result.pictures, "patch"),
        "inpainting_random": _first_with(result.pictures, "random"),
    }
    for name, grid_rows in names.items():
        path = figure_path(out_dir, f"images_{name}.png")
        save_grid(grid_rows, path, n_images=SHOWN)
        written.append(path.relative_to(out_dir).as_posix())
    return written


def _first_with(pictures: dict[str, dict[str, Any]], word: str) -> dict[str, Any]:
    return next(rows for task, rows in pictures.items() if word in task)


def _config_summary(model: Any) -> str:
    cfg = model.config
    return (
        f"conditioning {cfg.conditioning}, K={cfg.n_components}, dim_z={cfg.dim_z}, "
        f"centroids {cfg.encoder_centroids}, hypernet {cfg.hypernet_layers}, generators "
        f"{cfg.generator_layers}, flow {cfg.flow_layers}, point dropout {cfg.point_dropout}, "
        f"lr {cfg.lr}, batch {cfg.batch_size}"
    )


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Train one model, score every task against the baselines, draw the image grids.

    Example:
        >>> import tempfile
        >>> result = run(True, Path(tempfile.mkdtemp()))
        >>> result["name"], [t["title"] for t in result["tables"]][:1]
        ('images_quality', ['Held-out quality: vamoh against classical baselines'])
    """
    n_threads = threads(quick)
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    root = None if quick else shared_data()
    description = (
        "Olivetti faces cropped to 63x63, split by person: people 1-36 train (360 faces, the "
        "last 10% of them for validation), people 37-40 test (40 faces). "
        if not quick
        else "Quick run: synthetic 15x15 discs and squares, 24 train / 8 test. "
    ) + (
        f"Budget: at most {budget.max_epochs} epochs and {budget.max_minutes:g} minutes on "
        f"{n_threads} torch thread(s), config overrides {budget.config or 'none'} on top of "
        f"the images plugin's defaults. Seed {SEED}. PSNR as in the paper (eqs. 19-20, peak "
        f"255), averaged over test images; SSIM on whole images."
    )
    result: dict[str, Any] = {
        "name": NAME,
        "title": TITLE,
        "description": description,
        "tables": [],
        "figures": [],
    }
    if not quick and root is None:
        result["tables"].append(
            table(
                "Held-out quality: vamoh against classical baselines",
                COLUMNS,
                [["all", "skipped: ../shared/data absent", "", "", ""]],
            )
        )
        return result
    split = synthetic_split() if quick else olivetti_split(root)  # type: ignore[arg-type]
    trained = train_within_budget(split.train, budget)
    with timer() as scoring:
        evaluation = evaluate(trained.model, split)
    notes = (
        "Scored pixels: reconstruction scores every pixel; super-resolution the three quarters "
        "of the full grid missing from its input; in-painting the hidden pixels only. "
        "Reconstruction sees every pixel it is scored on (with local conditioning it can copy "
        "them), so it is no test of generalisation; the other tasks are."
    )
    result["tables"].append(
        table(
            "Held-out quality: vamoh against classical baselines",
            COLUMNS,
            evaluation.rows,
            notes=notes,
        )
    )
    result["tables"].append(
        training_table(
            split.name,
            split.train.sizes["image"],
            split.test.sizes["image"],
            trained,
            scoring.seconds,
            n_threads,
            _config_summary(trained.model),
        )
    )
    result["figures"] = save_figures(evaluation, trained.model, out_dir)
    return result
