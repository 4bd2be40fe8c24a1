"""The one strict quantity parser: every value from outside (file, option, form, JSON) comes
through :func:`parse_quantity`.

Accepted text is exactly one finite decimal number and one unit from the allow-list of the
expected dimension (``units/table.py``): ``"2.5 mL"``, ``"0.1 mg/h"``, ``"1e-3 mL"``, ``"30 %"``.
Refused, each with an error naming the field and the form to write: NaN and infinity, arithmetic
(``"2 mL + 3 mL"``, ``"5 mL * 9**9**9"``), decimal commas and thousands separators
(``"2,5 mL"``, ``"1,000 mg"``), a naked decimal (``".5 mL"``), exponents outside
±:data:`MAX_EXPONENT`, magnitudes above :data:`MAX_MAGNITUDE` or (except zero) below
:data:`MIN_MAGNITUDE`, units off the list (``"4 gallon"``, ``"2 cc"``), negative values unless
the field allows them, and text longer than :data:`MAX_LENGTH` characters.

The work per value is bounded: the length is checked first, then one linear regular expression
and one dictionary lookup. User text never reaches pint's expression parser (which evaluates
``**`` and once froze a server for minutes on ``9**9**9``).
"""

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pint

from thecal.units.errors import InputError
from thecal.units.registry import Q_, ureg
from thecal.units.table import DIMENSIONLESS, SHOWN, Dimension, instead, lookup

__all__ = [
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MAGNITUDE",
    "Dimension",
    "check_dimension",
    "parse_quantity",
]

MAX_LENGTH = 64
"""Longest accepted text (characters, before stripping); a unit on its own: the same bound."""
MAX_EXPONENT = 30
"""Largest ``|n|`` in a written exponent ``e<n>``: ``float()`` of an accepted text can neither
overflow to infinity (``1e309``) nor underflow to zero (``1e-400``)."""
MAX_MAGNITUDE = 1e20
"""Largest accepted magnitude; a nonzero one is at least :data:`MIN_MAGNITUDE`. Far outside
every clinical value (the safety gate's range checks decide those), this keeps arithmetic on a
few values finite. Every value in the window, written exactly (``repr``, as plan text and the
store write it: ``1e-20``, ``1e+20``), reads back: the exponent bound leaves ten decades."""
MIN_MAGNITUDE = 1e-20

# One number (ASCII digits only: str.isdigit and float() also take other scripts' digits), an
# optional exponent, optional blanks, an optional unit of letters with at most one '/' (each
# side may end in a power 2 or 3: 'mm2', 'uC/cm2').
# No nested repetition: matching is linear in the (already bounded) length.
_BLANK = "[ \t\u00a0\u202f]"
_QUANTITY = re.compile(
    r"(?P<number>[+-]?[0-9]+(?:\.[0-9]+)?)(?:[eE](?P<exp>[+-]?[0-9]+))?"
    rf"{_BLANK}*(?P<unit>[A-Za-zµμ%]+[23]?(?:{_BLANK}*/{_BLANK}*[A-Za-zµμ]+[23]?)?)?"
)
_COMMA_NUMBER = re.compile(r"[0-9]+(?:,[0-9]+)+")
_ARITHMETIC = re.compile(r"[*^()=+]|[0-9a-zA-Z]\s*-|\s/|/\s*[0-9]")
_NOT_FINITE = re.compile(r"nan|inf", re.IGNORECASE)
_NAKED_DECIMAL = re.compile(r"[+-]?\.[0-9]")

# Text a user might type that means a dose without a time base.
_TIME_BASE_HINT = {
    Dimension.DOSE_RATE: "a dose needs a time base: write 'mg/d' or 'mg/h', never a bare 'mg'",
    Dimension.FLOW_RATE: "a rate needs a time base: write 'mL/d' or 'mL/h', never a bare 'mL'",
}


def parse_quantity(
    value: Any, field: str, expected: Dimension, *, allow_negative: bool = False
) -> pint.Quantity:
    """Parse ``value`` and check it is finite, of the ``expected`` dimension and not negative.

    ``value`` is text (``'10 mg/mL'``), a JSON pair ``{"value": 10, "unit": "mg/mL"}`` (UCUM
    unit), a pint quantity (checked, returned as is) or, for a dimensionless field only, a
    number. A bare number is refused for every dimensioned field: units are never assumed.
    ``allow_negative`` lets a field that can be negative (a clock offset) say so; zero is
    always accepted. Raises :class:`InputError` naming ``field`` and the expected form.
    """
    if isinstance(value, pint.Quantity):
        quantity = _finite_quantity(value, field, expected)
    elif isinstance(value, str):
        quantity = _from_text(value, field, expected)
    elif isinstance(value, Mapping):
        quantity = _from_pair(value, field, expected)
    elif isinstance(value, bool):
        raise InputError(field, f"got {value!r}", expected.example)
    elif isinstance(value, int | float):
        magnitude = _finite(value, field, expected)
        if expected is not Dimension.DIMENSIONLESS:
            raise InputError(field, f"the number {value!r} has no unit", expected.example)
        quantity = Q_(magnitude, DIMENSIONLESS)
    else:
        raise InputError(field, f"got {type(value).__name__}", expected.example)
    quantity = check_dimension(quantity, field, expected, original=value)
    if not allow_negative and bool(np.any(np.asarray(quantity.magnitude) < 0)):
        raise InputError(
            field, f"{_shown(value)} is negative; it cannot be below zero", expected.example
        )
    return quantity


def check_dimension(
    quantity: pint.Quantity, field: str, expected: Dimension, original: Any = None
) -> pint.Quantity:
    """Return ``quantity`` if it has the ``expected`` dimension, else raise :class:`InputError`."""
    if quantity.dimensionality == expected.dimensionality:
        return quantity
    shown = _shown(original) if original is not None else repr(f"{quantity:~P}")
    got = _describe(quantity)
    message = f"{shown} is {got}, not {expected.name.lower().replace('_', ' ')}"
    hint = _TIME_BASE_HINT.get(expected)
    if hint and quantity.dimensionality == ureg.get_dimensionality(
        "[mass]" if expected is Dimension.DOSE_RATE else "[length] ** 3"
    ):
        message = f"{shown} has no time base; {hint}"
    raise InputError(field, message, expected.example)


# --- the three shapes of input ----------------------------------------------------------------


def _from_text(value: str, field: str, expected: Dimension) -> pint.Quantity:
    # The bound comes first: nothing below sees more than MAX_LENGTH characters.
    if len(value) > MAX_LENGTH:
        raise InputError(
            field, f"is too long ({len(value)} characters; at most {MAX_LENGTH})", expected.example
        )
    text = value.strip()
    if not text:
        raise InputError(field, "is empty", expected.example)
    m = _QUANTITY.fullmatch(text)
    if m is None:
        raise _unreadable(text, field, expected)
    exp = m["exp"]
    if exp is not None and (len(exp.lstrip("+-")) > 3 or abs(int(exp)) > MAX_EXPONENT):
        raise InputError(
            field,
            f"{text!r}: the exponent e{exp} is outside -{MAX_EXPONENT}..{MAX_EXPONENT}",
            _example(expected),
        )
    number = text[: m.end("exp") if exp is not None else m.end("number")]
    magnitude = _finite(float(number), field, expected)
    if m["unit"] is None:
        if expected is Dimension.DIMENSIONLESS:
            return Q_(magnitude, DIMENSIONLESS)
        raise InputError(field, f"{text!r} has no unit", expected.example)
    return Q_(magnitude, _unit(m["unit"], repr(text), field, expected))


def _from_pair(value: Mapping[Any, Any], field: str, expected: Dimension) -> pint.Quantity:
    """``{"value": number, "unit": "UCUM"}`` (the API's and the link's quantity)."""
    if set(value) != {"value", "unit"}:
        raise InputError(field, 'expected {"value": number, "unit": "UCUM"}', expected.example)
    number, unit = value["value"], value["unit"]
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise InputError(field + ".value", "must be a number", _example(expected))
    if not isinstance(unit, str):
        raise InputError(field + ".unit", "must be text", _accepted(expected))
    magnitude = _finite(number, field + ".value", expected)
    if len(unit) > MAX_LENGTH:
        raise InputError(
            field + ".unit",
            f"is too long ({len(unit)} characters; at most {MAX_LENGTH})",
            _accepted(expected),
        )
    text = unit.strip()
    if text in ("", "1") and expected is Dimension.DIMENSIONLESS:
        return Q_(magnitude, DIMENSIONLESS)
    if not text:
        raise InputError(field + ".unit", "is empty", _accepted(expected))
    return Q_(magnitude, _unit(text, repr(unit), field + ".unit", expected))


def _finite_quantity(q: pint.Quantity, field: str, expected: Dimension) -> pint.Quantity:
    try:
        finite = bool(np.all(np.isfinite(np.asarray(q.magnitude, dtype=float))))
    except (TypeError, ValueError, OverflowError):
        finite = False
    if not finite:
        raise InputError(field, f"{q!s} is not a finite number", expected.example)
    return q


# --- pieces -------------------------------------------------------------------------------------


def _finite(number: float, field: str, expected: Dimension) -> float:
    try:
        f = float(number)
    except OverflowError:  # an int beyond float range (10**400)
        f = math.inf
    if not math.isfinite(f):
        raise InputError(field, f"{_shown(number)} is not a finite number", _example(expected))
    if abs(f) > MAX_MAGNITUDE:
        raise InputError(
            field, f"{_shown(number)} is larger than {MAX_MAGNITUDE:g}", _example(expected)
        )
    if f and abs(f) < MIN_MAGNITUDE:
        raise InputError(
            field,
            f"{_shown(number)} is below {MIN_MAGNITUDE:g}; write 0 for none",
            _example(expected),
        )
    return f + 0.0  # -0.0 + 0.0 is 0.0: no "-0 mL" downstream


def _unit(unit: str, shown: str, field: str, expected: Dimension) -> pint.Unit:
    compact = "".join(unit.split())
    found = lookup(compact)
    if found is not None:
        return found[1]
    better = instead(compact)
    hint = f"; write {better!r}" if better else ""
    raise InputError(field, f"unknown unit {compact!r} in {shown}{hint}", _accepted(expected))


def _unreadable(text: str, field: str, expected: Dimension) -> InputError:
    """Why ``text`` (at most MAX_LENGTH characters) is not one number and one unit."""
    comma = _COMMA_NUMBER.search(text)
    if comma:
        groups = comma[0].split(",")
        decimal = text.replace(comma[0], comma[0].replace(",", ".", 1).replace(",", ""))
        if all(len(g) == 3 for g in groups[1:]):
            whole = text.replace(comma[0], comma[0].replace(",", ""))
            advice = f"write {whole} (no thousands separator), or {decimal} for a decimal"
        else:
            advice = f"write {decimal} (a point, not a comma, before the decimals)"
        return InputError(
            field, f"{text!r}: a comma is not accepted in a number; {advice}", _example(expected)
        )
    if _NOT_FINITE.search(text):
        return InputError(field, f"{text!r} is not a finite number", _example(expected))
    if _NAKED_DECIMAL.match(text):
        fixed = text.replace(".", "0.", 1) if text[0] == "." else text[0] + "0" + text[1:]
        return InputError(
            field, f"{text!r}: write {fixed} (a zero before the point)", _example(expected)
        )
    if "," in text:
        return InputError(field, f"{text!r}: a comma is not accepted here", _example(expected))
    if _ARITHMETIC.search(text[1:]):
        return InputError(
            field, f"{text!r}: write one number and one unit (no arithmetic)", _example(expected)
        )
    return InputError(
        field, f"cannot read {text!r}: write one number and one unit", _example(expected)
    )


def _example(expected: Dimension) -> str:
    return f"{expected.example}; units: {SHOWN[expected]}"


def _accepted(expected: Dimension) -> str:
    return f"one of {SHOWN[expected]}"


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) > MAX_LENGTH:
        return f"a text of {len(value)} characters"
    if isinstance(value, Mapping):
        return f"{value.get('value')!r} {value.get('unit')}"
    return repr(value)


def _describe(quantity: pint.Quantity) -> str:
    for dim in Dimension:
        if quantity.dimensionality == dim.dimensionality:
            return f"a {dim.name.lower().replace('_', ' ')}"
    return f"of dimension {quantity.dimensionality}"
