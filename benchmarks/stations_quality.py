"""Station quality: gap filling and prediction at unseen sites with covariates (issue #16).

Data (:mod:`benchmarks.stations_data`): pseudo-stations of ERA5 UK t2m and NCEP air (200 random
grid cells of the README's crops and splits, 40 of them held out, 30 % of each observed site's
records removed; covariates ``lsm`` and ``lat``) and the synthetic mountain network (300
stations x 1000 months, 60 % missing, 60 stations held out, the last 200 months tested;
covariates ``elev`` and ``lat``). Quick runs use a small synthetic network only.

Two tasks per data set, from the same inputs (the observed sites over the test steps):

* **gap filling**: the observed sites' removed test records;
* **held-out sites**: every test record of the sites never observed.

Scores per task: RMSE, CRPS and 90 % interval coverage of the Gaussian predictive (where a
method has one), pooled over the scored records with equal weights (stations are points, not
grid cells: no area weights); and the RMSE per site (a table of its spread, and maps).

**Adding a method.** A method is any function ``method(train, observed, sites) -> Prediction``:

* ``train``: ``var(station, time)`` at the observed sites over the training steps (NaN gaps),
  with ``lat``, ``lon`` and the covariates as coordinates along ``station``;
* ``observed``: the same sites over the test steps, the removed records NaN: the only test
  values a method may use;
* ``sites``: where to predict: a coordinates-only Dataset (``station`` ids, ``lat``, ``lon``
  and the covariates); the benchmark passes the observed sites followed by the held-out sites,
  so one call serves both tasks;
* returns :class:`Prediction`: ``mean`` and ``std`` (or None) as DataArrays with dims
  ``(station, time)``: ``sites``' stations and ``observed``'s steps.

The covariates are every numeric coordinate along the station dim except longitude
(:func:`covariates_of`). vamoh is one entry of :data:`METHODS`: ``vamoh.fit(train,
covariates=...)`` with the machine's default budget (15 s in quick runs), then
``model.predict(observed, at=sites)``; "vamoh without covariates" in :data:`VARIANTS` is the
covariate ablation.

Example:
    >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
    >>> result = evaluate(split, {"IDW": METHODS["IDW (8 nearest)"]})
    >>> sorted(result.scores["IDW"]), round(result.scores["IDW"]["held-out sites"]["rmse"], 1) > 0
    (['gap filling', 'held-out sites'], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from benchmarks.climate_quality import Prediction
from benchmarks.common import figure_path, shared_data, table, threads, timer
from benchmarks.stations_data import (
    StationSplit,
    era5_uk_stations,
    ncep_stations,
    synthetic_stations,
)

NAME = "stations_quality"
GAPS = "gap filling"
HELD_OUT = "held-out sites"
TASKS = (GAPS, HELD_OUT)
QUICK_NETWORK = {"n_stations": 60, "n_months": 60, "train_months": 48}
TIMING_NETWORK = {"n_stations": 300, "n_months": 1000, "missing": 0.6}
QUICK_TIMING_NETWORK = {"n_stations": 60, "n_months": 60, "missing": 0.6}

StationMethod = Callable[[xr.Dataset, xr.Dataset, xr.Dataset], Prediction]


# -- methods ----------------------------------------------------------------------------------------
def covariates_of(sites: xr.Dataset) -> list[str]:
    """The covariates: numeric coordinates along the station dim, longitude excepted.

    Example:
        >>> split = synthetic_stations(n_stations=10, n_months=4, train_months=2)
        >>> covariates_of(split.sites)
        ['lat', 'elev']
    """
    from vamoh_climate.modality import locate

    geometry = locate(sites)
    (dim,) = geometry.dims
    return [
        str(name)
        for name, coord in sites.coords.items()
        if coord.dims == (dim,) and coord.dtype.kind in "fiu" and name != geometry.lon_name
    ]


def _variable(observed: xr.Dataset) -> str:
    (name,) = [str(n) for n in observed.data_vars]
    return name


def _baseline(method: str, **options: Any) -> StationMethod:
    """A :func:`vamoh_climate.station_baselines.predict_at_sites` method as a StationMethod."""

    def predict(train: xr.Dataset, observed: xr.Dataset, sites: xr.Dataset) -> Prediction:
        from vamoh_climate.station_baselines import predict_at_sites

        covariates = covariates_of(sites) if method == "regression_kriging" else None
        out = predict_at_sites(observed, sites, method, covariates=covariates, **options)  # type: ignore[arg-type]
        name = _variable(observed)
        std = out[f"{name}_std"] if f"{name}_std" in out else None
        return Prediction(out[name], std)

    predict.__doc__ = f"{method} at the sites from the observed test records ({options or ''})."
    return predict


def _vamoh(with_covariates: bool = True) -> StationMethod:
    """``vamoh.fit(train, covariates=...)`` with every other default, then
    ``model.predict(observed, at=sites)``: the mean and the calibrated std."""

    def predict(train: xr.Dataset, observed: xr.Dataset, sites: xr.Dataset) -> Prediction:
        import warnings

        import vamoh
        from benchmarks.common import is_quick

        covariates = [c for c in covariates_of(sites) if with_covariates]
        budget = {"budget": "15s"} if is_quick() else {}  # full runs: the machine's default
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = vamoh.fit(
                train,
                covariates=covariates,
                config={"seed": 0},
                progress=False,
                report=False,
                **budget,
            )
        name = _variable(observed)
        template = sites.assign(
            {
                name: (
                    ("station", "time"),
                    np.full((sites.sizes["station"], observed.sizes["time"]), np.nan),
                )
            }
        ).assign_coords(time=observed["time"])
        out = model.predict(observed, at=template)
        return Prediction(out[name], out[f"{name}_std"])

    predict.__doc__ = f"vamoh {'with' if with_covariates else 'without'} the covariates."
    return predict


METHODS: dict[str, StationMethod] = {
    "IDW (8 nearest)": _baseline("idw"),
    "ordinary kriging": _baseline("ordinary_kriging"),
    "regression kriging": _baseline("regression_kriging"),
    "vamoh": _vamoh(),
}
# the choices behind the defaults above, scored in a table of their own
VARIANTS: dict[str, StationMethod] = {
    "IDW (all stations)": _baseline("idw", neighbours=None),
    "ordinary kriging, per-step variogram": _baseline("ordinary_kriging", variogram="per_step"),
    "regression kriging, per-step variogram": _baseline("regression_kriging", variogram="per_step"),
    "regression kriging, exponential variogram": _baseline(
        "regression_kriging", model="exponential"
    ),
    "regression kriging, Gaussian variogram": _baseline("regression_kriging", model="gaussian"),
    "vamoh without covariates": _vamoh(with_covariates=False),
}


# -- scores -----------------------------------------------------------------------------------------
def _aligned(prediction: xr.DataArray, truth: xr.DataArray) -> xr.DataArray:
    prediction = prediction.transpose(*truth.dims)
    for dim in truth.dims:
        if dim in truth.indexes and not prediction.indexes[dim].equals(truth.indexes[dim]):
            raise ValueError(f"the prediction's {dim!r} labels differ from the truth's.")
    return prediction


def score(
    truth: xr.DataArray, prediction: Prediction, mask: xr.DataArray | None = None
) -> dict[str, float]:
    """RMSE, CRPS and 90 % coverage over the scored records, equal weights; NaN without std.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([[1.0, 2.0]], dims=("station", "time"), name="t",
        ...                      coords={"station": ["a"], "lat": ("station", [45.0])})
        >>> s = score(truth, Prediction(truth + 1.0, truth * 0 + 1.0))
        >>> round(s["rmse"], 3), round(s["coverage90"], 2), s["n"]
        (1.0, 1.0, 2)
    """
    from vamoh_climate import metrics

    mean = _aligned(prediction.mean, truth)
    scored = truth.notnull() if mask is None else mask & truth.notnull()
    out = {
        "rmse": float(metrics.rmse(truth, mean, mask=scored, area_weighted=False)),
        "n": int(scored.sum()),
    }
    if prediction.std is None:
        out["crps"] = out["coverage90"] = math.nan
        return out
    std = _aligned(prediction.std, truth)
    out["crps"] = float(metrics.crps(truth, mean, std, mask=scored, area_weighted=False))
    out["coverage90"] = float(metrics.coverage(truth, mean, std, mask=scored, area_weighted=False))
    return out


def per_site_rmse(
    truth: xr.DataArray, prediction: Prediction, mask: xr.DataArray | None = None
) -> xr.DataArray:
    """The RMSE of each site over its scored records (NaN for a site with none).

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([[0.0, 0.0], [0.0, 0.0]], dims=("station", "time"),
        ...     coords={"station": ["a", "b"], "lat": ("station", [45.0, 46.0])}, name="t")
        >>> error = xr.DataArray([[1.0, 1.0], [2.0, 2.0]], dims=("station", "time"))
        >>> per_site_rmse(truth, Prediction(truth + error)).values.tolist()
        [1.0, 2.0]
    """
    from vamoh_climate import metrics

    mean = _aligned(prediction.mean, truth)
    scored = truth.notnull() if mask is None else mask & truth.notnull()
    return metrics.rmse(truth, mean, mask=scored, dim="time", area_weighted=False)


# -- evaluation -------------------------------------------------------------------------------------
@dataclass
class SplitResult:
    """Scores of every method on one data set: per task, per site, time, variograms.

    Example:
        >>> SplitResult("x").scores
        {}
    """

    label: str
    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    sites: dict[str, dict[str, xr.DataArray]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    variograms: dict[str, str] = field(default_factory=dict)


def _split_prediction(prediction: Prediction, stations: xr.DataArray) -> Prediction:
    pick = {"station": stations}
    std = prediction.std.sel(pick) if prediction.std is not None else None
    return Prediction(prediction.mean.sel(pick), std)


def evaluate(split: StationSplit, methods: dict[str, StationMethod]) -> SplitResult:
    """Run every method once (observed and held-out sites together) and score both tasks.

    Example:
        >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
        >>> result = evaluate(split, {"OK": METHODS["ordinary kriging"]})
        >>> 0.0 <= result.scores["OK"]["gap filling"]["coverage90"] <= 1.0
        True
    """
    sites = xr.concat([split.observed_sites, split.sites], dim="station")
    truth = split.truth[split.variable]
    held_truth = split.heldout_truth[split.variable]
    result = SplitResult(split.label)
    for name, method in methods.items():
        with timer() as elapsed:
            prediction = method(split.train, split.observed, sites)
        result.seconds[name] = elapsed.seconds
        gaps = _split_prediction(prediction, truth["station"])
        held = _split_prediction(prediction, held_truth["station"])
        result.scores[name] = {
            GAPS: score(truth, gaps, split.gaps),
            HELD_OUT: score(held_truth, held),
        }
        result.sites[name] = {
            GAPS: per_site_rmse(truth, gaps, split.gaps),
            HELD_OUT: per_site_rmse(held_truth, held),
        }
        if prediction.std is not None and "variogram" in prediction.std.attrs:
            result.variograms[name] = str(prediction.std.attrs["variogram"])
    return result


def timing(network: dict[str, Any]) -> list[list[Any]]:
    """Seconds of :func:`~vamoh_climate.station_baselines.fill_station_gaps` on a whole network.

    Example:
        >>> rows = timing({"n_stations": 20, "n_months": 12, "missing": 0.5})
        >>> [row[1] for row in rows]
        ['idw', 'ordinary_kriging', 'regression_kriging']
    """
    from vamoh_climate.station_baselines import fill_station_gaps
    from vamoh_climate.synthetic import station_network

    data = station_network(**network)
    size = f"{network['n_stations']} stations x {network['n_months']} months"
    gaps = int(data["tmax"].isnull().sum())
    rows = []
    for method in ("idw", "ordinary_kriging", "regression_kriging"):
        covariates = ["elev", "lat"] if method == "regression_kriging" else None
        with timer() as elapsed:
            fill_station_gaps(data, method, covariates=covariates)  # type: ignore[arg-type]
        rows.append([size, method, gaps, elapsed.seconds])
    return rows


# -- figures ----------------------------------------------------------------------------------------
def plot_site_maps(split: StationSplit, result: SplitResult, path: Path) -> Path:
    """One map per method: observed sites (grey) and the held-out sites coloured by RMSE.

    Coastlines (offline, Natural Earth 1:50m) are drawn for real data only: the synthetic
    network's terrain is not the real one under it.

    Example:
        >>> import tempfile
        >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
        >>> result = evaluate(split, {"IDW": METHODS["IDW (8 nearest)"]})
        >>> plot_site_maps(split, result, Path(tempfile.mkdtemp()) / "m.png").is_file()
        True
    """
    import cartopy.crs as ccrs
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vamoh_climate.plot import use_offline_natural_earth

    use_offline_natural_earth()
    names = list(result.sites)
    held = [result.sites[name][HELD_OUT] for name in names]
    high = float(max(np.nanmax(h.values) for h in held))
    lat_obs, lon_obs = split.observed["lat"].values, split.observed["lon"].values
    lat_held, lon_held = split.sites["lat"].values, split.sites["lon"].values
    lon_all = np.unwrap(np.concatenate([lon_obs, lon_held]), period=360.0)
    lat_all = np.concatenate([lat_obs, lat_held])
    extent = [
        float(lon_all.min()) - 1.0,
        float(lon_all.max()) + 1.0,
        float(lat_all.min()) - 1.0,
        float(lat_all.max()) + 1.0,
    ]
    centre = 0.5 * (extent[0] + extent[1])
    projection = ccrs.PlateCarree(central_longitude=centre)
    plate = ccrs.PlateCarree()
    aspect = float(np.clip((extent[3] - extent[2]) / (extent[1] - extent[0]), 0.3, 1.5))
    fig = plt.figure(figsize=(4.6 * len(names) + 1.0, 4.6 * aspect + 1.3))
    units = split.truth[split.variable].attrs.get("units", "")
    for index, (name, errors) in enumerate(zip(names, held)):
        ax = fig.add_subplot(1, len(names), index + 1, projection=projection)
        ax.set_extent(extent, crs=plate)
        if split.key != "synthetic":
            ax.coastlines(resolution="50m", linewidth=0.6)
        ax.scatter(lon_obs, lat_obs, s=6, c="0.55", transform=plate, label="observed")
        points = ax.scatter(
            lon_held,
            lat_held,
            c=errors.values,
            s=46,
            cmap="viridis",
            vmin=0.0,
            vmax=high,
            edgecolors="black",
            linewidths=0.5,
            transform=plate,
            label="held out (colour: RMSE)",
        )
        median = float(np.nanmedian(errors.values))
        ax.set_title(f"{split.label}, {name}\nmedian RMSE {median:.2f} {units}", fontsize=9)
        if index == 0:
            ax.legend(loc="lower left", fontsize=7)
    fig.colorbar(points, ax=fig.axes, shrink=0.6, label=f"RMSE per held-out site [{units}]")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_per_site(results: list[SplitResult], units: list[str], path: Path) -> Path:
    """Box plots of the per-site RMSE: one panel per data set and task, one box per method.

    Example:
        >>> import tempfile
        >>> split = synthetic_stations(n_stations=40, n_months=24, train_months=18)
        >>> result = evaluate(split, {"IDW": METHODS["IDW (8 nearest)"]})
        >>> plot_per_site([result], ["degC"], Path(tempfile.mkdtemp()) / "b.png").is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(TASKS), len(results), figsize=(4.4 * len(results), 6.4), squeeze=False
    )
    for column, (result, unit) in enumerate(zip(results, units)):
        names = list(result.sites)
        for row, task in enumerate(TASKS):
            ax = axes[row][column]
            values = [result.sites[name][task].dropna("station").values for name in names]
            ax.boxplot(values, showfliers=True)
            ax.set_xticks(range(1, len(names) + 1), [n.replace(" ", "\n", 1) for n in names])
            ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{result.label}: {task}", fontsize=9)
            ax.set_ylabel(f"RMSE per site [{unit}]")
            ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the benchmark ----------------------------------------------------------------------------------
def load_splits(quick: bool) -> list[StationSplit]:
    """Quick: a small synthetic network. Full: ERA5 UK and NCEP (when present), the network.

    Example:
        >>> [split.key for split in load_splits(quick=True)]
        ['synthetic']
    """
    if quick:
        return [synthetic_stations(**QUICK_NETWORK)]
    root = shared_data()
    real = [era5_uk_stations(root), ncep_stations(root)] if root is not None else []
    return [*real, synthetic_stations()]


def _score_rows(results: list[SplitResult], task: str) -> list[list[Any]]:
    rows = []
    for result in results:
        for name, scores in result.scores.items():
            s = scores[task]
            rows.append(
                [result.label, name, s["rmse"], s["crps"], s["coverage90"], s["n"]]
                + [result.seconds[name]]
            )
    return rows


def _site_rows(results: list[SplitResult]) -> list[list[Any]]:
    rows = []
    for result in results:
        for name, tasks in result.sites.items():
            errors = tasks[HELD_OUT].dropna("station")
            worst = int(errors.argmax(dim="station"))
            rows.append(
                [
                    result.label,
                    name,
                    float(errors.median()),
                    float(errors.quantile(0.9)),
                    str(errors["station"].values[worst]),
                    float(errors[worst]),
                ]
            )
    return rows


def _variant_rows(results: list[SplitResult], variants: list[SplitResult]) -> list[list[Any]]:
    rows = []
    for chosen, tried in zip(results, variants):
        for result in (chosen, tried):
            for name, scores in result.scores.items():
                rows.append(
                    [
                        result.label,
                        name,
                        scores[HELD_OUT]["rmse"],
                        scores[HELD_OUT]["crps"],
                        scores[GAPS]["rmse"],
                        scores[GAPS]["crps"],
                    ]
                )
    return rows


def _ratio_note(results: list[SplitResult]) -> str:
    notes = []
    for result in results:
        scores = result.scores
        if "regression kriging" in scores and "ordinary kriging" in scores:
            ratios = [
                scores["regression kriging"][task]["rmse"]
                / scores["ordinary kriging"][task]["rmse"]
                for task in TASKS
            ]
            notes.append(
                f"{result.label}: {ratios[0]:.2f} (gap filling), {ratios[1]:.2f} (held-out)"
            )
    return "Regression / ordinary kriging RMSE: " + "; ".join(notes) + "."


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Every table and figure of the station benchmark (see the module docstring).

    ``python -m benchmarks run --only stations_quality`` runs it (``--quick`` for a smoke run).

    Example:
        >>> NAME, TASKS
        ('stations_quality', ('gap filling', 'held-out sites'))
    """
    n_threads = threads(quick)
    splits = load_splits(quick)
    results = [evaluate(split, METHODS) for split in splits]
    variants = [evaluate(split, VARIANTS) for split in splits]
    units = [split.truth[split.variable].attrs.get("units", "") for split in splits]
    timing_rows = timing(QUICK_TIMING_NETWORK if quick else TIMING_NETWORK)

    figures = []
    for split, result in zip(splits, results):
        path = plot_site_maps(split, result, figure_path(out_dir, f"stations_map_{split.key}.png"))
        figures.append(path.relative_to(out_dir).as_posix())
    boxes = plot_per_site(results, units, figure_path(out_dir, "stations_per_site_rmse.png"))
    figures.append(boxes.relative_to(out_dir).as_posix())

    columns = ["data", "method", "RMSE", "CRPS", "90% coverage", "scored records", "seconds"]
    unit_note = "Units: " + ", ".join(f"{split.label} {unit}" for split, unit in zip(splits, units))
    variogram_rows = [
        [result.label, name, text] for result in results for name, text in result.variograms.items()
    ]
    method_notes = (
        "IDW: inverse distance weighting on the sphere, power 2, the 8 nearest observed "
        "stations (no predictive std: no CRPS or coverage). Ordinary kriging: PyKrige's "
        "spherical variogram and geographic distances, the variogram pooled over all test steps, "
        "std from the kriging variance. Regression kriging: the covariates as a linear drift "
        "refitted at every step (universal kriging), the variogram of the least-squares "
        "residuals pooled over steps; its std includes the trend's error. Each method sees only "
        "the observed sites' test records (the baselines do not use the training steps; "
        "vamoh learns its prior from them: vamoh.fit(train, covariates=[the covariates]) with "
        "the default budget, then model.predict(observed, at=sites)); "
        "'seconds' is one call that predicts at the observed and held-out sites together. "
    )
    tables = [
        table(
            "Gap filling: the observed sites' removed test records",
            columns,
            _score_rows(results, GAPS),
            notes=method_notes + unit_note + ". " + _ratio_note(results),
        ),
        table(
            "Prediction at held-out sites (never observed)",
            columns,
            _score_rows(results, HELD_OUT),
            notes="Every test record of the held-out sites, predicted from the observed sites' "
            "test records. " + unit_note + ".",
        ),
        table(
            "RMSE per held-out site",
            ["data", "method", "median", "90th percentile", "worst site", "worst RMSE"],
            _site_rows(results),
            notes="The spread of the sites' own RMSE over the test steps; the maps show where.",
        ),
        table(
            "Choices behind the defaults: variogram and IDW variants",
            [
                "data",
                "method",
                "held-out RMSE",
                "held-out CRPS",
                "gap-filling RMSE",
                "gap-filling CRPS",
            ],
            _variant_rows(results, variants),
            notes="The defaults (first three rows of each data set) against per-step variograms "
            "(PyKrige's automatic fit, six lags, at every step), other variogram models and IDW "
            "over all observed stations.",
        ),
        table(
            "Fitted variograms",
            ["data", "method", "variogram"],
            variogram_rows,
            notes="Pooled over the test steps; ranges in degrees of great circle (PyKrige's "
            "geographic convention) and km.",
        ),
        table(
            "Time to fill every gap of a whole synthetic network",
            ["network", "method", "records filled", "seconds"],
            timing_rows,
            notes="vamoh_climate.station_baselines.fill_station_gaps on "
            "station_network (60% of the records missing), covariates elev and lat for "
            "regression kriging; kriging systems of many steps are solved in batches, one "
            f"factorisation per step for all stations; {n_threads} torch thread(s), one BLAS "
            "thread for the batched solves.",
        ),
    ]
    description = (
        "Gap filling of station records and prediction at never-observed sites: IDW, ordinary "
        "kriging and regression kriging on covariates (vamoh joins as one more method: see "
        "benchmarks/stations_quality.py). | " + " | ".join(split.description for split in splits)
    )
    if not quick and shared_data() is None:
        description += " | ERA5 UK and NCEP skipped: ../shared/data absent."
    return {
        "name": NAME,
        "title": "Stations: gap filling and prediction at unseen sites",
        "description": description,
        "tables": tables,
        "figures": figures,
    }
