"""What a climate variable measures, so units of the wrong kind are refused (furlongs for t2m).

A variable is recognised by its CF ``standard_name`` or, failing that, by a common name (ERA5
short and long names, CMIP and NCEP names). Its units must then have one of the quantity's
dimensions: a temperature in K, degC or degF, never a length. Unknown variables are not
checked (vamoh does not guess), and units are never converted.

Example:
    >>> quantity_of("t2m", {}).name, quantity_of("x", {"standard_name": "eastward_wind"}).name
    ('temperature', 'wind speed')
    >>> quantity_of("my_index", {}) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pint

from vamoh_climate.errors import UnitsError

__all__ = ["Quantity", "check_units_fit", "quantity_of"]


@dataclass(frozen=True)
class Quantity:
    """A physical quantity: its name, the pint dimensionalities it may have and example units.

    Example:
        >>> TEMPERATURE.examples
        ('K', 'degC', 'degF')
    """

    name: str
    dimensions: tuple[str, ...]
    examples: tuple[str, ...]


TEMPERATURE = Quantity("temperature", ("[temperature]",), ("K", "degC", "degF"))
SPEED = Quantity("wind speed", ("[length] / [time]",), ("m s-1", "km h-1", "knot"))
PRESSURE = Quantity("pressure", ("[mass] / [length] / [time] ** 2",), ("Pa", "hPa"))
GEOPOTENTIAL = Quantity("geopotential", ("[length] ** 2 / [time] ** 2",), ("m2 s-2",))
HEIGHT = Quantity("height", ("[length]",), ("m", "km"))
FRACTION = Quantity("fraction", ("dimensionless",), ("1", "%"))
# precipitation comes as a depth (ERA5 tp in m), a mass per area (kg m-2, the same as mm of
# water) or as rates of either (CMIP pr in kg m-2 s-1, mm day-1)
PRECIPITATION = Quantity(
    "precipitation",
    (
        "[length]",
        "[mass] / [length] ** 2",
        "[length] / [time]",
        "[mass] / [length] ** 2 / [time]",
    ),
    ("m", "mm", "kg m-2", "kg m-2 s-1", "mm day-1"),
)

_BY_STANDARD_NAME: dict[str, Quantity] = {
    "air_temperature": TEMPERATURE,
    "surface_temperature": TEMPERATURE,
    "sea_surface_temperature": TEMPERATURE,
    "dew_point_temperature": TEMPERATURE,
    "soil_temperature": TEMPERATURE,
    "eastward_wind": SPEED,
    "northward_wind": SPEED,
    "wind_speed": SPEED,
    "air_pressure": PRESSURE,
    "surface_air_pressure": PRESSURE,
    "air_pressure_at_mean_sea_level": PRESSURE,
    "geopotential": GEOPOTENTIAL,
    "geopotential_height": HEIGHT,
    "relative_humidity": FRACTION,
    "specific_humidity": FRACTION,
    "cloud_area_fraction": FRACTION,
    "precipitation_flux": PRECIPITATION,
    "precipitation_amount": PRECIPITATION,
    "lwe_thickness_of_precipitation_amount": PRECIPITATION,
}

_BY_NAME: dict[str, Quantity] = {
    **dict.fromkeys(
        (
            "t2m",
            "2m_temperature",
            "tas",
            "tasmax",
            "tasmin",
            "air",
            "sst",
            "sea_surface_temperature",
            "skt",
            "skin_temperature",
            "d2m",
            "2m_dewpoint_temperature",
            "mx2t",
            "mn2t",
        ),
        TEMPERATURE,
    ),
    **dict.fromkeys(
        (
            "u10",
            "v10",
            "10m_u_component_of_wind",
            "10m_v_component_of_wind",
            "si10",
            "10m_wind_speed",
            "uas",
            "vas",
            "sfcwind",
        ),
        SPEED,
    ),
    **dict.fromkeys(
        ("sp", "msl", "surface_pressure", "mean_sea_level_pressure", "ps", "psl", "slp"),
        PRESSURE,
    ),
    **dict.fromkeys(("tp", "total_precipitation", "pr", "precip"), PRECIPITATION),
    **dict.fromkeys(("hurs", "huss", "tcc", "total_cloud_cover"), FRACTION),
}


def quantity_of(name: str, attrs: dict[str, Any]) -> Quantity | None:
    """The quantity a variable measures: by ``standard_name`` first, then by its name.

    Example:
        >>> quantity_of("2m_temperature", {}).examples[0]
        'K'
    """
    standard = str(attrs.get("standard_name", "")).strip().lower()
    if standard in _BY_STANDARD_NAME:
        return _BY_STANDARD_NAME[standard]
    return _BY_NAME.get(str(name).strip().lower())


def _dimension_text(unit: pint.Unit) -> str:
    dims = unit.dimensionality
    return "dimensionless" if not dims else str(dims)


def check_units_fit(name: str, attrs: dict[str, Any], unit: pint.Unit, units: str) -> None:
    """Raise :class:`UnitsError` when ``unit`` cannot measure what variable ``name`` is.

    Example:
        >>> from vamoh_climate.units import unit_registry
        >>> check_units_fit("t2m", {}, unit_registry.Unit("degC"), "degC")  # fine
        >>> try:
        ...     check_units_fit("t2m", {}, unit_registry.Unit("furlong"), "furlongs")
        ... except UnitsError as error:
        ...     print(str(error)[:60])
        variable 't2m' is a temperature (by its name) but its units
    """
    quantity = quantity_of(name, attrs)
    if quantity is None:
        return
    found = _dimension_text(unit)
    if found in quantity.dimensions:
        return
    how = "standard_name" if str(attrs.get("standard_name", "")).strip() else "name"
    kind = "a dimensionless number" if found == "dimensionless" else f"a quantity of {found}"
    examples = ", ".join(repr(e) for e in quantity.examples)
    raise UnitsError(
        f"variable {name!r} is a {quantity.name} (by its {how}) but its units {units!r} "
        f"measure {kind}; a {quantity.name} needs units such as {examples}. Fix the attribute, "
        f"e.g. ds[{name!r}].attrs['units'] = {quantity.examples[0]!r}, if the values are in "
        f"those units."
    )
