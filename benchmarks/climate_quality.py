"""Climate quality on real data: x2 downscaling, gap-filling and reconstruction (issue #8).

Data and honest splits from ``../shared/data/README.md`` (never a training time step in a test):

* ERA5 UK 2 m temperature, crop 32 x 48 (0.25 deg): train 2019-03-01..24 (every hour, 576
  fields, as in ``../shared/reference/learned-vs-linear.md``), test every 6th hour of
  2019-03-25..31 (28 fields).
* NCEP air temperature, crop 24 x 52 (2.5 deg): train 2013 every 4th step (365 fields), test
  2014 every 40th step (37 fields).

Tasks: x2 downscaling from 2 x 2 block means; gap-filling with 50 % random points hidden
(``np.random.default_rng(0).random(shape) < 0.5``, the README's mask) and with the central half of
the grid hidden in each direction (the README's block); the same random draws thresholded at 0.25
and 0.75 for the sweep; reconstruction PSNR of complete held-out fields. Scores: RMSE in the data's
units (K), cos-latitude weighted and pooled over every scored point; CRPS and 90 % interval
coverage of the Gaussian predictive where a method gives one (vamoh, ordinary kriging).

One vamoh model per data set serves every task, trained under a fixed budget
(:data:`VAMOH_BUDGET`). The other modules (``climate_ablations``, ``deepsensor_convnp``) reuse the
splits, masks, scores and training helper defined here, so every method sees the same fields.

Example:
    >>> split = synthetic_split(n_train=4, n_test=2, grid=(4, 8))
    >>> scores = score(split.test, Prediction(split.test + 1.0))
    >>> round(scores["rmse"], 3), scores["crps"] != scores["crps"]  # no std: CRPS is NaN
    (1.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from benchmarks.common import (
    SEED,
    Budget,
    TrainedModel,
    figure_path,
    shared_data,
    table,
    threads,
    timer,
    train_within_budget,
)

NAME = "climate_quality"

DOWNSCALE_FACTOR = 2
RANDOM_FRACTION = 0.5
SWEEP_FRACTIONS = (0.25, 0.5, 0.75)
RANDOM_TASK = "random 50%"
BLOCK_TASK = "central block"
HYBRID_OI = "hybrid-covariance OI"
EOF_POSTERIOR = "EOF posterior"
DINEOF = "DINEOF"
BACKBONE = "optimal interp. (vamoh backbone)"
COIN_PLUS_PLUS_PSNR = 47.05  # quoted: COIN++ (latent 8) on the paper's 46x90 ERA5 set

# Numbers from ../shared/data/README.md, printed beside this run's numbers (never asserted)
README_RMSE: dict[str, dict[str, float]] = {
    "era5_uk": {
        "downscale nearest": 0.457,
        "downscale linear": 0.392,
        "downscale cubic": 0.307,
        "downscale climatology-aware cubic": 0.285,
        "random linear griddata": 0.435,
        "random cubic griddata": 0.361,
        "random cubic on anomalies": 0.338,
        "random ordinary kriging": 0.516,
        "block linear griddata": 1.589,
        "block ordinary kriging": 1.388,
        "downscale hybrid-covariance OI": 0.125,
        "random hybrid-covariance OI": 0.135,
        "block hybrid-covariance OI": 0.637,
    },
    "ncep": {
        "downscale linear": 1.329,
        "downscale cubic": 0.980,
        "downscale climatology-aware cubic": 0.799,
        "random linear griddata": 1.453,
        "random cubic griddata": 1.074,
        "random cubic on anomalies": 0.827,
        "random ordinary kriging": 5.48,
        "block linear griddata": 5.689,
        "downscale hybrid-covariance OI": 0.645,
        "random hybrid-covariance OI": 0.411,
        "block hybrid-covariance OI": 4.695,
    },
}


# Full runs: two models (ERA5 UK, NCEP), each ``vamoh.fit(train)`` with the shipped defaults (the
# machine's default budget, the backbone and whichever learned layers the fit switches on); only
# the seed is fixed. Quick runs use a tiny network and a one-minute cap.
VAMOH_CONFIG: dict[str, Any] = {"seed": SEED}
VAMOH_BUDGET: Budget | None = None
QUICK_CONFIG: dict[str, Any] = dict(
    dim_z=8,
    n_components=2,
    fourier_features=16,
    encoder_centroids=[16, 4],
    encoder_neighbours=[4, 4],
    encoder_channels=[8, 8],
    encoder_weight_net=[8],
    hypernet_layers=[16, 16],
    generator_layers=[16],
    categorical_layers=[8],
    flow_layers=0,
    batch_size=8,
    local_neighbours=4,
    local_dim=8,
    seed=SEED,
)
QUICK_BUDGET = Budget(max_epochs=1, max_minutes=1.0, config=QUICK_CONFIG)


# -- data -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClimateSplit:
    """Training and test fields of one data set (one variable, ``time x lat x lon``).

    Example:
        >>> split = synthetic_split(n_train=4, n_test=2, grid=(4, 8))
        >>> split.variable, split.test.shape, split.climatology.shape
        ('t2m', (2, 4, 8), (4, 8))
    """

    key: str
    label: str
    train: xr.DataArray
    test: xr.DataArray
    description: str

    @property
    def variable(self) -> str:
        return str(self.test.name)

    @property
    def climatology(self) -> xr.DataArray:
        """The training mean: the static detail (coasts, orography) every field shares."""
        return self.train.mean("time", keep_attrs=True)


def era5_uk_split(root: Path) -> ClimateSplit:
    """ERA5 UK t2m: crop 32 x 48, train Mar 1-24 hourly, test every 6th hour of Mar 25-31.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or era5_uk_split(root).test.shape == (28, 32, 48)
        True
    """
    path = Path(root) / "climate" / "era5_t2m_2019-03_uk.nc"
    with xr.open_dataset(path) as ds:
        t2m = ds["t2m"].isel(latitude=slice(0, 32), longitude=slice(0, 48)).load()
    train = t2m.sel(time=slice("2019-03-01", "2019-03-24"))
    test = t2m.sel(time=slice("2019-03-25", "2019-03-31")).isel(time=slice(0, None, 6))
    return ClimateSplit(
        "era5_uk",
        "ERA5 UK",
        train,
        test,
        "ERA5 t2m UK 0.25 deg, crop 32x48; train 2019-03-01..24 hourly "
        f"({train.sizes['time']} fields), test 2019-03-25..31 every 6th hour "
        f"({test.sizes['time']} fields)",
    )


def ncep_split(root: Path) -> ClimateSplit:
    """NCEP air: crop 24 x 52, train 2013 every 4th step, test 2014 every 40th step.

    Example:
        >>> from benchmarks.common import shared_data
        >>> root = shared_data()
        >>> root is None or ncep_split(root).train.shape == (365, 24, 52)
        True
    """
    path = Path(root) / "climate" / "ncep_air_temperature.zarr"
    with xr.open_zarr(path) as ds:
        air = ds["air"].isel(lat=slice(0, 24), lon=slice(0, 52)).load()
    train = air.sel(time="2013").isel(time=slice(0, None, 4))
    test = air.sel(time="2014").isel(time=slice(0, None, 40))
    return ClimateSplit(
        "ncep",
        "NCEP",
        train,
        test,
        "NCEP air 2.5 deg North America, crop 24x52; train 2013 every 4th step "
        f"({train.sizes['time']} fields), test 2014 every 40th step ({test.sizes['time']} fields)",
    )


def synthetic_split(
    n_train: int = 24, n_test: int = 4, grid: tuple[int, int] = (8, 16)
) -> ClimateSplit:
    """Smooth synthetic global fields (``vamoh_climate.synthetic``) for quick runs.

    Example:
        >>> synthetic_split(n_train=3, n_test=1, grid=(4, 8)).train.shape
        (3, 4, 8)
    """
    from vamoh_climate.synthetic import global_field

    train = global_field(n_train, *grid, seed=SEED)["t2m"]
    test = global_field(n_test, *grid, seed=SEED + 1)["t2m"]
    test = test.assign_coords(time=test.time + np.timedelta64(365, "D"))
    return ClimateSplit(
        "synthetic",
        "synthetic",
        train,
        test,
        f"synthetic global fields {grid[0]}x{grid[1]} (vamoh_climate.synthetic, seeds "
        f"{SEED}/{SEED + 1}): {n_train} train, {n_test} test",
    )


def load_splits(quick: bool, keys: Sequence[str] = ("era5_uk", "ncep")) -> list[ClimateSplit]:
    """The splits a run uses: synthetic in quick runs, else the real data that is present.

    Example:
        >>> [s.key for s in load_splits(quick=True)]
        ['synthetic']
    """
    if quick:
        return [synthetic_split(n_train=8, n_test=2)]
    root = shared_data()
    if root is None:
        return []
    loaders = {"era5_uk": era5_uk_split, "ncep": ncep_split}
    return [loaders[key](root) for key in keys]


def missing_data_table(title: str, columns: Sequence[str]) -> dict[str, Any]:
    """The table a full run shows when ``../shared/data`` is absent.

    Example:
        >>> missing_data_table("t", ["a", "b"])["rows"]
        [['skipped: ../shared/data absent', '']]
    """
    row = ["skipped: ../shared/data absent"] + [""] * (len(columns) - 1)
    return table(title, columns, [row], notes="The real data live outside the repository.")


def skipped_result(name: str, title: str, columns: Sequence[str]) -> dict[str, Any]:
    """A benchmark's whole result when ``../shared/data`` is absent: one skipped table.

    Example:
        >>> skipped_result("b", "t", ["a"])["description"]
        'Skipped: ../shared/data absent.'
    """
    return {
        "name": name,
        "title": title,
        "description": "Skipped: ../shared/data absent.",
        "tables": [missing_data_table(title, columns)],
        "figures": [],
    }


# -- masks ------------------------------------------------------------------------------------
def random_mask(shape: tuple[int, ...], fraction: float, seed: int = SEED) -> np.ndarray:
    """True where a point is hidden: ``default_rng(seed).random(shape) < fraction``.

    The same draws serve every fraction, so a larger fraction hides a superset of points.

    Example:
        >>> small, large = random_mask((4, 5), 0.25), random_mask((4, 5), 0.75)
        >>> bool((large | ~small).all())
        True
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the missing fraction must be in (0, 1); got {fraction}.")
    return np.random.default_rng(seed).random(shape) < fraction


def block_mask(shape: tuple[int, ...]) -> np.ndarray:
    """True on the central half of the grid in each direction (the README's missing block).

    Example:
        >>> block_mask((1, 4, 8))[0].astype(int).tolist()[1]
        [0, 0, 1, 1, 1, 1, 0, 0]
    """
    mask = np.zeros(shape, dtype=bool)
    n_lat, n_lon = shape[-2:]
    mask[..., n_lat // 4 : n_lat // 4 + n_lat // 2, n_lon // 4 : n_lon // 4 + n_lon // 2] = True
    return mask


def gap_tasks(test: xr.DataArray) -> dict[str, np.ndarray]:
    """The two gap-filling tasks' masks for ``test`` (True = hidden and scored).

    Example:
        >>> split = synthetic_split(n_train=2, n_test=2, grid=(4, 8))
        >>> {k: round(float(v.mean()), 2) for k, v in gap_tasks(split.test).items()}
        {'random 50%': 0.48, 'central block': 0.25}
    """
    return {
        RANDOM_TASK: random_mask(test.shape, RANDOM_FRACTION),
        BLOCK_TASK: block_mask(test.shape),
    }


# -- scores -----------------------------------------------------------------------------------
@dataclass
class Prediction:
    """A method's answer on the truth's grid: the mean and, when it has one, the std.

    Example:
        >>> import xarray as xr
        >>> Prediction(xr.DataArray([1.0])).std is None
        True
    """

    mean: xr.DataArray
    std: xr.DataArray | None = None


def on_grid(prediction: xr.DataArray, truth: xr.DataArray) -> xr.DataArray:
    """``prediction`` with ``truth``'s coordinates, after checking they are the same points.

    Refined grids are computed in floating point; this stops 1e-6 deg differences from making
    xarray align nothing with nothing.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([1.0, 2.0], dims="lat", coords={"lat": [50.0, 51.0]})
        >>> shifted = truth.assign_coords(lat=[50.0 + 1e-7, 51.0])
        >>> float(on_grid(shifted, truth).lat[0])
        50.0
    """
    prediction = prediction.transpose(*truth.dims)
    if prediction.shape != truth.shape:
        raise ValueError(f"prediction {prediction.shape} does not match truth {truth.shape}.")
    for dim in truth.dims:
        if dim not in truth.coords or dim not in prediction.coords:
            continue
        ours, theirs = prediction[dim].values, truth[dim].values
        if np.issubdtype(theirs.dtype, np.number) and not np.allclose(
            ours.astype(np.float64), theirs.astype(np.float64), atol=1e-4
        ):
            raise ValueError(f"prediction's {dim} differs from the truth's: not the same grid.")
    return prediction.assign_coords({dim: truth[dim] for dim in truth.dims if dim in truth.coords})


def score(
    truth: xr.DataArray, prediction: Prediction, mask: np.ndarray | None = None
) -> dict[str, float]:
    """Area-weighted RMSE, CRPS and 90 % coverage of ``prediction`` where ``mask`` (default all).

    CRPS and coverage are NaN for a method without a predictive std.

    Example:
        >>> split = synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> std = split.test * 0 + 1.0
        >>> round(score(split.test, Prediction(split.test, std))["crps"], 4)
        0.2337
    """
    from vamoh_climate import metrics

    mean = on_grid(prediction.mean, truth)
    out = {"rmse": float(metrics.rmse(truth, mean, mask=mask))}
    if prediction.std is None:
        out["crps"] = out["coverage90"] = math.nan
        return out
    std = on_grid(prediction.std, truth)
    out["crps"] = float(metrics.crps(truth, mean, std, mask=mask))
    out["coverage90"] = float(metrics.coverage(truth, mean, std, mask=mask))
    return out


# -- baselines --------------------------------------------------------------------------------
def downscale_baselines(split: ClimateSplit) -> dict[str, Prediction]:
    """Nearest, linear, cubic (``scipy.ndimage.zoom``) and climatology-aware cubic, x2.

    Example:
        >>> sorted(downscale_baselines(synthetic_split(n_train=2, n_test=1, grid=(4, 8))))
        ['climatology-aware cubic', 'cubic', 'linear', 'nearest']
    """
    from vamoh_climate import baselines

    coarse = baselines.block_mean(split.test, DOWNSCALE_FACTOR)
    out = {
        method: Prediction(baselines.downscale(coarse, DOWNSCALE_FACTOR, method))
        for method in ("nearest", "linear", "cubic")
    }
    out["climatology-aware cubic"] = Prediction(
        baselines.downscale_climatology(coarse, split.climatology, DOWNSCALE_FACTOR)
    )
    return out


def kriging(gappy: xr.DataArray, variogram_model: str = "spherical") -> Prediction:
    """Ordinary kriging of each field's gaps (PyKrige, geographic), with the kriging std.

    ``vamoh_climate.baselines.fill_gaps_kriging`` with its kriging std, so CRPS and coverage
    can be scored. Observed points keep their value and a std of 0.

    Example:
        >>> import numpy as np, xarray as xr
        >>> lat, lon = np.linspace(50, 58, 5), np.linspace(-10, 2, 6)
        >>> truth = xr.DataArray(np.add.outer(lat, 0.5 * lon)[None], name="t",
        ...     dims=("time", "lat", "lon"), coords={"time": [0], "lat": lat, "lon": lon})
        >>> result = kriging(truth.where(truth != truth[0, 2, 3]))
        >>> bool(abs(float(result.mean[0, 2, 3] - truth[0, 2, 3])) < 0.5)
        True
        >>> float(result.std[0, 0, 0]), float(result.std[0, 2, 3]) > 0
        (0.0, True)
    """
    from vamoh_climate import baselines

    result = baselines.fill_gaps_kriging(gappy, variogram_model, with_std=True)
    return Prediction(result[gappy.name], result[f"{gappy.name}_std"])


def gap_baselines(
    split: ClimateSplit, mask: np.ndarray, *, with_kriging: bool = True
) -> dict[str, Prediction]:
    """Linear and cubic ``griddata``, cubic on anomalies from the training mean, kriging.

    Example:
        >>> split = synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> sorted(gap_baselines(split, block_mask(split.test.shape), with_kriging=False))
        ['cubic griddata', 'cubic on anomalies', 'linear griddata']
    """
    from vamoh_climate import baselines

    gappy = split.test.where(~mask)
    out = {
        "linear griddata": Prediction(baselines.fill_gaps(gappy, "linear")),
        "cubic griddata": Prediction(baselines.fill_gaps(gappy, "cubic")),
        "cubic on anomalies": Prediction(baselines.fill_gaps_climatology(gappy, split.climatology)),
    }
    if with_kriging:
        out["ordinary kriging"] = kriging(gappy)
    return out


@dataclass
class LinearBaselines:
    """The linear-Gaussian bars learned from the training fields, fitted once per data set.

    The hybrid-covariance posterior (dense optimal interpolation, the issue's reference), the
    EOF posterior (both :class:`vamoh_climate.linear_posteriors.LinearPosterior`) and DINEOF.

    Example:
        >>> split = synthetic_split(n_train=24, n_test=2, grid=(4, 8))
        >>> linear = LinearBaselines.fit(split)
        >>> sorted(linear.downscale(split)), sorted(linear.fill(split, block_mask((2, 4, 8)), "block"))
        (['EOF posterior', 'hybrid-covariance OI'], ['DINEOF', 'EOF posterior', 'hybrid-covariance OI'])
    """

    posteriors: dict[str, Any]
    seconds: float = 0.0

    @classmethod
    def fit(cls, split: ClimateSplit) -> LinearBaselines:
        from vamoh_climate.linear_posteriors import LinearPosterior

        with timer() as spent:
            posteriors = {
                HYBRID_OI: LinearPosterior.fit(split.train, kind="hybrid"),
                EOF_POSTERIOR: LinearPosterior.fit(split.train, kind="eof"),
            }
        return cls(posteriors, spent.seconds)

    def downscale(self, split: ClimateSplit) -> dict[str, Prediction]:
        from vamoh_climate import baselines

        coarse = baselines.block_mean(split.test, DOWNSCALE_FACTOR)
        out = {}
        for name, posterior in self.posteriors.items():
            with timer() as spent:
                fine = posterior.downscale(coarse, like=split.test)
            self.seconds += spent.seconds
            out[name] = _from_dataset(fine, split.variable)
        return out

    def fill(self, split: ClimateSplit, mask: np.ndarray, kind: str) -> dict[str, Prediction]:
        from vamoh_climate.linear_posteriors import dineof

        gappy = split.test.where(~mask)
        out = {}
        with timer() as spent:
            for name, posterior in self.posteriors.items():
                out[name] = _from_dataset(posterior.fill_gaps(gappy, task=kind), split.variable)
            out[DINEOF] = Prediction(dineof(gappy, split.train))
        self.seconds += spent.seconds
        return out


# -- vamoh ------------------------------------------------------------------------------------
def train_vamoh(
    split: ClimateSplit, budget: Budget | None, overrides: dict[str, Any] | None = None
) -> TrainedModel:
    """``vamoh.fit`` on the training fields within ``budget`` (config overrides win).

    ``budget=None`` is the shipped default: ``vamoh.fit(train, config={"seed": 0})``, so the
    machine's default budget and every default choice of the fit.

    Example:
        >>> split = synthetic_split(n_train=8, n_test=1, grid=(4, 8))
        >>> trained = train_vamoh(split, QUICK_BUDGET)
        >>> trained.epochs, trained.model.config.conditioning
        (1, 'backbone')
        >>> vamoh_downscale(trained.model, split).std.shape
        (1, 4, 8)
    """
    if budget is not None:
        return train_within_budget(split.train, budget, overrides, base=VAMOH_CONFIG)
    import warnings

    import vamoh

    with timer() as elapsed, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = vamoh.fit(split.train, config={**VAMOH_CONFIG, **(overrides or {})}, progress=False)
    return TrainedModel(model, elapsed.seconds, int(model.info.get("epochs", 0)))


def _from_dataset(result: xr.Dataset, variable: str) -> Prediction:
    return Prediction(result[variable], result[f"{variable}_std"])


def vamoh_downscale(model: Any, split: ClimateSplit) -> Prediction:
    """x2 downscaling of the test fields' block means with one trained model.

    Example (with a stand-in for a trained model; :func:`train_vamoh` shows a real one):
        >>> from types import SimpleNamespace
        >>> split = synthetic_split(n_train=1, n_test=1, grid=(4, 8))
        >>> def downscale(coarse, factor):
        ...     fine = split.test.to_dataset()
        ...     return fine.assign(t2m_std=fine["t2m"] * 0 + 1.0)
        >>> vamoh_downscale(SimpleNamespace(downscale=downscale), split).mean.shape
        (1, 4, 8)
    """
    from vamoh_climate import baselines

    coarse = baselines.block_mean(split.test, DOWNSCALE_FACTOR)
    return _from_dataset(model.downscale(coarse, factor=DOWNSCALE_FACTOR), split.variable)


def vamoh_fill(model: Any, split: ClimateSplit, mask: np.ndarray) -> Prediction:
    """Gap-filling of the test fields with ``mask`` hidden (observed points are kept).

    Example (with a stand-in for a trained model that fills gaps with 280 K):
        >>> from types import SimpleNamespace
        >>> split = synthetic_split(n_train=1, n_test=1, grid=(4, 8))
        >>> def impute(gappy):
        ...     return xr.Dataset({"t2m": gappy.fillna(280.0), "t2m_std": gappy * 0 + 1.0})
        >>> filled = vamoh_fill(SimpleNamespace(impute=impute), split, block_mask((1, 4, 8)))
        >>> float(filled.mean[0, 2, 3])
        280.0
    """
    return _from_dataset(model.impute(split.test.where(~mask)), split.variable)


def psnr_scores(truth: xr.DataArray, prediction: xr.DataArray) -> tuple[float, float]:
    """(mean per-field PSNR in dB, pooled RMSE) on the paper's [0, 1] temperature scaling.

    The paper normalises ERA5 t2m with 202.66 .. 320.93 K and averages an unweighted per-field
    PSNR over the test fields, as COIN++ reports it.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([[280.0, 290.0]], dims=("time", "lat"),
        ...                      coords={"lat": [0.0, 10.0]}, name="t2m", attrs={"units": "K"})
        >>> [round(v, 3) for v in psnr_scores(truth, truth + 1.1827)]
        [40.0, 1.183]
    """
    from vamoh_climate import metrics

    spatial = [d for d in truth.dims if d != "time"]
    prediction = on_grid(prediction, truth)
    per_field = metrics.psnr(truth, prediction, dim=spatial, area_weighted=False)
    pooled = metrics.rmse(truth, prediction, area_weighted=False)
    return float(per_field.mean()), float(pooled)


# -- figures ----------------------------------------------------------------------------------
def plot_sweep(sweep: dict[str, dict[str, list[float]]], path: Path) -> Path:
    """RMSE against the missing fraction, one panel per data set.

    ``sweep[dataset][method]`` holds one RMSE per entry of :data:`SWEEP_FRACTIONS`.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> target = Path(tempfile.mkdtemp()) / "s.png"
        >>> plot_sweep({"d": {"m": [1.0, 2.0, 3.0]}}, target).is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweep), figsize=(5.0 * len(sweep), 3.8), squeeze=False)
    for ax, (label, methods) in zip(axes[0], sweep.items()):
        for method, values in methods.items():
            style = "-o" if method.startswith("vamoh") else "--s"
            ax.plot([100 * f for f in SWEEP_FRACTIONS], values, style, label=method)
        ax.set_title(f"{label}: random missing points")
        ax.set_xlabel("missing points (%)")
        ax.set_ylabel("RMSE on hidden points (K)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_coverage(rows: list[list[Any]], path: Path) -> Path:
    """90 % coverage of every method with a predictive std, per data set and task.

    ``rows`` are the tables' rows: data, task, method, RMSE, CRPS, coverage.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> rows = [["d", "t", "m", 1.0, 0.5, 0.9], ["d", "t", "n", 1.0, float("nan"), float("nan")]]
        >>> plot_coverage(rows, Path(tempfile.mkdtemp()) / "c.png").is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = [row for row in rows if math.isfinite(row[5])]
    groups = list(dict.fromkeys(f"{row[0]}\n{row[1]}" for row in kept))
    methods = list(dict.fromkeys(row[2] for row in kept))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups)), 4.0))
    width = 0.8 / max(1, len(methods))
    for index, method in enumerate(methods):
        for row in kept:
            if row[2] == method:
                where = groups.index(f"{row[0]}\n{row[1]}") + (index - len(methods) / 2) * width
                ax.bar(
                    where + width / 2,
                    row[5],
                    width,
                    color=f"C{index}",
                    label=method
                    if where
                    == min(
                        groups.index(f"{r[0]}\n{r[1]}") + (index - len(methods) / 2) * width
                        for r in kept
                        if r[2] == method
                    )
                    else None,
                )
    ax.axhspan(0.85, 0.95, color="green", alpha=0.12, label="goal [0.85, 0.95]")
    ax.axhline(0.9, color="k", lw=0.8)
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylim(0.4, 1.02)
    ax.set_ylabel("90% interval coverage")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_map(truth: xr.DataArray, prediction: Prediction, title: str, path: Path) -> Path:
    """Truth, vamoh's gap-filled field, their difference and its std for one test field.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> split = synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> target = Path(tempfile.mkdtemp()) / "m.png"
        >>> pred = Prediction(split.test + 0.1, split.test * 0 + 0.2)
        >>> plot_map(split.test.isel(time=0), pred, "t", target).is_file()
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vamoh_climate.plot import plot_comparison

    when = truth.time.values if "time" in truth.coords else None
    select: Callable[[xr.DataArray], xr.DataArray] = (
        (lambda da: da.sel(time=when))
        if when is not None and "time" in prediction.mean.dims
        else (lambda da: da)
    )
    mean = on_grid(select(prediction.mean), truth)
    std = on_grid(select(prediction.std), truth) if prediction.std is not None else None
    fig = plot_comparison(truth, mean, std=std, title=title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# -- the benchmark ----------------------------------------------------------------------------
def _row(dataset: str, task: str, method: str, scores: dict[str, float]) -> list[Any]:
    return [dataset, task, method, scores["rmse"], scores["crps"], scores["coverage90"]]


def _readme_note(key: str, measured: dict[str, float]) -> str:
    quoted = README_RMSE.get(key, {})
    pairs = [
        f"{name}: {measured[name]:.3f} (README {value:.3f})"
        for name, value in quoted.items()
        if name in measured
    ]
    return "; ".join(pairs)


def config_summary(model: Any) -> str:
    """The settings of a trained model that the tables report.

    Example:
        >>> from types import SimpleNamespace
        >>> from vamoh.config import VaMoHConfig
        >>> config_summary(SimpleNamespace(config=VaMoHConfig()))[:30]
        'conditioning=backbone, K=3, di'
    """
    cfg = model.config
    return (
        f"conditioning={cfg.conditioning}, K={cfg.n_components}, dim_z={cfg.dim_z}, "
        f"flow_layers={cfg.flow_layers}, point_dropout={cfg.point_dropout}, "
        f"encoder={cfg.encoder_centroids}, batch={cfg.batch_size}, lr={cfg.lr}"
    )


@dataclass
class SplitResult:
    """Everything one data set contributes to the tables and figures.

    Example:
        >>> SplitResult(budget=["ERA5 UK", 576, 300, 60.0, "backbone", "...", "..."]).downscaling
        []
    """

    budget: list[Any]
    downscaling: list[list[Any]] = field(default_factory=list)
    gap_filling: list[list[Any]] = field(default_factory=list)
    sweep: list[list[Any]] = field(default_factory=list)
    psnr: list[list[Any]] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    figure: str | None = None
    baseline_seconds: float = 0.0


def _layers_on(model: Any) -> str:
    layers = model.info.get("layers", {})
    on = [name for name, d in layers.items() if isinstance(d, dict) and d.get("on")]
    return "+".join(["backbone", *on]) if model.config.conditioning == "backbone" else "network"


def evaluate_split(
    split: ClimateSplit, budget: Budget | None, out_dir: Path, *, draw_map: bool
) -> SplitResult:
    """Train vamoh on one data set and score it and the baselines on every task.

    Example:
        >>> import tempfile
        >>> split = synthetic_split(n_train=24, n_test=1, grid=(4, 8))
        >>> result = evaluate_split(split, QUICK_BUDGET, Path(tempfile.mkdtemp()), draw_map=False)
        >>> [row[2] for row in result.downscaling][4:]
        ['hybrid-covariance OI', 'EOF posterior', 'vamoh', 'optimal interp. (vamoh backbone)']
    """
    trained = train_vamoh(split, budget)
    model = trained.model
    backbone = model.backbone_only()
    result = SplitResult(
        budget=[
            split.label,
            split.train.sizes["time"],
            model.info.get("steps"),
            trained.seconds,
            _layers_on(model),
            model.info.get("plan", ""),
            config_summary(model),
        ]
    )
    with timer() as spent:
        downs = downscale_baselines(split)
    result.baseline_seconds += spent.seconds
    linear = LinearBaselines.fit(split)
    downs.update(linear.downscale(split))
    downs["vamoh"] = vamoh_downscale(model, split)
    if backbone is not None:
        downs[BACKBONE] = vamoh_downscale(backbone, split)
    for method, prediction in downs.items():
        scores = score(split.test, prediction)
        result.measured[f"downscale {method}"] = scores["rmse"]
        result.downscaling.append(_row(split.label, "x2 downscaling", method, scores))

    for task, mask in gap_tasks(split.test).items():
        with timer() as spent:
            fills = gap_baselines(split, mask)
        result.baseline_seconds += spent.seconds
        fills.update(linear.fill(split, mask, "gaps" if task == RANDOM_TASK else "block"))
        fills["vamoh"] = vamoh_fill(model, split, mask)
        if backbone is not None:
            fills[BACKBONE] = vamoh_fill(backbone, split, mask)
        prefix = "random" if task == RANDOM_TASK else "block"
        for method, prediction in fills.items():
            scores = score(split.test, prediction, mask)
            result.measured[f"{prefix} {method}"] = scores["rmse"]
            result.gap_filling.append(_row(split.label, task, method, scores))
        if task == RANDOM_TASK and draw_map:
            first = split.test.isel(time=0)
            path = figure_path(out_dir, f"climate_gapfill_map_{split.key}.png")
            when = first.time.dt.strftime("%Y-%m-%d %H:%M").item()
            title = f"{split.label}, {when}: vamoh gap-filling, {task} hidden"
            plot_map(first, fills["vamoh"], title, path)
            result.figure = path.relative_to(out_dir).as_posix()
    result.baseline_seconds += linear.seconds

    for fraction in SWEEP_FRACTIONS:
        mask = random_mask(split.test.shape, fraction)
        fills = gap_baselines(split, mask, with_kriging=False)
        fills["vamoh"] = vamoh_fill(model, split, mask)
        if backbone is not None:
            fills[BACKBONE] = vamoh_fill(backbone, split, mask)
        for method, prediction in fills.items():
            rmse = score(split.test, prediction, mask)["rmse"]
            result.curves.setdefault(method, []).append(rmse)
            result.sweep.append([split.label, fraction, method, rmse])

    reconstruction = model.reconstruct(split.test)[split.variable]
    result.psnr.append(
        [split.label, "vamoh reconstruction", *psnr_scores(split.test, reconstruction)]
    )
    climatology = split.climatology.broadcast_like(split.test).transpose(*split.test.dims)
    result.psnr.append(
        [split.label, "training mean (no conditioning)", *psnr_scores(split.test, climatology)]
    )
    return result


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Every table and figure of the climate quality benchmark (see the module docstring).

    ``python -m benchmarks run --only climate_quality`` runs it (``--quick`` for a smoke run).

    Example:
        >>> NAME, SWEEP_FRACTIONS
        ('climate_quality', (0.25, 0.5, 0.75))
    """
    n_threads = threads(quick)
    budget = QUICK_BUDGET if quick else VAMOH_BUDGET
    splits = load_splits(quick)
    down_cols = ["data", "task", "method", "RMSE (K)", "CRPS (K)", "90% coverage"]
    sweep_cols = ["data", "missing fraction", "method", "RMSE (K)"]
    psnr_cols = ["data", "method", "PSNR (dB)", "RMSE (K, unweighted)"]
    budget_cols = [
        "data",
        "train fields",
        "steps",
        "fit wall (s)",
        "layers",
        "plan",
        "config",
    ]
    how = (
        f"at most {budget.max_epochs} epochs and {budget.max_minutes:g} min"
        if budget is not None
        else "vamoh.fit(train) with the shipped defaults (seed 0; the machine's default budget)"
    )
    description = (
        "x2 downscaling and gap-filling of held-out fields, vamoh (and its backbone alone) against "
        "the linear-Gaussian bars learned from the same training fields (hybrid-covariance "
        "optimal interpolation, EOF posterior, DINEOF), interpolation, climatology-aware "
        "interpolation and ordinary kriging; RMSE cos-latitude weighted, pooled over scored "
        "points; masks from np.random.default_rng(0) (seed 0). "
        f"vamoh per data set: {how}, {n_threads} torch thread(s). "
    )
    if not splits:
        return {
            "name": NAME,
            "title": "Climate quality: downscaling, gap-filling, reconstruction",
            "description": description + "Skipped: ../shared/data absent.",
            "tables": [
                missing_data_table("x2 downscaling from 2x2 block means", down_cols),
                missing_data_table("Gap-filling", down_cols),
            ],
            "figures": [],
        }
    description += " | ".join(split.description for split in splits)

    results = [
        evaluate_split(split, budget, out_dir, draw_map=index == 0)
        for index, split in enumerate(splits)
    ]
    down_rows = [row for result in results for row in result.downscaling]
    gap_rows = [row for result in results for row in result.gap_filling]
    sweep_rows = [row for result in results for row in result.sweep]
    psnr_rows = [row for result in results for row in result.psnr]
    budget_rows = [result.budget for result in results]
    readme_notes = [
        f"{split.label}: {note}"
        for split, result in zip(splits, results)
        if (note := _readme_note(split.key, result.measured))
    ]
    sweep = {split.label: result.curves for split, result in zip(splits, results)}
    figures = [result.figure for result in results if result.figure]
    baseline_seconds = sum(result.baseline_seconds for result in results)

    sweep_path = figure_path(out_dir, "climate_rmse_vs_missing_fraction.png")
    figures.insert(0, plot_sweep(sweep, sweep_path).relative_to(out_dir).as_posix())
    coverage_path = figure_path(out_dir, "climate_coverage.png")
    figures.insert(
        0, plot_coverage(down_rows + gap_rows, coverage_path).relative_to(out_dir).as_posix()
    )
    readme = (
        " Baselines against the README's numbers (measured here, README quoted in brackets) - "
        + " | ".join(readme_notes)
        + "."
        if readme_notes
        else ""
    )
    honesty = (
        " Where vamoh's RMSE is above a baseline's, vamoh loses that task; the honest bar is "
        "the hybrid-covariance posterior (dense optimal interpolation with the training "
        "anomalies' covariance shrunk toward a squared-exponential kernel, settings chosen per "
        "task on the last 10% of training), not interpolation. 'optimal interp. (vamoh "
        "backbone)' is the fitted model with every learned layer off. EOF posterior: rank-k "
        "truncation of the same covariance plus white noise; DINEOF: iterative truncated SVD of "
        "the training and test fields, rank by cross-validation (no std, gaps only)."
    )
    tables = [
        table(
            "x2 downscaling from 2x2 block means",
            down_cols,
            down_rows,
            notes="Coarse fields are 2x2 block means of the test fields; scored on every fine "
            "point. nearest/linear/cubic: scipy.ndimage.zoom (order 0/1/3, grid_mode, mode "
            "'nearest'); climatology-aware: cubic + (training mean - cubic of its block means). "
            "CRPS/coverage only where a method gives a predictive std." + honesty + readme,
        ),
        table(
            "Gap-filling: 50% random points and a central block hidden",
            down_cols,
            gap_rows,
            notes="random 50%: np.random.default_rng(0).random(shape) < 0.5 over (time, lat, "
            "lon); central block: the central half of the grid in each direction (25% of the "
            "points; the README's block). Scored on hidden points only. griddata in index space, "
            "nearest outside the hull; cubic on anomalies: cubic griddata of the anomalies from "
            "the training mean; ordinary kriging: PyKrige, spherical variogram, geographic "
            "coordinates, one variogram per field, std from the kriging variance. ConvNP has its "
            "own module (deepsensor_convnp), on the same masks." + honesty,
        ),
        table(
            "Gap-filling RMSE against the missing fraction",
            sweep_cols,
            sweep_rows,
            notes="The same random draws thresholded at each fraction (a larger fraction hides "
            "a superset). Kriging is left out of the sweep to keep the module's time (it is in "
            "the table above at 50%).",
        ),
        table(
            "Reconstruction PSNR of complete held-out fields",
            psnr_cols,
            psnr_rows,
            notes="Paper normalisation: temperatures scaled to [0, 1] with 202.66 .. 320.93 K, "
            "PSNR per field (unweighted grid mean), averaged over the test fields. Quoted "
            f"reference, not measured here and on different data: COIN++ reports "
            f"{COIN_PLUS_PLUS_PSNR} dB (latent 8) on the paper's global 46x90 ERA5 set; these "
            "fields are regional crops of other data and periods, so the numbers are not "
            "comparable one to one. The training-mean row is a floor that ignores the "
            "observations. Caution: a model with the backbone conditions on every point of "
            "the complete field, so its reconstruction PSNR says little about the latent; "
            "COIN++ and the paper reconstruct through a compressed latent (conditioning "
            "'global' in climate_ablations).",
        ),
        table(
            "vamoh training budget",
            budget_cols,
            budget_rows,
            notes=f"One model per data set serves every task above: {how}, {n_threads} torch "
            "thread(s); 10% of the training fields (the last, as a block) validate. 'layers' "
            "are the parts its conditional predictions use (the backbone and the learned "
            "layers the fit kept on); 'fit wall' includes the backbone search, the learned "
            "layers, training and the validation report. Baselines (linear posteriors "
            f"included) took {baseline_seconds:.0f} s in all.",
        ),
    ]
    return {
        "name": NAME,
        "title": "Climate quality: downscaling, gap-filling, reconstruction",
        "description": description,
        "tables": tables,
        "figures": figures,
    }
