"""UCUM codes for the units Thecal prints (files and JSON always carry UCUM)."""

from typing import Any

import pint

from thecal.units.registry import ureg
from thecal.units.table import DIMENSIONLESS, UNITS, lookup

# Canonical output units by dimension, and their UCUM spelling. Order: preferred first.
_UCUM: dict[str, str] = {
    "milligram": "mg",
    "microgram": "ug",
    "gram": "g",
    "milliliter": "mL",
    "microliter": "uL",
    "liter": "L",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "week": "wk",
    "year": "a",
    "month": "mo",
    "centimeter": "cm",
    "millimeter": "mm",
    "percent": "%",
    "mcg": "ug",
    "cc": "mL",
    "microsecond": "us",
    "millisecond": "ms",
    "milliampere": "mA",
    "microampere": "uA",
    "volt": "V",
    "millivolt": "mV",
    "ohm": "Ohm",
    "kiloohm": "kOhm",
    "hertz": "Hz",
    "kilohertz": "kHz",
    "microcoulomb": "uC",
    "nanocoulomb": "nC",
    "milliampere_hour": "mAh",  # UCUM "mA.h"; written as the reader accepts it
    "microjoule": "uJ",
    "millijoule": "mJ",
    "joule": "J",
    "microwatt": "uW",
    "milliwatt": "mW",
}


def to_ucum(quantity: pint.Quantity) -> str:
    """The UCUM code of ``quantity``'s unit, e.g. ``mg/d``, ``ug/d``, ``mL/h``, ``mg/mL``."""
    numerator: list[str] = []
    denominator: list[str] = []
    for name, power in quantity.unit_items():
        code = _UCUM.get(str(name))
        if code is None:
            raise ValueError(f"no UCUM code for unit {name!r}")
        exponent = int(float(power))  # type: ignore[arg-type]
        text = code if abs(exponent) == 1 else f"{code}{abs(exponent)}"
        (numerator if exponent > 0 else denominator).append(text)
    if not numerator and not denominator:
        return "1"
    out = ".".join(numerator) if numerator else "1"
    for d in denominator:
        out += f"/{d}"
    return out


def unit_from_ucum(code: str) -> pint.Unit | None:
    """The pint unit of a UCUM code from the allow-list (``ug/d``, ``mL/h``, ``1``), else None.

    The inverse of :func:`to_ucum` for every unit a value may carry; one dictionary lookup, so
    a code from a frame or a request never reaches pint's expression parser."""
    if code == "1":
        return DIMENSIONLESS
    found = lookup(code) if len(code) <= 32 else None
    return None if found is None else found[1]


def known_unit(text: str) -> pint.Unit | None:
    """:func:`unit_from_ucum`, or the pint name of an allowed unit (``milliliter``,
    ``milligram / day``) as older logs stored it; None for anything else."""
    return unit_from_ucum(text) or _BY_NAME.get(text)


_BY_NAME = {str(unit): unit for _, unit in UNITS.values()}


def ucum_json(quantity: pint.Quantity, unit: str | None = None, digits: int = 6) -> dict[str, Any]:
    """``{"value": …, "unit": "<UCUM>"}``, optionally converted to ``unit`` (a pint unit string)."""
    q = quantity.to(unit) if unit else quantity
    return {"value": round(float(q.magnitude), digits), "unit": to_ucum(q)}


__all__ = ["known_unit", "to_ucum", "ucum_json", "unit_from_ucum", "ureg"]
