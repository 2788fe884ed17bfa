"""The honesty report of a climate fit: does the learned model beat the classical baselines?

After training, ``vamoh.fit`` asks the modality for a validation report and prints it. For climate
data it scores two tasks on the same held-out (validation) samples, in the data's units,
area-weighted (cos latitude):

* ``downscaling x2`` (grids only): each field is block-averaged 2 x 2, then brought back to its
  own grid by the model, by cubic interpolation and by the climatology-aware cubic (cubic plus
  the detail of the training mean that block averaging removes);
* ``gap filling 50%``: a random half of each field's points is hidden (seed 0) and filled by the
  model, by cubic ``griddata`` and by the climatology-aware cubic (cubic on the anomalies from
  the training mean). Station data use inverse-distance weighting on the sphere instead of cubic.

The climatology-aware rows are the honest bar: a model that only learned the static detail
(coasts, orography) of the training period gets there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from vamoh.pointset import PointSet
from vamoh_climate import baselines
from vamoh_climate.climatology import mean_field
from vamoh_climate.grid import Geometry
from vamoh_climate.layout import ClimateLayout
from vamoh_climate.linear_posteriors import LinearPosterior, dineof
from vamoh_climate.metrics import rmse
from vamoh_climate.modality import ClimateModality

__all__ = [
    "DINEOF",
    "EOF_POSTERIOR",
    "MAX_LINEAR_POINTS",
    "MAX_REPORT_VALUES",
    "OPTIMAL_INTERPOLATION",
    "validation_report",
]

OPTIMAL_INTERPOLATION = "optimal interp."  # the backbone alone: what the learned layers add to
EOF_POSTERIOR = "EOF posterior"
DINEOF = "DINEOF"
MAX_LINEAR_POINTS = 5000  # the EOF posterior and DINEOF are dense: grids up to this many points
_MIN_LINEAR_FIELDS = 8
# the latest training fields the EOF posterior and DINEOF learn from, DINEOF's candidate ranks
# and iterations: enough for the report's comparison, seconds on a grid of a few thousand points
_LINEAR_FIELDS = 200
_DINEOF_RANKS = (1, 2, 4, 8, 16)
_DINEOF_ITERATIONS = 20
MAX_REPORT_VALUES = 250_000  # samples x points scored: keeps the report to seconds
_SEED = 0


def _subset(points: PointSet) -> np.ndarray:
    """The first samples, as many as keep the report fast (at least one)."""
    count = max(1, min(points.n_samples, MAX_REPORT_VALUES // max(points.n_points, 1)))
    return np.arange(count)


def _spatial_only(ds: xr.Dataset, geometry: Geometry) -> xr.Dataset:
    """One field: the first index of every non-spatial dim (the mean field has one sample)."""
    extra = {d: 0 for d in ds.dims if d not in geometry.dims}
    return ds.isel(extra, drop=True) if extra else ds


def _relabel(ds: xr.Dataset, like: xr.Dataset, geometry: Geometry) -> xr.Dataset:
    """``ds`` with ``like``'s lat/lon labels (same shape): baselines in index space may label a
    grid that touches a pole slightly differently from the truth."""
    return ds.assign_coords(
        {name: like[name].variable for name in (geometry.lat_name, geometry.lon_name)}
    )


def _score(
    truth: xr.Dataset, predictions: dict[str, xr.Dataset], variable: str, mask: Any
) -> dict[str, float]:
    return {
        method: float(rmse(truth[variable], prediction[variable], mask=mask))
        for method, prediction in predictions.items()
        if variable in prediction
    }


class _LinearBars:
    """The EOF posterior and DINEOF learned from the training fields, per variable (grids of at
    most :data:`MAX_LINEAR_POINTS` complete points and :data:`_MIN_LINEAR_FIELDS` fields)."""

    def __init__(self, modality: Any, train: PointSet, geometry: Geometry) -> None:
        self.fields: dict[str, xr.DataArray] = {}
        self._posteriors: dict[tuple[str, tuple[int, ...]], LinearPosterior | None] = {}
        usable = (
            geometry.kind == "grid"
            and train.n_points <= MAX_LINEAR_POINTS
            and train.n_samples >= _MIN_LINEAR_FIELDS
        )
        if not usable:
            return
        ds = modality.from_points(train)
        for name, field in ds.data_vars.items():
            if field.ndim == 3 and field.dims[1:] == geometry.dims and bool(field.notnull().all()):
                self.fields[str(name)] = field.isel({field.dims[0]: slice(-_LINEAR_FIELDS, None)})

    def _posterior(self, name: str, lat: int, lon: int) -> LinearPosterior | None:
        key = (name, (lat, lon))
        if key not in self._posteriors:
            field = self.fields[name].isel(
                {self.fields[name].dims[1]: slice(0, lat), self.fields[name].dims[2]: slice(0, lon)}
            )
            try:
                self._posteriors[key] = LinearPosterior.fit(
                    field, kind="eof", tasks=("gaps", "downscale")
                )
            except ValueError:
                self._posteriors[key] = None
        return self._posteriors[key]

    def downscale(self, coarse: xr.Dataset, fine: xr.Dataset) -> dict[str, xr.Dataset]:
        try:
            return self._downscale(coarse, fine)
        except ValueError:  # a grid or record the dense baselines cannot take: leave them out
            return {}

    def fill(self, gappy: xr.Dataset) -> dict[str, xr.Dataset]:
        try:
            return self._fill(gappy)
        except ValueError:
            return {}

    def _downscale(self, coarse: xr.Dataset, fine: xr.Dataset) -> dict[str, xr.Dataset]:
        parts = []
        for name in self.fields:
            if name in coarse and coarse[name].ndim == 3:
                posterior = self._posterior(name, *fine[name].shape[1:])
                if posterior is not None:
                    parts.append(posterior.downscale(coarse[name], like=fine[name])[[name]])
        return {EOF_POSTERIOR: xr.merge(parts)} if parts else {}

    def _fill(self, gappy: xr.Dataset) -> dict[str, xr.Dataset]:
        eof, filled = [], []
        for name in self.fields:
            if name in gappy and gappy[name].ndim == 3:
                posterior = self._posterior(name, *gappy[name].shape[1:])
                if posterior is not None:
                    eof.append(posterior.fill_gaps(gappy[name])[[name]])
                recent = self.fields[name]
                values = dineof(
                    gappy[name].transpose(*recent.dims),
                    recent,
                    ranks=_DINEOF_RANKS,
                    max_iterations=_DINEOF_ITERATIONS,
                )
                filled.append(values.to_dataset(name=name))
        out = {}
        if eof:
            out[EOF_POSTERIOR] = xr.merge(eof)
        if filled:
            out[DINEOF] = xr.merge(filled)
        return out


def _downscaling(
    model: Any,
    modality: Any,
    val: PointSet,
    climatology: np.ndarray,
    geometry: Geometry,
    linear: _LinearBars | None = None,
) -> dict[str, dict[str, float]]:
    values = val.samples(slice(None), dtype=np.float64)
    complete = np.isfinite(values).all(axis=(1, 2))  # block means need complete fields
    if not complete.any():
        return {}
    truth = modality.from_points(val.with_values(values[complete]))
    clim = _spatial_only(modality.from_points(val.with_values(climatology[None])), geometry)
    lat_dim, lon_dim = geometry.dims
    rows, cols = truth.sizes[lat_dim] // 2 * 2, truth.sizes[lon_dim] // 2 * 2
    if rows < 4 or cols < 4:
        return {}  # a coarse grid needs at least 2 x 2 cells to interpolate
    crop = {lat_dim: slice(0, rows), lon_dim: slice(0, cols)}
    fine, clim = truth.isel(crop), clim.isel(crop)
    coarse = baselines.block_mean(fine, 2)
    template = baselines.downscale(coarse, 2, "nearest")  # the refined grid's labels
    predictions = {
        "vamoh": model.predict(coarse, at=fine),
        **_backbone_alone(model, lambda m: m.predict(coarse, at=fine)),
        **(_relabelled(linear.downscale(coarse, fine), fine, geometry) if linear else {}),
        "cubic": _relabel(baselines.downscale(coarse, 2, "cubic"), fine, geometry),
        "clim+cubic": _relabel(
            baselines.downscale_climatology(coarse, _relabel(clim, template, geometry), 2),
            fine,
            geometry,
        ),
    }
    return {str(v): _score(fine, predictions, str(v), None) for v in fine.data_vars}


def _gap_filling(
    model: Any,
    modality: Any,
    truth_points: PointSet,
    climatology: np.ndarray,
    geometry: Geometry,
    linear: _LinearBars | None = None,
) -> dict[str, dict[str, float]]:
    truth = truth_points.samples(slice(None), dtype=np.float64)  # (S, N, C)
    finite = np.isfinite(truth)
    rng = np.random.default_rng(_SEED)
    hidden = finite & (rng.random(truth.shape[:2]) < 0.5)[..., None]
    observed = np.where(hidden, np.nan, truth)
    usable = np.isfinite(observed).any(axis=(1, 2)) & hidden.any(axis=(1, 2))
    if not usable.any():
        return {}
    truth, hidden, observed = truth[usable], hidden[usable], observed[usable]

    def as_xarray(values: np.ndarray) -> xr.Dataset:
        return modality.from_points(truth_points.with_values(values))

    truth_ds, gappy = as_xarray(truth), as_xarray(observed)
    mask = as_xarray(hidden.astype(np.float64)).astype(bool)
    predictions = {
        "vamoh": model.impute(gappy),
        **_backbone_alone(model, lambda m: m.impute(gappy)),
        **(linear.fill(gappy) if linear is not None else {}),
    }
    if geometry.kind == "grid":
        clim = _spatial_only(as_xarray(climatology[None]), geometry)
        predictions["cubic"] = baselines.fill_gaps(gappy, "cubic")
        predictions["clim+cubic"] = baselines.fill_gaps_climatology(gappy, clim)
    else:
        unbound = ClimateModality()  # plain inverse-distance weighting, no climatology
        plain = unbound.interpolate(truth_points, observed, truth_points.coords)
        anomalies = unbound.interpolate(
            truth_points, observed - climatology[None], truth_points.coords
        )
        predictions["idw"] = as_xarray(plain)
        predictions["clim+idw"] = as_xarray(anomalies + climatology[None])
    return {str(v): _score(truth_ds, predictions, str(v), mask[v]) for v in truth_ds.data_vars}


def _relabelled(
    predictions: dict[str, xr.Dataset], like: xr.Dataset, geometry: Geometry
) -> dict[str, xr.Dataset]:
    return {name: _relabel(ds, like, geometry) for name, ds in predictions.items()}


def _backbone_alone(model: Any, run: Callable[[Any], xr.Dataset]) -> dict[str, xr.Dataset]:
    """The backbone's posterior alone, :data:`OPTIMAL_INTERPOLATION`, where the model has one."""
    alone = model.backbone_only() if hasattr(model, "backbone_only") else None
    return {OPTIMAL_INTERPOLATION: run(alone)} if alone is not None else {}


def _safely(task: str, run: Callable[[], dict[str, dict[str, float]]]) -> dict:
    # the report informs; it must never cost the user the model they just trained
    try:
        return run()
    except Exception as exc:
        warnings.warn(
            f"the validation report skipped {task}: {type(exc).__name__}: {exc}",
            UserWarning,
            stacklevel=3,
        )
        return {}


def validation_report(
    modality: Any, model: Any, train: PointSet, val: PointSet
) -> dict[str, dict[str, float]]:
    """RMSE of the model and of classical baselines on held-out samples, per task and variable.

    Args:
        modality: the climate modality that made the point sets (it turns them into xarray).
        model: the trained ``vamoh.Model``.
        train: the training samples (their mean is the climatology of the baselines).
        val: the validation samples scored (the first ones, at most
            :data:`MAX_REPORT_VALUES` values in all).

    Returns:
        ``{task: {method: rmse}}`` in the data's units. Tasks are ``"downscaling x2"`` (grids
        with at least 4 x 4 points) and ``"gap filling 50%"``; with several variables each
        task is reported per variable (``"gap filling 50% (u10)"``). Methods are ``vamoh``,
        ``optimal interp.`` (the model's Gaussian backbone alone, with no learned layer: what
        data assimilation calls optimal interpolation with a hybrid covariance; models with
        ``conditioning="backbone"`` only), ``EOF posterior`` and ``DINEOF`` (gap filling only)
        learned from the training fields (:mod:`vamoh_climate.linear_posteriors`; grids of at
        most :data:`MAX_LINEAR_POINTS` points without NaN and at least 8 training fields),
        ``cubic`` and ``clim+cubic`` (``idw`` and ``clim+idw`` for stations).

    Example:
        >>> import vamoh
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> data = global_field(14, 8, 16)
        >>> model = vamoh.fit(data, max_epochs=1, progress=False, report=False)
        >>> m = ClimateModality()
        >>> train = m.to_points(data.isel(time=slice(0, 12)))
        >>> val = m.to_points(data.isel(time=[12, 13]))
        >>> report = validation_report(m, model, train, val)
        >>> sorted(report), sorted(report["downscaling x2"])[:3]
        (['downscaling x2', 'gap filling 50%'], ['EOF posterior', 'clim+cubic', 'cubic'])
        >>> sorted(report["gap filling 50%"])
        ['DINEOF', 'EOF posterior', 'clim+cubic', 'cubic', 'optimal interp.', 'vamoh']
    """
    layout = val.layout
    if not isinstance(layout, ClimateLayout) or val.n_samples == 0 or train.n_samples == 0:
        return {}
    geometry = layout.geometry
    val = val.with_values(val.values[_subset(val)])
    climatology = mean_field(train)[0]  # (N, C) in data units
    linear = _LinearBars(modality, train, geometry)
    per_task: dict[str, dict[str, dict[str, float]]] = {}
    if geometry.kind == "grid":
        per_task["downscaling x2"] = _safely(
            "downscaling",
            lambda: _downscaling(model, modality, val, climatology, geometry, linear),
        )
    per_task["gap filling 50%"] = _safely(
        "gap filling", lambda: _gap_filling(model, modality, val, climatology, geometry, linear)
    )
    several = len(val.channels) > 1
    report: dict[str, dict[str, float]] = {}
    for task, by_variable in per_task.items():
        for variable, scores in by_variable.items():
            report[f"{task} ({variable})" if several else task] = scores
    return report
