"""Default fits on a laptop CPU: time, progress lines, memory and held-out gap filling.

``vamoh.fit(ds)`` with no configuration and no budget, on synthetic data of the shapes users
bring: a 2-degree global monthly SST record (89 x 180 grid, land NaN, 552 months) and a 64 x 128
model grid of 660 fields. Each fit runs in a fresh process with its standard output going to a
file (not a terminal), as in a batch job, so the plain progress lines are what a log would show.
The last 24 fields are held out: half of their points are hidden and filled by the model, and
the error is compared with the training-mean field.

Example:
    >>> longest_gap([0.0, 20.0, 70.0, 75.0], 90.0)
    50.0
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SEED, in_fresh_process, peak_rss_mb, table, threads

NAME = "default_fit"

FULL_SHAPES = ((89, 180, 552, True), (64, 128, 660, False))  # lat, lon, fields, land NaN
QUICK_SHAPES = ((12, 24, 60, True),)
QUICK_BUDGET = "20s"
HELD_OUT = 24
TIME_LIMIT_MINUTES = 15.0  # issue 15: a default fit of these shapes on 2 CPU cores
_LINE = re.compile(r"^vamoh ")


def longest_gap(stamps: list[float], end: float) -> float:
    """The longest wait between progress lines (seconds), the run's end included."""
    marks = [0.0, *sorted(stamps), end]
    return float(max(b - a for a, b in zip(marks, marks[1:])))


class _StampedLines(io.TextIOBase):
    """A non-terminal stdout that records when each line was written."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.lines: list[tuple[float, str]] = []
        self._partial = ""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self.lines.append((time.perf_counter() - self.started, line))
        return len(text)


def sst_like(n_lat: int, n_lon: int, n_fields: int, land: bool) -> Any:
    """Smooth global fields in K with month-to-month red noise, NaN over land if ``land``."""
    from vamoh_climate.covariates import land_sea_mask
    from vamoh_climate.synthetic import global_field

    ds = global_field(n_fields, n_lat, n_lon, seed=SEED, name="sst")
    rng = np.random.default_rng(SEED)
    # a slowly varying large-scale anomaly, so that the record is not three waves only
    lat = np.radians(ds.latitude.values)[:, None]
    lon = np.radians(ds.longitude.values)[None, :]
    pattern = np.cos(lat) * np.sin(lon + 0.7) + 0.5 * np.sin(2 * lat) * np.cos(2 * lon)
    amplitude = np.cumsum(rng.normal(0.0, 0.3, n_fields))
    amplitude -= amplitude.mean()
    ds["sst"] = ds["sst"] + (amplitude[:, None, None] * pattern[None]).astype(np.float32)
    ds["sst"].attrs.update(units="K", long_name="sea surface temperature")
    if land:
        grid_lat, grid_lon = np.meshgrid(ds.latitude.values, ds.longitude.values, indexing="ij")
        ds["sst"] = ds["sst"].where(~land_sea_mask(grid_lat, grid_lon).astype(bool))
    return ds


def measure(n_lat: int, n_lon: int, n_fields: int, land: bool, budget: str | None) -> dict:
    """One default fit and the gap filling of the held-out fields (call in a fresh process)."""
    import sys

    import vamoh

    ds = sst_like(n_lat, n_lon, n_fields, land)
    train = ds.isel(time=slice(0, n_fields - HELD_OUT))
    test = ds.isel(time=slice(n_fields - HELD_OUT, None))
    out = _StampedLines()
    real_stdout = sys.stdout
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        model = vamoh.fit(train) if budget is None else vamoh.fit(train, budget=budget)
    fit_seconds = time.perf_counter() - started
    sys.stdout = real_stdout
    stamps = [t for t, line in out.lines if _LINE.match(line)]
    truth = test["sst"].values
    rng = np.random.default_rng(SEED)
    hidden = (rng.random(truth.shape) < 0.5) & np.isfinite(truth)
    gappy = test.copy()
    gappy["sst"] = test["sst"].where(~hidden)
    started = time.perf_counter()
    filled = model.impute(gappy)
    impute_seconds = time.perf_counter() - started
    weight = np.broadcast_to(np.cos(np.radians(test.latitude.values))[None, :, None], truth.shape)

    def rmse(prediction: np.ndarray) -> float:
        error = (prediction - truth)[hidden]
        return float(np.sqrt(np.sum(weight[hidden] * error**2) / np.sum(weight[hidden])))

    mean_field = np.nanmean(train["sst"].values, axis=0)[None]
    std = filled["sst_std"].values[hidden]
    inside = np.abs(filled["sst"].values[hidden] - truth[hidden]) <= 1.6449 * std
    return {
        "fit_seconds": fit_seconds,
        "impute_seconds": impute_seconds,
        "longest_gap_seconds": longest_gap(stamps, fit_seconds),
        "progress_lines": len(stamps),
        "plan": model.info.get("plan", ""),
        "steps": model.info.get("steps"),
        "rmse": rmse(filled["sst"].values),
        "rmse_mean_field": rmse(np.broadcast_to(mean_field, truth.shape)),
        "coverage90": float(inside.mean()),
        "peak_mb": peak_rss_mb(),
        "seconds": model.info.get("seconds", {}),
    }


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Fit each shape with defaults in a fresh process and tabulate the issue's checks.

    Example:
        >>> TIME_LIMIT_MINUTES
        15.0
    """
    count = threads(quick)
    shapes = QUICK_SHAPES if quick else FULL_SHAPES
    budget = QUICK_BUDGET if quick else None
    rows = []
    for n_lat, n_lon, n_fields, land in shapes:
        arguments = dict(n_lat=n_lat, n_lon=n_lon, n_fields=n_fields, land=land, budget=budget)
        result = (
            measure(**arguments)
            if quick
            else in_fresh_process("benchmarks.default_fit:measure", timeout=3600.0, **arguments)
        )
        rows.append(
            [
                f"{n_lat} x {n_lon} x {n_fields}" + (" (land NaN)" if land else ""),
                result["fit_seconds"] / 60.0,
                result["fit_seconds"] / 60.0 <= TIME_LIMIT_MINUTES,
                result["progress_lines"],
                result["longest_gap_seconds"],
                result["steps"],
                result["rmse"],
                result["rmse_mean_field"],
                result["coverage90"],
                result["impute_seconds"],
                result["peak_mb"],
            ]
        )
    return {
        "name": NAME,
        "title": "Default fits on a CPU",
        "description": (
            f"vamoh.fit(ds) with no configuration{' (budget ' + budget + ')' if budget else ''} "
            f"on synthetic SST-like fields, {count} torch thread{'s' if count != 1 else ''}, "
            f"standard output to a file; the last {HELD_OUT} fields held out, 50% of their "
            f"points hidden and filled (cos-latitude weighted RMSE in K), seed {SEED}."
        ),
        "tables": [
            table(
                "Default fit",
                [
                    "data",
                    "fit minutes",
                    f"within {TIME_LIMIT_MINUTES:g} min",
                    "progress lines",
                    "longest silence s",
                    "training steps",
                    "gap RMSE K",
                    "training-mean RMSE K",
                    "90% coverage",
                    "impute s",
                    "peak RSS MiB",
                ],
                rows,
                notes=(
                    "The fit includes the backbone, the learned layers, training and the "
                    "validation report. 'longest silence' is the longest time between two "
                    "progress lines (the start and the end included)."
                ),
            )
        ],
        "figures": [],
    }
