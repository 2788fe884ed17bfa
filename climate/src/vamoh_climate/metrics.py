"""Scores on the sphere: area-weighted (cos latitude) errors in the data's units, and more.

* :func:`rmse`, :func:`mae`: in the data's units (K stays K, degC stays degC).
* :func:`psnr`: the paper's PSNR, on ERA5 temperatures min-max scaled with 202.66 K .. 320.93 K
  (as in the original code), converted to the data's temperature units.
* :func:`crps`: the closed-form CRPS of a Gaussian predictive ``N(mean, std^2)``.
* :func:`coverage`: how often the truth falls in the central predictive interval (90 % default).

Each takes xarray truth and prediction (a Dataset prediction may carry ``<var>_std``), an optional
boolean ``mask`` of scored points, and reduces over ``dim`` (default: every dim, pooling all
points and samples). NaN in truth or prediction is not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import xarray as xr
from scipy import special

from vamoh_climate.errors import VariableError
from vamoh_climate.grid import find_latitude
from vamoh_climate.units import temperature_range

__all__ = ["PAPER_KELVIN_RANGE", "coverage", "crps", "evaluate", "mae", "psnr", "rmse"]

XarrayT = TypeVar("XarrayT", xr.Dataset, xr.DataArray)
PAPER_KELVIN_RANGE = (202.66, 320.93)  # ERA5 t2m min-max of the paper's [0, 1] scaling
Dims = str | Sequence[str] | None
Score = Callable[[xr.DataArray, xr.DataArray, xr.DataArray | None], xr.DataArray]


def _weights(data: xr.DataArray, area_weighted: bool) -> xr.DataArray:
    if not area_weighted:
        return xr.ones_like(data, dtype=np.float64)
    lat = data[find_latitude(data.to_dataset(name="_"))].variable
    cos_lat = xr.DataArray(np.clip(np.cos(np.radians(lat)), 0.0, None))
    return cos_lat.broadcast_like(data)


def _as_mask(mask: Any, like: xr.DataArray) -> xr.DataArray:
    if mask is None:
        return xr.ones_like(like, dtype=bool)
    if isinstance(mask, xr.DataArray):
        return mask.astype(bool)
    array = np.asarray(mask, dtype=bool)
    if array.shape != like.shape:
        raise ValueError(
            f"mask has shape {array.shape} but the data has {like.shape} {like.dims}; pass a "
            f"boolean DataArray (True = scored) or an array of the data's shape."
        )
    return xr.DataArray(array, dims=like.dims)


def _reduce(
    truth: xr.DataArray,
    prediction: xr.DataArray,
    std: xr.DataArray | None,
    score: Score,
    *,
    mask: Any,
    dim: Dims,
    area_weighted: bool,
) -> xr.DataArray:
    """Weighted mean of ``score`` over the valid (and masked) points."""
    valid = truth.notnull() & prediction.notnull() & _as_mask(mask, truth)
    if std is not None:
        valid = valid & std.notnull()
    weights = _weights(truth, area_weighted).where(valid, 0.0)
    values = score(truth, prediction, std).where(valid, 0.0)
    reduce_dims = list(weights.dims) if dim is None else ([dim] if isinstance(dim, str) else dim)
    total = weights.sum(reduce_dims)
    return (weights * values).sum(reduce_dims) / total.where(total > 0)


def _pairs(
    truth: XarrayT, prediction: xr.Dataset | xr.DataArray, needs_std: bool, std: Any
) -> dict[Hashable, tuple[xr.DataArray, xr.DataArray, xr.DataArray | None]]:
    """(truth, prediction, std) per variable."""
    if isinstance(truth, xr.DataArray):
        pred = prediction
        if isinstance(prediction, xr.Dataset):
            name = truth.name if truth.name in prediction else None
            if name is None:
                raise VariableError(
                    f"truth is a DataArray named {truth.name!r} but the prediction Dataset has "
                    f"{sorted(map(str, prediction.data_vars))}; pass prediction[name]."
                )
            pred = prediction[name]
            if std is None and needs_std and f"{name}_std" in prediction:
                std = prediction[f"{name}_std"]
        if needs_std and std is None:
            raise VariableError(
                "this score needs a predictive standard deviation: pass std=... or a prediction "
                "Dataset with '<var>_std'."
            )
        return {truth.name: (truth, pred, std)}
    if not isinstance(prediction, xr.Dataset):
        raise VariableError("a Dataset truth needs a Dataset prediction with the same variables.")
    out: dict[Hashable, tuple[xr.DataArray, xr.DataArray, xr.DataArray | None]] = {}
    for name in truth.data_vars:
        if name not in prediction:
            continue
        var_std = None
        if needs_std:
            if isinstance(std, Mapping):
                var_std = std.get(name)
            elif f"{name}_std" in prediction:
                var_std = prediction[f"{name}_std"]
            if var_std is None:
                raise VariableError(
                    f"no standard deviation for {name!r}: the prediction needs '{name}_std' "
                    f"(or pass std={{'{name}': ...}})."
                )
        out[name] = (truth[name], prediction[name], var_std)
    if not out:
        raise VariableError(
            f"truth and prediction share no variables (truth: {sorted(map(str, truth.data_vars))}, "
            f"prediction: {sorted(map(str, prediction.data_vars))})."
        )
    return out


def _score(
    truth: Any,
    prediction: Any,
    score: Score,
    *,
    name: str,
    units: Callable[[xr.DataArray], str | None],
    std: Any = None,
    needs_std: bool = False,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
) -> Any:
    results = {}
    for var, (t, p, s) in _pairs(truth, prediction, needs_std, std).items():
        var_mask = mask[var] if isinstance(mask, xr.Dataset) else mask
        value = _reduce(t, p, s, score, mask=var_mask, dim=dim, area_weighted=area_weighted)
        attrs = {"long_name": f"{'area-weighted ' if area_weighted else ''}{name} of {var}"}
        unit = units(t)
        if unit is not None:
            attrs["units"] = unit
        results[var] = value.assign_attrs(attrs).rename(var)
    if isinstance(truth, xr.DataArray):
        return next(iter(results.values()))
    return xr.Dataset(results)


def _data_units(t: xr.DataArray) -> str | None:
    return t.attrs.get("units")


def rmse(
    truth: XarrayT,
    prediction: xr.Dataset | xr.DataArray,
    *,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
) -> XarrayT:
    """Root-mean-square error, cos(latitude)-weighted, in the data's units.

    Example:
        >>> import numpy as np, xarray as xr
        >>> truth = xr.DataArray([[1.0, 1.0], [1.0, 1.0]], dims=("lat", "lon"),
        ...     coords={"lat": [0.0, 60.0], "lon": [0.0, 1.0]}, name="t", attrs={"units": "K"})
        >>> pred = truth + xr.DataArray([[0.0, 0.0], [3.0, 3.0]], dims=("lat", "lon"))
        >>> value = rmse(truth, pred)  # weights 1 and 0.5: sqrt(0.5 * 9 / 1.5)
        >>> round(float(value), 6), value.attrs["units"]
        (1.732051, 'K')
    """

    def squared(t: xr.DataArray, p: xr.DataArray, _: Any) -> xr.DataArray:
        return (t - p) ** 2

    mse = _score(
        truth,
        prediction,
        squared,
        name="RMSE",
        units=_data_units,
        mask=mask,
        dim=dim,
        area_weighted=area_weighted,
    )
    return (
        np.sqrt(mse).assign_attrs(mse.attrs)
        if isinstance(mse, xr.DataArray)
        else mse.map(lambda v: np.sqrt(v).assign_attrs(v.attrs))
    )


def mae(
    truth: XarrayT,
    prediction: xr.Dataset | xr.DataArray,
    *,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
) -> XarrayT:
    """Mean absolute error, cos(latitude)-weighted, in the data's units.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([0.0, 0.0], dims="lat", coords={"lat": [0.0, 60.0]}, name="t")
        >>> float(mae(truth, truth + xr.DataArray([3.0, 6.0], dims="lat"), area_weighted=False))
        4.5
    """

    def absolute(t: xr.DataArray, p: xr.DataArray, _: Any) -> xr.DataArray:
        return abs(t - p)

    return _score(
        truth,
        prediction,
        absolute,
        name="MAE",
        units=_data_units,
        mask=mask,
        dim=dim,
        area_weighted=area_weighted,
    )


def psnr(
    truth: XarrayT,
    prediction: xr.Dataset | xr.DataArray,
    *,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
    data_range: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
) -> XarrayT:
    """Peak signal-to-noise ratio (dB) on the paper's [0, 1] temperature scaling.

    ``20 log10(range / RMSE)``, where ``range`` is 320.93 K - 202.66 K converted to the data's
    units (the same 118.27 in degC, 212.886 in degF). ``data_range=(low, high)`` (in the data's
    units, or a mapping per variable) sets it for other quantities. ``area_weighted=False``
    gives the paper's unweighted grid mean.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([280.0, 290.0], dims="lat", coords={"lat": [0.0, 10.0]},
        ...                      name="t2m", attrs={"units": "K"})
        >>> round(float(psnr(truth, truth + 1.18270)), 3)
        40.0
    """

    def width(t: xr.DataArray) -> float:
        chosen = data_range
        if isinstance(chosen, Mapping):
            chosen = chosen.get(str(t.name))
        if chosen is not None:
            low, high = chosen
            return float(high - low)
        return temperature_range(t.attrs.get("units"), *PAPER_KELVIN_RANGE)

    def squared(t: xr.DataArray, p: xr.DataArray, _: Any) -> xr.DataArray:
        return (t - p) ** 2

    def decibel(mse: xr.DataArray, t: xr.DataArray) -> xr.DataArray:
        value = 20.0 * np.log10(width(t) / np.sqrt(mse))
        return value.assign_attrs(long_name=mse.attrs["long_name"], units="dB")

    mse = _score(
        truth,
        prediction,
        squared,
        name="PSNR",
        units=lambda t: None,
        mask=mask,
        dim=dim,
        area_weighted=area_weighted,
    )
    if isinstance(mse, xr.DataArray):
        return decibel(mse, truth)
    return xr.Dataset({k: decibel(v, truth[k]) for k, v in mse.data_vars.items()})


def crps(
    truth: XarrayT,
    prediction: xr.Dataset | xr.DataArray,
    std: Any = None,
    *,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
) -> XarrayT:
    """Continuous ranked probability score of ``N(prediction, std^2)``, closed form.

    ``std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))`` with ``z = (truth - mean) / std``;
    it is the absolute error when ``std = 0``. The std comes from ``std=`` or the prediction's
    ``<var>_std``.

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([0.0], dims="lat", coords={"lat": [0.0]}, name="t")
        >>> round(float(crps(truth, truth, std=truth + 1.0)), 6)  # (sqrt(2) - 1) / sqrt(pi)
        0.233695
    """

    def gaussian_crps(t: xr.DataArray, p: xr.DataArray, s: Any) -> xr.DataArray:
        error = t - p
        safe = s.where(s > 0, 1.0)
        z = error / safe
        spread = safe * (
            z * (2.0 * special.ndtr(z) - 1.0)
            + 2.0 * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
            - 1.0 / np.sqrt(np.pi)
        )
        return spread.where(s > 0, abs(error))

    return _score(
        truth,
        prediction,
        gaussian_crps,
        name="CRPS",
        units=_data_units,
        std=std,
        needs_std=True,
        mask=mask,
        dim=dim,
        area_weighted=area_weighted,
    )


def coverage(
    truth: XarrayT,
    prediction: xr.Dataset | xr.DataArray,
    std: Any = None,
    *,
    level: float = 0.9,
    mask: Any = None,
    dim: Dims = None,
    area_weighted: bool = True,
) -> XarrayT:
    """Fraction of the truth inside the central ``level`` interval of ``N(prediction, std^2)``.

    A calibrated model scores ``level`` (0.9 by default).

    Example:
        >>> import xarray as xr
        >>> truth = xr.DataArray([0.0, 0.0], dims="lat", coords={"lat": [0.0, 0.0]}, name="t")
        >>> pred = xr.DataArray([1.0, 2.0], dims="lat")
        >>> float(coverage(truth, pred, std=xr.DataArray([1.0, 1.0], dims="lat")))
        0.5
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"coverage level must be in (0, 1); got {level}.")
    half = float(special.ndtri(0.5 + level / 2.0))

    def inside(t: xr.DataArray, p: xr.DataArray, s: Any) -> xr.DataArray:
        return (abs(t - p) <= half * s).astype(np.float64)

    return _score(
        truth,
        prediction,
        inside,
        name=f"{level:.0%} interval coverage",
        units=lambda t: "1",
        std=std,
        needs_std=True,
        mask=mask,
        dim=dim,
        area_weighted=area_weighted,
    )


def evaluate(
    truth: xr.Dataset | xr.DataArray,
    prediction: xr.Dataset | xr.DataArray,
    *,
    mask: Any = None,
    area_weighted: bool = True,
) -> dict[str, dict[str, float]]:
    """Every applicable score per variable, pooled over all points: a table for reports.

    PSNR appears for temperatures, CRPS and coverage when the prediction has ``<var>_std``.

    Example:
        >>> import xarray as xr
        >>> truth = xr.Dataset({"t": ("lat", [280.0, 281.0], {"units": "K"})},
        ...                    coords={"lat": [0.0, 1.0]})
        >>> pred = truth.assign(t_std=truth["t"] * 0 + 1.0)
        >>> sorted(evaluate(truth, pred)["t"])
        ['coverage90', 'crps', 'mae', 'psnr', 'rmse']
    """
    name_of = getattr(truth, "name", None) or "values"
    ds_truth = truth if isinstance(truth, xr.Dataset) else truth.to_dataset(name=name_of)
    ds_pred = (
        prediction if isinstance(prediction, xr.Dataset) else prediction.to_dataset(name=name_of)
    )
    table: dict[str, dict[str, float]] = {}
    for name in ds_truth.data_vars:
        if name not in ds_pred:
            continue
        t, p = ds_truth[name], ds_pred[name]
        kwargs: dict[str, Any] = {"mask": mask, "area_weighted": area_weighted}
        row = {"rmse": float(rmse(t, p, **kwargs)), "mae": float(mae(t, p, **kwargs))}
        try:
            row["psnr"] = float(psnr(t, p, **kwargs))
        except ValueError:  # not a temperature: the paper's range does not apply
            pass
        std = ds_pred.get(f"{name}_std")
        if std is not None:
            row["crps"] = float(crps(t, p, std, **kwargs))
            row["coverage90"] = float(coverage(t, p, std, **kwargs))
        table[str(name)] = row
    return table
