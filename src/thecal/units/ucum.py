"""UCUM codes for the units Thecal prints (files and JSON always carry UCUM)."""

from typing import Any

import pint

from thecal.units.registry import ureg

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


def ucum_json(quantity: pint.Quantity, unit: str | None = None, digits: int = 6) -> dict[str, Any]:
    """``{"value": …, "unit": "<UCUM>"}``, optionally converted to ``unit`` (a pint unit string)."""
    q = quantity.to(unit) if unit else quantity
    return {"value": round(float(q.magnitude), digits), "unit": to_ucum(q)}


__all__ = ["to_ucum", "ucum_json", "ureg"]
