"""Human display of quantities: clinic spelling ("mcg", never "µg", which is misread as "mg")."""

import math
from decimal import Decimal

import pint

from thecal.units.registry import ureg
from thecal.units.table import UNITS


def fmt(q: pint.Quantity, digits: int = 4) -> str:
    """``2.5 mcg/d``, ``0.25 mL/d``: ``digits`` significant figures, short unit symbols."""
    unit = (
        f"{q.units:~P}".replace("µg", "mcg")
        .replace("day", "d")
        .replace("hr", "h")
        .replace("ml", "mL")
    )
    return f"{plain(q.magnitude, digits)} {unit}".strip()


def plain(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant figures as a plain decimal: ``0.00001128``, ``10000``,
    never ``1.128e-05`` or ``1e+04`` (a nurse reads a number, not an exponent)."""
    if not math.isfinite(x) or x == 0:
        return f"{x:g}"
    text = format(Decimal(f"{x:.{digits}g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _spellings() -> dict[pint.Unit, str]:
    out: dict[pint.Unit, str] = {}
    for text, (_, unit) in UNITS.items():
        out.setdefault(unit, text)
    out[ureg.Unit("year")] = "y"  # not the UCUM "a", which a reader may not know
    return out


_SPELLING = _spellings()
# The unit a quantity is written in when its own unit has no accepted spelling (a litre).
_FALLBACK = {
    "[mass]": "mg",
    "[length] ** 3": "mL",
    "[length]": "cm",
    "[time]": "h",
    "[mass] / [length] ** 3": "mg/mL",
    "[mass] / [time]": "mg/d",
    "[length] ** 3 / [time]": "mL/d",
    "[length] ** 2": "mL/cm",
}


def exact(q: pint.Quantity) -> str:
    """``q`` as file text the strict parser reads back to the same quantity: every digit
    (``repr``) and an accepted spelling of its unit (``2.5 mL``, ``10.0 mcg/mL``). A unit
    without one is converted to the dimension's usual unit first. Raises ``ValueError`` for
    a dimension a plan file never holds."""
    unit = _SPELLING.get(ureg.Unit(q.units))
    if unit is None:
        for dim, fallback in _FALLBACK.items():
            if q.dimensionality == ureg.get_dimensionality(dim):
                q, unit = q.to(_SPELLING_UNIT[fallback]), fallback
                break
        else:
            raise ValueError(f"no file spelling for {q.units}")
    return f"{float(q.magnitude)!r} {unit}"


_SPELLING_UNIT = {text: unit for unit, text in _SPELLING.items()}
