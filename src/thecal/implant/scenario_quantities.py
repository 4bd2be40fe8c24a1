"""Reading a scenario's quantity texts for the runner, and showing doses and volumes back."""

from datetime import datetime, timedelta

import pint

from thecal.units import Dimension, InputError, fmt, parse_quantity


def at_time(value: datetime | str, start: datetime, field: str) -> datetime:
    """A date-time, or ``start`` plus a duration text such as ``"30 d"``."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        q = parse_quantity(value, field, Dimension.TIME)
        return start + timedelta(hours=float(q.to("h").magnitude))


def ml(q: pint.Quantity) -> float:
    """The magnitude in mL."""
    return float(q.to("mL").magnitude)


def fraction(text: str, field: str) -> float:
    """A fraction text (``"50 %"`` or ``0.5``) as a plain number (0.5)."""
    return float(parse_quantity(text, field, Dimension.DIMENSIONLESS).to("").magnitude)


def optional(text: str | None, field: str, dim: Dimension) -> pint.Quantity | None:
    return None if text is None else parse_quantity(text, field, dim)


def readable(dose: pint.Quantity) -> pint.Quantity:
    """A cumulative dose in mcg is shown in mg from 1000 mcg on (913 mg, not 9.13e+05 mcg)."""
    if micro(dose) and abs(float(dose.magnitude)) >= 1000.0:
        return dose.to("mg")
    return dose


def micro(q: pint.Quantity) -> bool:
    """Whether ``q`` is in micrograms (or per microgram)."""
    return {str(n) for n, _ in q.unit_items()} & {"microgram", "mcg"} != set()


def check_fraction(value: float, field: str) -> float:
    """``value`` if from 0 to 1 (both included), else an error naming ``field``."""
    if not 0.0 <= value <= 1.0:
        raise InputError(field, f"got {value * 100:g} %", "a fraction from 0 to 100 %")
    return value


def check_fill(volume: pint.Quantity, capacity: pint.Quantity, field: str) -> None:
    """A fill must be more than 0 and at most the reservoir capacity (included)."""
    v = ml(volume)
    if v <= 0 or v > ml(capacity) * (1 + 1e-9):
        raise InputError(
            field, f"{fmt(volume)} does not fit", f"more than 0, at most {fmt(capacity)}"
        )
