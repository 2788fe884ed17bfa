"""Where a field sits in the day and the year: sample features for the backbone's mean.

The engine's Gaussian backbone fits its prior mean as ``m(x) + beta(x) . g(t)``; these are the
``g(t)``: cos/sin of the hour of the day and of the day of the year. A cycle is used only when
the training data cover it (sub-daily steps over at least two days for the diurnal cycle, at
least a year for the annual one), so a month of data never extrapolates a seasonal trend. The
choice is part of the trained model's state, so new data get the same features.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["CYCLES", "choose_cycles", "cycle_features", "sample_times"]

# cycle name -> (period in days, feature names)
CYCLES: dict[str, tuple[float, tuple[str, str]]] = {
    "diurnal": (1.0, ("hour_cos", "hour_sin")),
    "annual": (365.2425, ("day_of_year_cos", "day_of_year_sin")),
}
_DAY = np.timedelta64(1, "D")


def sample_times(ds: xr.Dataset, sample_dims: tuple[str, ...]) -> np.ndarray | None:
    """The samples' datetimes when the only sample dim is a datetime coordinate, else ``None``.

    Example:
        >>> import pandas as pd
        >>> ds = xr.Dataset(coords={"time": pd.date_range("2019-03-01", periods=3, freq="h")})
        >>> sample_times(ds, ("time",)).dtype.kind
        'M'
    """
    if len(sample_dims) != 1 or sample_dims[0] not in ds.coords:
        return None
    values = np.asarray(ds[sample_dims[0]].values)
    if values.dtype.kind != "M" or values.ndim != 1:
        return None
    return values.astype("datetime64[s]")


def choose_cycles(times: np.ndarray | None) -> tuple[str, ...]:
    """The cycles that ``times`` cover well enough to fit.

    Example:
        >>> import pandas as pd
        >>> hours = pd.date_range("2019-03-01", periods=24 * 20, freq="h").values
        >>> choose_cycles(hours)
        ('diurnal',)
        >>> choose_cycles(pd.date_range("2013-01-01", periods=1460, freq="6h").values)
        ('diurnal', 'annual')
    """
    if times is None or len(times) < 8:
        return ()
    ordered = np.sort(times.astype("datetime64[s]"))
    span = (ordered[-1] - ordered[0]) / _DAY
    steps = np.diff(ordered) / _DAY
    chosen = []
    if len(steps) and np.median(steps) < 1.0 and span >= 2.0:
        hours = np.unique((ordered - ordered.astype("datetime64[D]")) / np.timedelta64(1, "h"))
        if len(hours) >= 3:  # a phase needs at least three distinct hours
            chosen.append("diurnal")
    if span >= 360.0:
        chosen.append("annual")
    return tuple(chosen)


def cycle_features(
    times: np.ndarray, cycles: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``(S, 2 x len(cycles))`` cos/sin features of ``times`` and their names.

    Example:
        >>> import pandas as pd
        >>> t = pd.to_datetime(["2019-03-01T00:00", "2019-03-01T06:00"]).values
        >>> values, names = cycle_features(t, ("diurnal",))
        >>> values.round(6).tolist(), names
        ([[1.0, 0.0], [0.0, 1.0]], ('hour_cos', 'hour_sin'))
    """
    times = np.asarray(times).astype("datetime64[s]")
    columns, names = [], []
    for cycle in cycles:
        period, labels = CYCLES[cycle]
        if cycle == "diurnal":
            phase = (times - times.astype("datetime64[D]")) / _DAY
        else:
            phase = (times - times.astype("datetime64[Y]")) / _DAY / period
        angle = 2.0 * np.pi * np.asarray(phase, dtype=np.float64)
        columns += [np.cos(angle), np.sin(angle)]
        names += list(labels)
    if not columns:
        return np.zeros((len(times), 0)), ()
    return np.stack(columns, axis=1), tuple(names)
