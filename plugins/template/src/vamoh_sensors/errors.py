"""The one exception type the sensors plugin raises for bad input."""

from __future__ import annotations

__all__ = ["SensorDataError"]


class SensorDataError(ValueError):
    """Sensor data the plugin cannot use; the message names the problem and the fix.

    A ``ValueError`` subclass, as vamoh's modality contract asks, so ``except ValueError`` works.

    Example:
        >>> issubclass(SensorDataError, ValueError)
        True
    """
