"""What more compute buys: held-out error against the fit's time budget (issue 15).

``vamoh.fit(train, budget=...)`` with everything else at its default, at 1, 3, 10 and 30 minutes,
on the ERA5 UK and NCEP splits of :mod:`benchmarks.climate_quality`; each fitted model does the
three held-out tasks (x2 downscaling from 2 x 2 block means, 50 % random gaps, the central block)
and so does its backbone alone (``model.backbone_only()``). The hybrid-covariance posterior
(:class:`vamoh_climate.linear_posteriors.LinearPosterior`, fitted once per data set) is drawn as
the line to reach.

The two data sets run side by side in fresh processes with one torch thread each, so each fit has
one of the machine's cores: budgets are wall-clock minutes of one core.

Example:
    >>> NAME, FULL_MINUTES
    ('budget_curve', (1.0, 3.0, 10.0, 30.0))
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import figure_path, in_fresh_process, table, threads

NAME = "budget_curve"

FULL_MINUTES = (1.0, 3.0, 10.0, 30.0)
QUICK_MINUTES = (0.25,)
TASKS = ("x2 downscaling", "random 50%", "central block")
_CHILD_THREADS = 1


def _budget_text(minutes: float) -> str:
    return f"{minutes:g}min" if minutes >= 1 else f"{round(minutes * 60)}s"


def _task_scores(model: Any, split: Any) -> dict[str, dict[str, float]]:
    from benchmarks.climate_quality import (
        BLOCK_TASK,
        RANDOM_TASK,
        gap_tasks,
        score,
        vamoh_downscale,
        vamoh_fill,
    )

    out = {"x2 downscaling": score(split.test, vamoh_downscale(model, split))}
    masks = gap_tasks(split.test)
    for task in (RANDOM_TASK, BLOCK_TASK):
        out[task] = score(split.test, vamoh_fill(model, split, masks[task]), masks[task])
    return out


def reference_scores(split: Any) -> dict[str, dict[str, float]]:
    """The hybrid-covariance posterior (dense optimal interpolation) on the three tasks."""
    from benchmarks.climate_quality import (
        BLOCK_TASK,
        RANDOM_TASK,
        Prediction,
        gap_tasks,
        score,
    )
    from vamoh_climate.baselines import block_mean
    from vamoh_climate.linear_posteriors import LinearPosterior

    posterior = LinearPosterior.fit(split.train, kind="hybrid")
    name = split.variable
    fine = posterior.downscale(block_mean(split.test, 2), like=split.test)
    out = {"x2 downscaling": score(split.test, Prediction(fine[name], fine[f"{name}_std"]))}
    masks = gap_tasks(split.test)
    for task, kind in ((RANDOM_TASK, "gaps"), (BLOCK_TASK, "block")):
        filled = posterior.fill_gaps(split.test.where(~masks[task]), task=kind)  # type: ignore[arg-type]
        out[task] = score(split.test, Prediction(filled[name], filled[f"{name}_std"]), masks[task])
    return out


def measure_curve(key: str, minutes: list[float], n_threads: int, quick: bool) -> dict[str, Any]:
    """Fit and score one data set at every budget (call in a fresh process).

    Example:
        >>> result = measure_curve("synthetic", [0.25], 1, quick=True)
        >>> sorted(result["points"][0]["vamoh"])
        ['central block', 'random 50%', 'x2 downscaling']
    """
    import warnings

    import torch

    import vamoh
    from benchmarks.climate_quality import load_splits
    from benchmarks.common import quiet_lightning

    torch.set_num_threads(n_threads)
    quiet_lightning()
    split = load_splits(quick=True)[0] if key == "synthetic" else load_splits(False, keys=(key,))[0]
    started = time.perf_counter()
    reference = reference_scores(split)
    reference_seconds = time.perf_counter() - started
    points = []
    for budget in minutes:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = vamoh.fit(split.train, budget=_budget_text(budget), progress=False)
        fit_seconds = time.perf_counter() - started
        backbone = model.backbone_only()
        layers = model.info.get("layers", {})
        points.append(
            {
                "minutes": budget,
                "fit_seconds": fit_seconds,
                "steps": model.info.get("steps"),
                "plan": model.info.get("plan", ""),
                "layers_on": sorted(
                    name
                    for name, decision in layers.items()
                    if isinstance(decision, dict) and decision.get("on")
                ),
                "vamoh": _task_scores(model, split),
                "backbone": _task_scores(backbone, split) if backbone is not None else None,
            }
        )
    return {
        "label": split.label,
        "description": split.description,
        "reference": reference,
        "reference_seconds": reference_seconds,
        "points": points,
    }


def plot_curves(results: list[dict[str, Any]], path: Path) -> Path:
    """RMSE against budget minutes, one panel per data set and task, reference dashed.

    Example:
        >>> import tempfile
        >>> point = {"minutes": 1.0, "vamoh": {t: {"rmse": 1.0} for t in TASKS}, "backbone": None}
        >>> result = {"label": "d", "reference": {t: {"rmse": 0.9} for t in TASKS},
        ...           "points": [point]}
        >>> plot_curves([result], Path(tempfile.mkdtemp()) / "c.png").is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(results), len(TASKS), figsize=(4.2 * len(TASKS), 3.3 * len(results)), squeeze=False
    )
    for row, result in zip(axes, results):
        minutes = [point["minutes"] for point in result["points"]]
        for ax, task in zip(row, TASKS):
            ax.plot(
                minutes,
                [p["vamoh"][task]["rmse"] for p in result["points"]],
                "-o",
                label="vamoh (default layers)",
            )
            backbone = [
                p["backbone"][task]["rmse"] if p["backbone"] else math.nan for p in result["points"]
            ]
            ax.plot(minutes, backbone, "-s", alpha=0.7, label="its backbone alone")
            ax.axhline(
                result["reference"][task]["rmse"], ls="--", color="k", label="hybrid-covariance OI"
            )
            ax.set_xscale("log")
            ax.set_title(f"{result['label']}: {task}")
            ax.set_xlabel("fit budget (minutes, 1 core)")
            ax.set_ylabel("held-out RMSE (K)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Both data sets side by side, one fresh single-threaded process each; one table, one plot.

    Example:
        >>> TASKS[0]
        'x2 downscaling'
    """
    from benchmarks.climate_quality import skipped_result
    from benchmarks.common import shared_data

    threads(quick)
    minutes = list(QUICK_MINUTES if quick else FULL_MINUTES)
    keys = ["synthetic"] if quick else ["era5_uk", "ncep"]
    columns = [
        "data",
        "budget (min)",
        "fit (min)",
        "steps",
        "task",
        "method",
        "RMSE (K)",
        "CRPS (K)",
        "90% coverage",
    ]
    title = "Quality against the fit budget"
    if not quick and shared_data() is None:
        return skipped_result(NAME, title, columns)
    os.environ.setdefault("VAMOH_BENCH_THREADS", str(_CHILD_THREADS))
    arguments = [
        dict(key=key, minutes=minutes, n_threads=_CHILD_THREADS, quick=quick) for key in keys
    ]
    if quick:
        results = [measure_curve(**arguments[0])]
    else:
        timeout = 60.0 * (sum(minutes) * 3 + 30)
        with ThreadPoolExecutor(len(arguments)) as pool:
            results = list(
                pool.map(
                    lambda kwargs: in_fresh_process(
                        "benchmarks.budget_curve:measure_curve", timeout=timeout, **kwargs
                    ),
                    arguments,
                )
            )
    rows: list[list[Any]] = []
    for result in results:
        for task in TASKS:
            ref = result["reference"][task]
            rows.append(
                [
                    result["label"],
                    "",
                    "",
                    "",
                    task,
                    "hybrid-covariance OI (reference)",
                    ref["rmse"],
                    ref["crps"],
                    ref["coverage90"],
                ]
            )
        for point in result["points"]:
            for task in TASKS:
                for method in ("vamoh", "backbone"):
                    scores = point[method][task] if point[method] else None
                    if scores is None:
                        continue
                    rows.append(
                        [
                            result["label"],
                            point["minutes"],
                            point["fit_seconds"] / 60.0,
                            point["steps"],
                            task,
                            "vamoh" if method == "vamoh" else "backbone alone (optimal interp.)",
                            scores["rmse"],
                            scores["crps"],
                            scores["coverage90"],
                        ]
                    )
    figure = plot_curves(results, figure_path(out_dir, "budget_curve.png"))
    description = (
        "vamoh.fit(train, budget=B) with every other setting at its default, B = "
        + ", ".join(_budget_text(m) for m in minutes)
        + "; each model (and its backbone alone) downscales x2, fills 50% random gaps and the "
        "central block of the held-out fields (cos-latitude RMSE, CRPS and 90% coverage in K). "
        f"The data sets run side by side in fresh processes with {_CHILD_THREADS} torch thread "
        "each (one core each of the 2). " + " | ".join(r["description"] for r in results)
    )
    notes = (
        "'fit (min)' is the whole fit (backbone search, learned layers, training, validation "
        "report), which can exceed the budget by the report's time. The reference is the dense "
        "hybrid-covariance posterior, its settings chosen per task on the last 10% of the "
        "training fields (took "
        + ", ".join(f"{r['label']} {r['reference_seconds'] / 60:.1f} min" for r in results)
        + "). Plans per budget: "
        + " | ".join(
            f"{r['label']} {p['minutes']:g} min: {p['plan']}; layers on: {p['layers_on']}"
            for r in results
            for p in r["points"]
        )
    )
    return {
        "name": NAME,
        "title": title,
        "description": description,
        "tables": [table(title, columns, rows, notes=notes)],
        "figures": [figure.relative_to(out_dir).as_posix()],
    }
