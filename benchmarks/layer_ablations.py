"""What each learned layer adds over the Gaussian backbone, over 3 seeds (issue 19, climate).

For each data set (the ERA5 UK and NCEP splits of :mod:`benchmarks.climate_quality`) and seed,
``vamoh.fit(train, config={"seed": s, "learned_layers": "on"})`` trains every learned layer under
the default budget; the fitted model then answers the three held-out tasks three ways: the
backbone alone (``model.backbone_only()``), the backbone with its head, and the backbone with the
head and the VaMoH residual. The table gives each variant's mean over the seeds and the spread
(max - min); a layer "beats the backbone" on a task when its mean RMSE or CRPS is lower than the
backbone's by more than the larger of the two spreads. The last column says what the fit's own
2 % rule (on the validation fields) chose for each seed.

Example:
    >>> NAME, VARIANTS
    ('layer_ablations', ('backbone alone', 'backbone + head', 'backbone + head + residual'))
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import table, threads, timer

NAME = "layer_ablations"

SEEDS = (0, 1, 2)
QUICK_SEEDS = (0,)
VARIANTS = ("backbone alone", "backbone + head", "backbone + head + residual")
_SWITCHES = {
    "backbone alone": {"head": False, "residual": False},
    "backbone + head": {"head": True, "residual": False},
    "backbone + head + residual": {"head": True, "residual": True},
}
QUICK_CONFIG: dict[str, Any] = {"batch_size": 8, "head_steps": 20, "pool_examples": 32}


def variant(model: Any, name: str) -> Any:
    """``model`` answering with the layers of ``name`` switched on (its std calibration kept
    only for the full stack it was calibrated with)."""
    import copy

    switches = _SWITCHES[name]
    if name == "backbone alone":
        return model.backbone_only()
    out = copy.copy(model)
    keep = all(switches.values())
    out.predictor = dataclasses.replace(
        model.predictor,
        on=dict(switches),
        std_scale=dict(model.predictor.std_scale) if keep else {},
    )
    return out


def measure(split: Any, seed: int, quick: bool) -> dict[str, Any]:
    """One fit with every layer on; the three variants' scores on the three tasks.

    Example:
        >>> from benchmarks.climate_quality import synthetic_split
        >>> result = measure(synthetic_split(n_train=24, n_test=2, grid=(6, 8)), 0, quick=True)
        >>> sorted(result["scores"]) == sorted(VARIANTS)
        True
    """
    import vamoh
    from benchmarks.budget_curve import _task_scores

    config = {"seed": seed, "learned_layers": "on", **(QUICK_CONFIG if quick else {})}
    with timer() as elapsed, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        options: dict[str, Any] = {"budget": "15s"} if quick else {}
        model = vamoh.fit(split.train, config=config, progress=False, report=False, **options)
    layers = model.info.get("layers", {})
    auto = {
        name: any(
            min(change.get("rmse", 0.0), change.get("crps", 0.0)) <= -0.02
            for change in layers.get(name, {}).get("adds", {}).values()
        )
        for name in ("head", "residual")
    }
    return {
        "fit_seconds": elapsed.seconds,
        "steps": model.info.get("steps"),
        "auto": auto,
        "scores": {name: _task_scores(variant(model, name), split) for name in VARIANTS},
    }


def summarise(per_seed: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows: task, variant, mean and spread of RMSE and CRPS, coverage, beats the backbone.

    Example:
        >>> s = {v: {"t": {"rmse": 1.0, "crps": 0.5, "coverage90": 0.9}} for v in VARIANTS}
        >>> rows = summarise([{"scores": s}, {"scores": s}])
        >>> rows[1][1], rows[1][-1]
        ('backbone + head', 'no')
    """
    tasks = list(per_seed[0]["scores"][VARIANTS[0]])
    rows = []
    for task in tasks:
        stats: dict[str, dict[str, tuple[float, float]]] = {}
        for name in VARIANTS:
            stats[name] = {}
            for metric in ("rmse", "crps", "coverage90"):
                values = np.array([r["scores"][name][task][metric] for r in per_seed], float)
                stats[name][metric] = (float(values.mean()), float(np.ptp(values)))
        base = stats[VARIANTS[0]]
        for name in VARIANTS:
            mine = stats[name]
            beats = "" if name == VARIANTS[0] else "no"
            for metric in ("rmse", "crps"):
                margin = max(mine[metric][1], base[metric][1])
                if name != VARIANTS[0] and base[metric][0] - mine[metric][0] > margin:
                    gain = (base[metric][0] - mine[metric][0]) / base[metric][0]
                    beats = f"yes ({metric} -{100 * gain:.1f}%)"
                    break
            rows.append(
                [
                    task,
                    name,
                    mine["rmse"][0],
                    mine["rmse"][1],
                    mine["crps"][0],
                    mine["crps"][1],
                    mine["coverage90"][0],
                    beats,
                ]
            )
    return rows


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """The ablation table per data set (see the module docstring).

    Example:
        >>> SEEDS
        (0, 1, 2)
    """
    from benchmarks.climate_quality import load_splits, skipped_result

    n_threads = threads(quick)
    seeds = QUICK_SEEDS if quick else SEEDS
    splits = load_splits(quick)
    columns = [
        "task",
        "variant",
        "RMSE (K)",
        "RMSE spread",
        "CRPS (K)",
        "CRPS spread",
        "90% coverage",
        "beats the backbone",
    ]
    title = "What the learned layers add over the backbone"
    if not splits:
        return skipped_result(NAME, title, columns)
    tables = []
    for split in splits:
        per_seed = [measure(split, seed, quick) for seed in seeds]
        chosen = "; ".join(
            f"seed {seed}: head {'on' if r['auto']['head'] else 'off'}, residual "
            f"{'on' if r['auto']['residual'] else 'off'} ({r['fit_seconds'] / 60:.1f} min, "
            f"{r['steps']} steps)"
            for seed, r in zip(seeds, per_seed)
        )
        tables.append(
            table(
                f"{split.label}: learned layers over the backbone, {len(seeds)} seeds",
                columns,
                summarise(per_seed),
                notes="Means over the seeds; spread = max - min. 'beats the backbone': the "
                "variant's mean RMSE (or CRPS) is below the backbone's by more than the larger "
                "spread. What the fit's 2% rule on the validation fields chose: " + chosen + ".",
            )
        )
    return {
        "name": NAME,
        "title": title,
        "description": (
            "vamoh.fit(train, config={'seed': s, 'learned_layers': 'on'}) with the default "
            f"budget, seeds {', '.join(map(str, seeds))}, {n_threads} torch thread(s); each "
            "model answers x2 downscaling, 50% random gaps and the central block of the held-out "
            "fields with the backbone alone, with the head, and with the head and the VaMoH "
            "residual (cos-latitude RMSE and CRPS in K). "
            + " | ".join(split.description for split in splits)
        ),
        "tables": tables,
        "figures": [],
    }
