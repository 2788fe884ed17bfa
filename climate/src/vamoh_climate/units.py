"""Units through pint with cf_xarray's registry (CF spellings such as ``degrees_north``, ``kg m-2``).

Units are checked, never converted: a field in degC is modelled and returned in degC. A units
string pint cannot read is an error, not a guess.
"""

from __future__ import annotations

from typing import Any

import pint
import xarray as xr
from cf_xarray.units import units as unit_registry

from vamoh_climate.errors import UnitsError
from vamoh_climate.quantities import check_units_fit

__all__ = [
    "dequantify",
    "parse_units",
    "same_units",
    "temperature_range",
    "unit_registry",
    "units_of",
]


def parse_units(units: str, *, variable: str = "?") -> pint.Unit:
    """The pint unit of a CF ``units`` string; ``UnitsError`` when pint does not know it.

    Example:
        >>> str(parse_units("degC")), str(parse_units("degK")), str(parse_units("kg m-2 s-1"))
        ('degree_Celsius', 'kelvin', 'kilogram / meter ** 2 / second')
    """
    text = str(units).strip()
    if text == "":
        return unit_registry.dimensionless
    try:
        return unit_registry.Unit(text)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError) as exc:
        raise UnitsError(
            f"variable {variable!r} has units {units!r}, which pint (with cf_xarray's unit "
            f"registry) does not recognise ({type(exc).__name__}). Fix the attribute, e.g. "
            f"ds[{variable!r}].attrs['units'] = 'K' (or 'degC', 'degF', 'm s-1', 'Pa', '1')."
        ) from exc
    except Exception as exc:  # pint raises a variety of parse errors for odd strings
        raise UnitsError(
            f"variable {variable!r} has units {units!r}, which cannot be parsed as a unit "
            f"({type(exc).__name__}). Fix the attribute with a CF units string, e.g. "
            f"ds[{variable!r}].attrs['units'] = 'K' (or 'degC', 'm s-1', 'Pa', '1')."
        ) from exc


def same_units(a: str, b: str) -> bool:
    """Whether two units strings name the same unit (``K`` and ``kelvin``; not ``K`` and ``degC``).

    Example:
        >>> same_units("K", "kelvin"), same_units("K", "degC"), same_units("m s-1", "m/s")
        (True, False, True)
    """
    if a.strip() == b.strip():
        return True
    try:
        return bool(parse_units(a) == parse_units(b))
    except UnitsError:
        return False


def units_of(variable: xr.DataArray, name: str) -> str | None:
    """The checked ``units`` attribute of ``variable`` (``None`` when it has none or it is empty).

    The units must parse, and must measure what the variable is when its standard_name or name
    says (:func:`vamoh_climate.quantities.check_units_fit`: a temperature in K, degC or degF).

    Example:
        >>> import xarray as xr
        >>> units_of(xr.DataArray([1.0], attrs={"units": "degF"}), "t"), units_of(xr.DataArray([1.0]), "t")
        ('degF', None)
    """
    units = variable.attrs.get("units")
    if units is None:
        return None
    unit = parse_units(units, variable=name)
    text = str(units).strip()
    if text:
        check_units_fit(name, dict(variable.attrs), unit, text)
    return text or None


def dequantify(data: xr.Dataset) -> xr.Dataset:
    """Turn pint-quantified variables (pint-xarray) back into plain arrays with ``units`` attrs.

    Example:
        >>> import numpy as np, pint_xarray, xarray as xr
        >>> ds = xr.Dataset({"t": ("x", np.zeros(2), {"units": "degC"})})
        >>> dequantify(ds.pint.quantify(unit_registry=unit_registry))["t"].attrs["units"]
        'degree_Celsius'
    """
    quantified = any(isinstance(v.data, pint.Quantity) for v in data.variables.values())
    if not quantified:
        return data
    import pint_xarray  # noqa: F401  (registers the .pint accessor)

    return data.pint.dequantify()


def temperature_range(units: str | None, low_kelvin: float, high_kelvin: float) -> float:
    """The width of ``[low_kelvin, high_kelvin]`` expressed in ``units`` (K, degC, degF, ...).

    Example:
        >>> round(temperature_range("degF", 202.66, 320.93), 3)
        212.886
    """
    if units is None:
        raise UnitsError(
            "the data has no units, so a temperature range in kelvin cannot be converted; set "
            "attrs['units'] (e.g. 'K') or pass data_range explicitly."
        )
    unit = parse_units(units)
    q: Any = unit_registry.Quantity
    try:
        low = q(low_kelvin, "kelvin").to(unit).magnitude
        high = q(high_kelvin, "kelvin").to(unit).magnitude
    except pint.errors.DimensionalityError as exc:
        raise UnitsError(
            f"units {units!r} are not a temperature, so the paper's kelvin range does not apply; "
            f"pass data_range=(low, high) in {units!r}."
        ) from exc
    return float(high - low)
