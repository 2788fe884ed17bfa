"""Leave-stations-out cross-validation: how well a model predicts at sites it has never seen.

:func:`evaluate_stations` splits the stations of a network into folds. For each fold it fits a
model on the other stations (or uses the model given), predicts every record of the fold's
stations from the other stations' records at the same time steps (``model.predict(observed,
at=sites)``, covariates included), and scores each left-out site: RMSE, CRPS and the 90 %
interval coverage of the Gaussian predictive, over the records the site has. The result is a
Dataset along the station dim, ready to map with the stations' lat/lon, with the pooled scores
in its attrs.

Refitting per fold is the honest estimate (a model that trained on a site has seen its
records); passing ``model=`` skips the refits and is optimistic, useful for a quick look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy import special

from vamoh.metrics import gaussian_crps
from vamoh_climate.stations import station_dim

__all__ = ["evaluate_stations"]

_Z90 = float(special.ndtri(0.95))


def _default_fit(train: xr.Dataset) -> Any:
    import vamoh

    return vamoh.fit(train, progress=False, report=False)


def evaluate_stations(
    data: xr.Dataset,
    variable: str | None = None,
    *,
    folds: int = 5,
    fit: Callable[[xr.Dataset], Any] | None = None,
    model: Any = None,
    seed: int = 0,
) -> xr.Dataset:
    """Leave-stations-out scores per site: ``rmse``, ``crps``, ``coverage90``, ``n``, ``fold``.

    Args:
        data: a station network ``var(station, time)`` with lat/lon (and covariates) along the
            station dim; NaN marks a missing record.
        variable: the variable scored (default: the only data variable).
        folds: how many groups of stations are left out in turn (2 to the number of stations).
        fit: ``fit(train) -> model``, called once per fold on the other stations (default
            ``vamoh.fit(train, progress=False, report=False)``: the machine's default budget per
            fold); ignored when ``model`` is given.
        model: a fitted model to use for every fold instead of refitting (optimistic: it may
            have trained on the left-out stations).
        seed: the random assignment of stations to folds.

    Returns:
        A Dataset along the station dim with each site's scores (in the variable's units), its
        lat/lon and covariates, and attrs ``rmse``, ``crps``, ``coverage90`` pooled over every
        scored record.

    Example:
        >>> import vamoh
        >>> from vamoh_climate.synthetic import station_network
        >>> net = station_network(n_stations=30, n_months=24, missing=0.3)
        >>> quick = lambda train: vamoh.fit(train, max_epochs=1, progress=False, report=False)
        >>> scores = evaluate_stations(net, folds=3, fit=quick)
        >>> sorted(scores.data_vars), scores.sizes["station"]
        (['coverage90', 'crps', 'fold', 'n', 'rmse'], 30)
        >>> scores.attrs["rmse"] > 0, scores["rmse"].attrs["units"]
        (True, 'degC')
    """
    dim = station_dim(data)
    if dim is None:
        raise ValueError(
            "evaluate_stations needs station data: a station dim with lat/lon along it "
            f"(dims here: {tuple(data.dims)})."
        )
    names = [str(name) for name in data.data_vars]
    if variable is None:
        if len(names) != 1:
            raise ValueError(f"name the variable to score: variable= one of {names}.")
        variable = names[0]
    if variable not in data.data_vars:
        raise ValueError(f"variable {variable!r} is not in the data ({names}).")
    n_stations = data.sizes[dim]
    if not 2 <= folds <= n_stations:
        raise ValueError(f"folds must be between 2 and the {n_stations} stations; got {folds}.")
    fit = fit or _default_fit
    assignment = np.random.default_rng(seed).permutation(n_stations) % folds
    values = data[variable]
    other_dims = [d for d in values.dims if d != dim]
    shape = {"rmse": np.nan, "crps": np.nan, "coverage90": np.nan}
    per_site = {key: np.full(n_stations, fill) for key, fill in shape.items()}
    counts = np.zeros(n_stations, dtype=int)
    pooled = {"se": 0.0, "crps": 0.0, "inside": 0.0, "n": 0}
    for fold in range(folds):
        left_out = np.flatnonzero(assignment == fold)
        train = data.isel({dim: np.flatnonzero(assignment != fold)})
        trained = model if model is not None else fit(train)
        sites = data.isel({dim: left_out})
        template = sites.assign({variable: sites[variable] * np.nan})
        out = trained.predict(train, at=template)
        truth = sites[variable].transpose(dim, *other_dims).values.reshape(len(left_out), -1)
        mean = out[variable].transpose(dim, *other_dims).values.reshape(len(left_out), -1)
        std = out[f"{variable}_std"].transpose(dim, *other_dims).values.reshape(len(left_out), -1)
        scored = np.isfinite(truth) & np.isfinite(mean) & (std > 0)
        error = np.where(scored, mean - truth, 0.0)
        crps = np.where(scored, gaussian_crps(truth, mean, np.where(scored, std, 1.0)), 0.0)
        inside = np.where(scored, np.abs(error) <= _Z90 * np.where(scored, std, 1.0), False)
        n = scored.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_site["rmse"][left_out] = np.sqrt((error**2).sum(1) / n)
            per_site["crps"][left_out] = crps.sum(1) / n
            per_site["coverage90"][left_out] = inside.sum(1) / n
        counts[left_out] = n
        pooled["se"] += float((error**2).sum())
        pooled["crps"] += float(crps.sum())
        pooled["inside"] += float(inside.sum())
        pooled["n"] += int(n.sum())
    units = values.attrs.get("units")
    unit_attrs = {"units": units} if units else {}
    coords = {name: coord for name, coord in data.coords.items() if coord.dims == (dim,)}
    result = xr.Dataset(
        {
            "rmse": (dim, per_site["rmse"], {**unit_attrs, "long_name": "RMSE at the site"}),
            "crps": (dim, per_site["crps"], {**unit_attrs, "long_name": "mean CRPS at the site"}),
            "coverage90": (dim, per_site["coverage90"], {"long_name": "90% interval coverage"}),
            "n": (dim, counts, {"long_name": "records scored"}),
            "fold": (dim, assignment, {"long_name": "the fold that left the site out"}),
        },
        coords=coords,
    )
    total = max(pooled["n"], 1)
    result.attrs.update(
        variable=variable,
        folds=folds,
        refit=model is None,
        rmse=float(np.sqrt(pooled["se"] / total)),
        crps=float(pooled["crps"] / total),
        coverage90=float(pooled["inside"] / total),
        n=pooled["n"],
    )
    return result
