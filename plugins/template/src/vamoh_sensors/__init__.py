"""vamoh_sensors: a vamoh plugin for 1-D sensor time series (irregular sampling, NaN gaps).

Installing the package registers the ``sensors`` modality and the ``sensors-csv`` reader through
the ``vamoh`` entry-point group, so ``vamoh.fit(records)`` can gap-fill a sensor's record.

Example:
    >>> import vamoh
    >>> "sensors" in vamoh.plugins.modalities()
    True
"""

from vamoh_sensors.errors import SensorDataError
from vamoh_sensors.examples import invalid_records, synthetic_records
from vamoh_sensors.layout import SensorLayout
from vamoh_sensors.linear import linear_interpolate
from vamoh_sensors.modality import SensorModality
from vamoh_sensors.reader import SensorCsvReader
from vamoh_sensors.records import SensorRecords, parse_records
from vamoh_sensors.timespan import TimeSpan

__all__ = [
    "SensorCsvReader",
    "SensorDataError",
    "SensorLayout",
    "SensorModality",
    "SensorRecords",
    "TimeSpan",
    "invalid_records",
    "linear_interpolate",
    "parse_records",
    "synthetic_records",
]

__version__ = "0.1.0"
