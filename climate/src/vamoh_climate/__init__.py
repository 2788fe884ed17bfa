"""vamoh_climate: the first-party climate plugin of vamoh.

Lat/lon fields (ERA5, NCEP, any CF-style netCDF or Zarr) and station series become points on the
unit sphere; results come back as xarray with the input's coordinates, attrs and units. Also here:
the classical baselines (:mod:`vamoh_climate.baselines`), area-weighted metrics
(:mod:`vamoh_climate.metrics`), offline cartopy maps (:mod:`vamoh_climate.plot`), and
:func:`to_zarr` / :func:`to_netcdf` for results with CF attrs.

Example:
    >>> import vamoh_climate
    >>> vamoh_climate.ClimateModality.name
    'climate'
"""

from vamoh_climate.modality import ClimateModality
from vamoh_climate.readers import NetCDFReader, ZarrReader
from vamoh_climate.sphere import SphereCoordinates
from vamoh_climate.station_evaluation import evaluate_stations
from vamoh_climate.writers import to_netcdf, to_zarr

__all__ = [
    "ClimateModality",
    "NetCDFReader",
    "SphereCoordinates",
    "ZarrReader",
    "evaluate_stations",
    "to_netcdf",
    "to_zarr",
]
