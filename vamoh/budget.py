"""The compute budget of a fit: a wall-clock time or a number of optimiser steps.

``vamoh.fit(ds, budget="10min")`` (or ``"90s"``, ``"2h30min"``, ``500`` steps, ``"500 steps"``,
a :class:`datetime.timedelta`) bounds the fit: the Gaussian backbone and its head are fitted
first, and the VaMoH network trains in the time that remains (less 15% kept for the ablation and
the report), then stops cleanly with its best validated weights. Their fixed costs do not shrink
with the budget, so a very short budget is exceeded (``"1min"`` took about 2 minutes on a
32 x 48 grid of 576 fields on 2 CPU threads; 10 and 30 minutes ended within 8%). Without a budget the default suits the machine: a few
minutes on a CPU, the configuration's epochs (the paper's model) on a GPU.

Bad budgets are refused before any work, with the forms that are understood.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_CPU_BUDGET", "Budget", "BudgetError"]

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_FORMS = "a time such as budget='10min', '90s', '1.5h' or '2h30min', or a number of steps (500)"


class BudgetError(ValueError):
    """A budget that is not a positive time or number of steps.

    Example:
        >>> try:
        ...     Budget.parse("soon")
        ... except BudgetError as error:
        ...     print(str(error)[:48])
        budget 'soon' is not a time or a number of steps
    """


@dataclass(frozen=True)
class Budget:
    """At most ``seconds`` of wall-clock time and/or ``steps`` optimiser steps for a fit.

    Example:
        >>> Budget.parse("2h30min").seconds, Budget.parse(500).steps, Budget.parse("90 s")
        (9000.0, 500, Budget(seconds=90.0, steps=None))
        >>> Budget.parse("10min").describe()
        '10 min'
    """

    seconds: float | None = None
    steps: int | None = None

    @classmethod
    def parse(cls, value: object) -> Budget | None:
        """A budget from what a user writes; ``None`` stays ``None`` (the default applies)."""
        if value is None or isinstance(value, Budget):
            return value
        if isinstance(value, dt.timedelta):
            return cls._time(value.total_seconds(), value)
        if isinstance(value, bool):
            raise BudgetError(
                f"budget {value!r} is not a time or a number of steps: give {_FORMS}."
            )
        if isinstance(value, int):
            return cls._steps(value, value)
        if isinstance(value, float):
            raise BudgetError(
                f"budget {value!r} is ambiguous: give a number of steps as an integer (e.g. "
                f"{max(1, int(value))}) or a time as text (e.g. '{value:g}min')."
            )
        if not isinstance(value, str):
            raise BudgetError(
                f"budget must be text or a number, not {type(value).__name__}: give {_FORMS}."
            )
        text = value.strip().lower()
        steps = re.fullmatch(r"(-?\d+)\s*(steps?)?", text)
        if steps:
            return cls._steps(int(steps.group(1)), value)
        if text.startswith("-"):
            raise BudgetError(f"budget {value!r} is negative: give {_FORMS}.")
        parts = _PART.findall(text)
        if not parts or _PART.sub("", text).strip() or any(u not in _UNITS for _, u in parts):
            raise BudgetError(
                f"budget {value!r} is not a time or a number of steps: give {_FORMS}."
            )
        return cls._time(sum(float(n) * _UNITS[u] for n, u in parts), value)

    @classmethod
    def _time(cls, seconds: float, given: object) -> Budget:
        if not seconds > 0:
            raise BudgetError(f"budget {given!r} is not positive: give {_FORMS}.")
        return cls(seconds=float(seconds))

    @classmethod
    def _steps(cls, steps: int, given: object) -> Budget:
        if steps <= 0:
            raise BudgetError(f"budget {given!r} is not positive: give {_FORMS}.")
        return cls(steps=int(steps))

    def describe(self) -> str:
        """``'10 min'``, ``'90 s'``, ``'500 steps'``."""
        parts = []
        if self.seconds is not None:
            s = self.seconds
            parts.append(
                f"{s / 3600:g} h" if s >= 3600 else f"{s / 60:g} min" if s >= 60 else f"{s:g} s"
            )
        if self.steps is not None:
            parts.append(f"{self.steps} steps")
        return " or ".join(parts) if parts else "no limit"


# a default fit on a laptop: long enough for the learned layers to add what they can on small
# data, short enough that a user waits minutes, not hours
DEFAULT_CPU_BUDGET = Budget(seconds=300.0)
