"""CSV files of sensor records (one row per time stamp, or per sensor and time stamp) as xarray."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from vamoh.modality import Reader
from vamoh_sensors.errors import SensorDataError

__all__ = ["SensorCsvReader"]

# Column names recognised without being told (compared case-insensitively).
TIME_COLUMNS = ("time", "datetime", "timestamp", "date", "t")
SERIES_COLUMNS = ("sensor", "series", "station", "sensor_id", "station_id", "id")


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")]


def _pick(columns: Sequence[str], wanted: str | None, known: Sequence[str]) -> str | None:
    if wanted is not None:
        return wanted
    by_lower = {c.lower(): c for c in columns}
    return next((by_lower[k] for k in known if k in by_lower), None)


class SensorCsvReader(Reader):
    """Reads a CSV file with a time column into ``(sensor, time)`` or ``(time)`` records.

    Two shapes are understood:

    * wide: a time column and one column per variable, for a single sensor;
    * long: a time column, a sensor column and one column per variable, one row per reading.
      Sensors that read at different times get NaN at the others' stamps.

    Time stamps are parsed with pandas; purely numeric times stay numbers.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "mast.csv"
        >>> _ = path.write_text("time,sensor,temp\\n2021-06-01 00:00,a,14.5\\n"
        ...                     "2021-06-01 01:00,a,14.1\\n2021-06-01 00:30,b,15.0\\n")
        >>> reader = SensorCsvReader()
        >>> reader.guess_can_open(path)
        True
        >>> ds = reader.open(path, units={"temp": "degC"})
        >>> dict(ds.sizes), ds["temp"].attrs["units"]
        ({'sensor': 2, 'time': 3}, 'degC')
    """

    name: ClassVar[str] = "sensors-csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv",)
    description: ClassVar[str] = "CSV sensor records with a time column (wide or long format)"

    def guess_can_open(self, path: Any) -> bool:
        """A ``.csv`` file whose header has a time column (``time``, ``date``, ``timestamp``...)."""
        if not super().guess_can_open(path):
            return False
        try:
            columns = _header(Path(path))
        except (OSError, UnicodeDecodeError):
            return False
        return _pick(columns, None, TIME_COLUMNS) is not None

    def open(
        self,
        path: Any,
        *,
        time_column: str | None = None,
        series_column: str | None = None,
        variables: Sequence[str] | None = None,
        units: Mapping[str, str] | None = None,
        **read_csv_kwargs: Any,
    ) -> xr.Dataset:
        """Read ``path`` into a Dataset with a ``time`` dim (and a ``sensor`` dim in long format).

        Args:
            path: the CSV file.
            time_column: the column of time stamps (default: the first of ``time``, ``datetime``,
                ``timestamp``, ``date``, ``t``).
            series_column: the column naming the sensor of each row (default: ``sensor``,
                ``series``, ``station``... if present; none means a single sensor).
            variables: the value columns to keep (default: every numeric column).
            units: units per variable, stored as ``attrs["units"]``.
            **read_csv_kwargs: passed to :func:`pandas.read_csv`.

        Raises:
            SensorDataError: naming the file, for a missing column, unparsable time stamps,
                no numeric values or repeated (sensor, time) rows.
        """
        path = Path(path)
        try:
            frame = pd.read_csv(path, **read_csv_kwargs)
        except (OSError, ValueError) as exc:
            raise SensorDataError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
        columns = [str(c) for c in frame.columns]
        time_name = _pick(columns, time_column, TIME_COLUMNS)
        if time_name is None or time_name not in frame.columns:
            raise SensorDataError(
                f"{str(path)!r} has no time column (columns: {columns}); name it with "
                f"time_column='...'."
            )
        series_name = _pick(columns, series_column, SERIES_COLUMNS)
        if series_name is not None and series_name not in frame.columns:
            raise SensorDataError(
                f"{str(path)!r} has no column {series_name!r}; its columns are {columns}."
            )
        frame = frame.assign(**{time_name: self._parse_times(frame[time_name], path, time_name)})
        value_names = self._value_columns(frame, path, variables, {time_name, series_name})

        index = [series_name, time_name] if series_name is not None else [time_name]
        if frame.duplicated(subset=index).any():
            raise SensorDataError(
                f"{str(path)!r} has repeated rows for the same {' and '.join(index)}; average "
                f"them first (frame.groupby({index}).mean())."
            )
        table = frame.set_index(index)[value_names].sort_index()
        ds = xr.Dataset.from_dataframe(table)
        rename = {time_name: "time"} if time_name != "time" else {}
        if series_name is not None and series_name != "sensor":
            rename[series_name] = "sensor"
        ds = ds.rename(rename)
        for variable, unit in (units or {}).items():
            if variable not in ds:
                raise SensorDataError(
                    f"units given for {variable!r}, which {str(path)!r} does not hold; "
                    f"its variables are {value_names}."
                )
            ds[variable].attrs["units"] = unit
        return ds.assign_attrs(source=str(path))

    @staticmethod
    def _parse_times(column: pd.Series, path: Path, name: str) -> pd.Series | np.ndarray:
        if pd.api.types.is_numeric_dtype(column):
            return column
        try:
            return pd.to_datetime(column)
        except (ValueError, TypeError) as exc:
            raise SensorDataError(
                f"column {name!r} of {str(path)!r} holds time stamps pandas cannot parse ({exc}); "
                f"write ISO 8601 times such as 2021-06-01T00:00."
            ) from exc

    @staticmethod
    def _value_columns(
        frame: pd.DataFrame, path: Path, variables: Sequence[str] | None, index: set[str | None]
    ) -> list[str]:
        if variables is not None:
            missing = [v for v in variables if v not in frame.columns]
            if missing:
                raise SensorDataError(
                    f"{str(path)!r} has no columns {missing}; its columns are "
                    f"{[str(c) for c in frame.columns]}."
                )
            return list(variables)
        names = [
            str(c)
            for c in frame.columns
            if c not in index and pd.api.types.is_numeric_dtype(frame[c])
        ]
        if not names:
            raise SensorDataError(
                f"{str(path)!r} has no numeric value columns besides the time and sensor "
                f"columns; pass variables=[...] or fix the file."
            )
        return names
