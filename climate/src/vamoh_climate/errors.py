"""The errors climate data can raise before any training starts, each naming the problem and the fix.

Every error is a ``ValueError`` subclass, so ``except ValueError`` catches them all; the specific
classes let a caller (or a test) tell them apart.

Example:
    >>> from vamoh_climate.errors import ClimateDataError, MissingLatLonError
    >>> issubclass(MissingLatLonError, ClimateDataError), issubclass(ClimateDataError, ValueError)
    (True, True)
"""

from __future__ import annotations

__all__ = [
    "ClimateDataError",
    "DomainError",
    "DuplicateStationError",
    "GridError",
    "LayoutError",
    "MissingLatLonError",
    "MissingStationLocationError",
    "OutsideTrainingDomainWarning",
    "SampleDimError",
    "StationLocationError",
    "UnitsError",
    "UnnamedDataError",
    "VariableError",
]


class ClimateDataError(ValueError):
    """Base class: the data cannot be read as a climate field.

    Example:
        >>> issubclass(GridError, ClimateDataError)
        True
    """


class MissingLatLonError(ClimateDataError):
    """No latitude/longitude coordinates were found (by CF metadata or by name).

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> image = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"), name="pixels")
        >>> try:
        ...     ClimateModality().to_points(image)
        ... except MissingLatLonError as error:
        ...     print(str(error)[:55])
        no latitude and longitude found: dims ('y', 'x'), coord
    """


class GridError(ClimateDataError):
    """Latitude/longitude exist but do not form a valid grid or set of stations.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> ds = xr.Dataset({"t": (("lat", "lon"), np.zeros((3, 2)))},
        ...                 coords={"lat": [0.0, 2.0, 1.0], "lon": [0.0, 1.0]})
        >>> try:
        ...     ClimateModality().to_points(ds)
        ... except GridError as error:
        ...     print(error)
        coordinate 'lat' is not monotonic; sort it with ds.sortby('lat') (ascending or descending are both fine).
    """


class UnitsError(ClimateDataError):
    """A variable's ``units`` attribute is not a unit pint (with cf_xarray's registry) knows.

    Example:
        >>> from vamoh_climate.units import parse_units
        >>> try:
        ...     parse_units("kelvins_please", variable="t2m")
        ... except UnitsError as error:
        ...     print(str(error)[:50])
        variable 't2m' has units 'kelvins_please', which p
    """


class SampleDimError(ClimateDataError):
    """The requested sample dimension does not exist, or a dimension is left unaccounted for.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> try:
        ...     ClimateModality().to_points(global_field(2, 4, 8), sample_dim="member")
        ... except SampleDimError as error:
        ...     print(str(error)[:45])
        sample_dim 'member' is not a dimension of ['t
    """


class VariableError(ClimateDataError):
    """Requested variables are missing, or the variables do not share their dimensions.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> try:
        ...     ClimateModality().to_points(global_field(2, 4, 8), variables=["sst"])
        ... except VariableError as error:
        ...     print(error)
        variables ['sst'] not found; data variables are ['t2m']. Pass existing names in variables=[...].
    """


class UnnamedDataError(ClimateDataError):
    """A DataArray without a name: the name becomes the variable (channel) name.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> try:
        ...     ClimateModality().to_points(global_field(2, 4, 8)["t2m"].rename(None))
        ... except UnnamedDataError as error:
        ...     print(str(error)[:30])
        this DataArray has no name, an
    """


class DomainError(ClimateDataError):
    """A refinement target lies outside the input's (or the training data's) domain.

    Example:
        >>> from vamoh_climate import ClimateModality
        >>> from vamoh_climate.synthetic import global_field
        >>> regional = global_field(1, 8, 16).isel(latitude=slice(1, 3), longitude=slice(0, 3))
        >>> try:
        ...     ClimateModality().refine(regional, to={"lat": [0.0], "lon": [0.0]})
        ... except DomainError as error:
        ...     print(str(error)[:45])
        refine target: 1 of 1 points lie outside the
    """


class LayoutError(ClimateDataError):
    """``from_points`` got points that did not come from this modality's ``to_points``.

    Example:
        >>> import numpy as np
        >>> from vamoh.pointset import PointSet
        >>> from vamoh_climate import ClimateModality
        >>> foreign = PointSet(np.zeros((2, 3)), np.zeros((1, 2, 1)), ("x",), (None,))
        >>> try:
        ...     ClimateModality().from_points(foreign)
        ... except LayoutError as error:
        ...     print(str(error)[:45])
        these points have layout NoneType, not a Clim
    """


class OutsideTrainingDomainWarning(UserWarning):
    """Points to condition on or predict at lie far outside the training data's lat/lon box.

    A warning, not an error: the model still answers, but it extrapolates there, so its
    answer (and its std) deserve little trust.

    Example:
        >>> import warnings
        >>> import vamoh
        >>> from vamoh_climate.synthetic import global_field
        >>> south = global_field(6, 8, 16).isel(latitude=slice(4, 8))
        >>> model = vamoh.fit(south, max_epochs=1, progress=False, report=False)
        >>> north = global_field(1, 8, 16).isel(latitude=slice(0, 2))
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = model.impute(north)
        >>> print(str(caught[-1].message)[:62])
        variables ['t2m']: 32 of 32 points lie outside the training do
    """


class MissingStationLocationError(MissingLatLonError):
    """Station data (a station dimension) without latitude/longitude coordinates.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> ds = xr.Dataset({"tmax": (("station", "time"), np.zeros((3, 2)))},
        ...                 coords={"station": ["a", "b", "c"]})
        >>> try:
        ...     ClimateModality().to_points(ds)
        ... except MissingStationLocationError as error:
        ...     print(str(error)[:59])
        station data without locations: dim 'station' (3 stations)
    """


class StationLocationError(GridError):
    """Stations whose latitude or longitude is NaN or infinite.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> ds = xr.Dataset({"tmax": (("station", "time"), np.zeros((3, 2)))},
        ...                 coords={"station": ["a", "b", "c"],
        ...                         "lat": ("station", [45.0, np.nan, 46.0]),
        ...                         "lon": ("station", [7.0, 8.0, np.inf])})
        >>> try:
        ...     ClimateModality().to_points(ds)
        ... except StationLocationError as error:
        ...     print(str(error)[:66])
        2 of 3 stations along 'station' have a NaN or infinite lat/lon (e.
    """


class DuplicateStationError(GridError):
    """The station dimension's labels (station ids) repeat.

    Example:
        >>> import numpy as np, xarray as xr
        >>> from vamoh_climate import ClimateModality
        >>> ds = xr.Dataset({"tmax": (("station", "time"), np.zeros((3, 2)))},
        ...                 coords={"station": ["a", "b", "a"],
        ...                         "lat": ("station", [45.0, 46.0, 47.0]),
        ...                         "lon": ("station", [7.0, 8.0, 9.0])})
        >>> try:
        ...     ClimateModality().to_points(ds)
        ... except DuplicateStationError as error:
        ...     print(str(error)[:51])
        1 station id appears more than once along 'station'
    """
