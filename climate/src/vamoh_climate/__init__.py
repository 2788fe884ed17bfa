"""vamoh_climate: the first-party climate plugin of vamoh.

Lat/lon fields (ERA5, NCEP, any CF-style netCDF or Zarr) and station series become points on the
unit sphere; results come back as xarray with the input's coordinates, attrs and units. Also here:
the classical baselines (:mod:`vamoh_climate.baselines`), area-weighted metrics
(:mod:`vamoh_climate.metrics`) and offline cartopy maps (:mod:`vamoh_climate.plot`).

Example:
    >>> import vamoh_climate
    >>> vamoh_climate.ClimateModality.name
    'climate'
"""

from vamoh_climate.modality import ClimateModality
from vamoh_climate.readers import NetCDFReader, ZarrReader
from vamoh_climate.sphere import SphereCoordinates

__all__ = ["ClimateModality", "NetCDFReader", "SphereCoordinates", "ZarrReader"]
