"""The training time span: how time stamps become the model's 1-D coordinate in [-1, 1].

Sensor records have no fixed convention for time (unlike the sphere or a pixel grid), so the
mapping is learned from the training data and stored with the model: new data observed at the
same instants lands on the same model coordinates, and data outside the span extrapolates beyond
[-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vamoh.coordinates import BoxCoordinates
from vamoh_sensors.errors import SensorDataError

__all__ = ["TimeKind", "TimeSpan", "seconds_of", "time_kind"]

TimeKind = Literal["datetime", "timedelta", "numeric"]

_ONE_SECOND_NS = 1_000_000_000


def time_kind(values: np.ndarray) -> TimeKind:
    """Which kind of time axis ``values`` is; other dtypes raise :class:`SensorDataError`.

    Example:
        >>> import numpy as np
        >>> time_kind(np.array(["2020-01-01"], dtype="datetime64[ns]"))
        'datetime'
        >>> time_kind(np.array([0.5, 1.5]))
        'numeric'
    """
    kind = np.asarray(values).dtype.kind
    if kind == "M":
        return "datetime"
    if kind == "m":
        return "timedelta"
    if kind in "iuf":
        return "numeric"
    raise SensorDataError(
        f"the time coordinate has dtype {np.asarray(values).dtype}, which is neither datetime64, "
        f"timedelta64 nor numeric. Convert it, e.g. with data.convert_calendar('standard', "
        f"use_cftime=False) for cftime dates or pandas.to_datetime for strings."
    )


def _seconds(values: np.ndarray, kind: TimeKind) -> np.ndarray:
    """Time stamps as float64 seconds (since the Unix epoch for datetimes); NaT becomes NaN."""
    values = np.asarray(values)
    if kind == "numeric":
        return values.astype(np.float64)
    unit = "datetime64[ns]" if kind == "datetime" else "timedelta64[ns]"
    as_ns = values.astype(unit)
    seconds = as_ns.astype(np.int64).astype(np.float64) / _ONE_SECOND_NS
    return np.where(np.isnat(as_ns), np.nan, seconds)


@dataclass(frozen=True)
class TimeSpan:
    """The interval ``[start, stop]`` of training time stamps, mapped onto ``[-1, 1]``.

    Attributes:
        start: first training instant, in seconds (since the Unix epoch for datetimes, of the
            timedelta, or the raw number for numeric time).
        stop: last training instant, in the same units; ``stop > start``.
        kind: ``"datetime"``, ``"timedelta"`` or ``"numeric"``; new data must be of the same kind.

    Example:
        >>> import numpy as np
        >>> times = np.array(["2020-01-01", "2020-01-03"], dtype="datetime64[ns]")
        >>> span = TimeSpan.of(times)
        >>> span.to_model(np.array(["2020-01-02"], dtype="datetime64[ns]")).ravel().tolist()
        [0.0]
        >>> TimeSpan.from_state(span.to_state()) == span
        True
    """

    start: float
    stop: float
    kind: TimeKind

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start) and np.isfinite(self.stop) and self.stop > self.start):
            raise SensorDataError(
                f"a time span needs finite start < stop; got {self.start} and {self.stop}. The "
                f"training data must cover at least two distinct time stamps."
            )

    @classmethod
    def of(cls, times: np.ndarray) -> TimeSpan:
        """The span of ``times`` (NaT/NaN are checked by the caller and ignored here)."""
        kind = time_kind(times)
        seconds = _seconds(times, kind)
        finite = seconds[np.isfinite(seconds)]
        if finite.size == 0 or finite.min() == finite.max():
            raise SensorDataError(
                "the time coordinate needs at least two distinct time stamps to define the "
                "model's time axis; pass a longer record."
            )
        return cls(start=float(finite.min()), stop=float(finite.max()), kind=kind)

    def coordinate_system(self) -> BoxCoordinates:
        """The box ``[start, stop]`` (in seconds) as a vamoh coordinate system."""
        return BoxCoordinates(lower=[self.start], upper=[self.stop])

    def to_model(self, times: np.ndarray) -> np.ndarray:
        """``(N,)`` time stamps -> ``(N, 1)`` float32 model coordinates."""
        kind = time_kind(times)
        if kind != self.kind:
            raise SensorDataError(
                f"this model was trained on {self.kind} time stamps but the data has {kind} ones; "
                f"give the time coordinate the training data's type."
            )
        return self.coordinate_system().to_model(_seconds(times, kind)[:, None])

    def to_state(self) -> dict[str, Any]:
        """JSON-able description, stored in checkpoints (exact floats, plus their units)."""
        units = {
            "datetime": "seconds since 1970-01-01T00:00:00",
            "timedelta": "seconds",
            "numeric": "as the data's time coordinate",
        }[self.kind]
        return {"kind": self.kind, "start": self.start, "stop": self.stop, "units": units}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TimeSpan:
        """Inverse of :meth:`to_state`; a malformed state raises :class:`SensorDataError`."""
        try:
            kind = state["kind"]
            if kind not in ("datetime", "timedelta", "numeric"):
                raise ValueError(f"unknown kind {kind!r}")
            return cls(start=float(state["start"]), stop=float(state["stop"]), kind=kind)
        except (KeyError, TypeError, ValueError) as exc:
            raise SensorDataError(
                f"the saved sensors state {state!r} is not a time span ({exc}); it should hold "
                f"'kind', 'start' and 'stop' as written by TimeSpan.to_state()."
            ) from exc


def seconds_of(times: np.ndarray) -> np.ndarray:
    """Float64 seconds of any supported time axis; NaT becomes NaN.

    Example:
        >>> import numpy as np
        >>> seconds_of(np.array([0, 90], dtype="timedelta64[s]")).tolist()
        [0.0, 90.0]
    """
    return _seconds(times, time_kind(times))
