"""Parsing quantities from text with errors that name the field and the expected dimension."""

from enum import Enum
from typing import Any

import pint

from thecal.units.errors import InputError
from thecal.units.registry import Q_, ureg


class Dimension(Enum):
    """Dimensions Thecal works with, each with an example a user can copy."""

    MASS = ("[mass]", "a mass such as '2.5 mg' or '50 mcg'")
    VOLUME = ("[length] ** 3", "a volume such as '20 mL'")
    LENGTH = ("[length]", "a length such as '35 cm'")
    TIME = ("[time]", "a duration such as '2 h' or '14 d'")
    CONCENTRATION = ("[mass] / [length] ** 3", "a concentration such as '10 mg/mL' or '25 mcg/mL'")
    DOSE_RATE = (
        "[mass] / [time]",
        "a dose rate with its time base, such as '2.5 mcg/d' or '0.1 mg/h'",
    )
    FLOW_RATE = ("[length] ** 3 / [time]", "a flow rate with its time base, such as '0.5 mL/h'")
    VOLUME_PER_LENGTH = ("[length] ** 2", "a volume per length such as '0.0026 mL/cm'")
    DIMENSIONLESS = ("", "a plain number or a percentage such as '30 %'")

    def __init__(self, pint_dim: str, example: str) -> None:
        self.pint_dim = pint_dim
        self.example = example

    @property
    def dimensionality(self) -> Any:
        return (
            ureg.get_dimensionality(self.pint_dim) if self.pint_dim else ureg.get_dimensionality("")
        )


# Text a user might type that means a dose without a time base.
_TIME_BASE_HINT = {
    Dimension.DOSE_RATE: "a dose needs a time base: write 'mg/d' or 'mg/h', never a bare 'mg'",
    Dimension.FLOW_RATE: "a rate needs a time base: write 'mL/d' or 'mL/h', never a bare 'mL'",
}


def parse_quantity(value: Any, field: str, expected: Dimension) -> pint.Quantity:
    """Parse ``value`` (text like ``'10 mg/mL'``, or a pint quantity) and check its dimension.

    A bare number is refused for every dimensioned field: units are never assumed.
    Raises :class:`InputError` naming ``field`` and the expected form.
    """
    if isinstance(value, pint.Quantity):
        quantity = value
    elif isinstance(value, str):
        text = value.strip().replace("%", " percent")
        if not text:
            raise InputError(field, "is empty", expected.example)
        try:
            quantity = Q_(text)
        except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
            raise InputError(field, f"unknown unit in {value!r} ({exc})", expected.example) from exc
        except Exception as exc:  # pint raises several parser errors; all mean "not a quantity"
            raise InputError(
                field, f"cannot read {value!r} as a quantity", expected.example
            ) from exc
        if not isinstance(quantity, pint.Quantity):
            quantity = Q_(float(quantity), "")
        if (
            quantity.dimensionless
            and expected is not Dimension.DIMENSIONLESS
            and "percent" not in text
        ):
            raise InputError(field, f"{value!r} has no unit", expected.example)
    elif isinstance(value, bool):
        raise InputError(field, f"got {value!r}", expected.example)
    elif isinstance(value, int | float):
        if expected is Dimension.DIMENSIONLESS:
            return Q_(float(value), "")
        raise InputError(field, f"the number {value!r} has no unit", expected.example)
    else:
        raise InputError(field, f"got {type(value).__name__}", expected.example)
    return check_dimension(quantity, field, expected, original=value)


def check_dimension(
    quantity: pint.Quantity, field: str, expected: Dimension, original: Any = None
) -> pint.Quantity:
    """Return ``quantity`` if it has the ``expected`` dimension, else raise :class:`InputError`."""
    if quantity.dimensionality == expected.dimensionality:
        return quantity
    shown = original if original is not None else f"{quantity:~P}"
    got = _describe(quantity)
    message = f"{shown!r} is {got}, not {expected.name.lower().replace('_', ' ')}"
    hint = _TIME_BASE_HINT.get(expected)
    if hint and quantity.dimensionality == ureg.get_dimensionality(
        "[mass]" if expected is Dimension.DOSE_RATE else "[length] ** 3"
    ):
        message = f"{shown!r} has no time base; {hint}"
    raise InputError(field, message, expected.example)


def _describe(quantity: pint.Quantity) -> str:
    for dim in Dimension:
        if quantity.dimensionality == dim.dimensionality:
            return f"a {dim.name.lower().replace('_', ' ')}"
    return f"of dimension {quantity.dimensionality}"
