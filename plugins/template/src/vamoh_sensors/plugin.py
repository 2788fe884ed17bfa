"""The entry point vamoh loads (``[project.entry-points.vamoh] sensors = "vamoh_sensors.plugin"``).

Only hook implementations live here; importing this module must be cheap and must not fail.
"""

from __future__ import annotations

import vamoh
from vamoh.modality import Modality, Reader
from vamoh_sensors.modality import SensorModality
from vamoh_sensors.reader import SensorCsvReader

__all__ = ["vamoh_modalities", "vamoh_readers"]


@vamoh.plugins.hookimpl
def vamoh_modalities() -> list[Modality]:
    """The sensors modality.

    Example:
        >>> [m.name for m in vamoh_modalities()]
        ['sensors']
    """
    return [SensorModality()]


@vamoh.plugins.hookimpl
def vamoh_readers() -> list[Reader]:
    """The CSV reader for sensor records.

    Example:
        >>> [r.name for r in vamoh_readers()]
        ['sensors-csv']
    """
    return [SensorCsvReader()]
