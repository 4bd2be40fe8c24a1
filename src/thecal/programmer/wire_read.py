"""Strict readers of decoded JSON values for the device data on the wire (pure).

Each returns the value with its type checked, or raises :class:`CommandError` naming the field:
never a guess, never a coercion (``true`` is not an integer, ``1`` is not ``true``).
"""

import math
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from thecal.programmer.commands import CommandError, time_from_json

_E = TypeVar("_E", bound=StrEnum)


def time_text(t: datetime | None) -> str | None:
    """An ISO 8601 device time, or None."""
    return None if t is None else t.isoformat()


def read_opt_time(value: Any, field: str) -> datetime | None:
    return None if value is None else time_from_json(value, field)


def read_obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CommandError(field, "expected an object")
    return value


def read_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise CommandError(field, "expected a string")
    return value


def read_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise CommandError(field, "expected true or false")
    return value


def read_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise CommandError(field, "expected a list")
    return value


def read_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(field, "expected an integer")
    return value


def read_float(value: Any, field: str) -> float:
    """A finite JSON number (an integer beyond float range, NaN and infinity are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(field, "expected a number")
    try:
        number = float(value)
    except OverflowError:
        raise CommandError(field, "must be finite") from None
    if not math.isfinite(number):
        raise CommandError(field, "must be finite")
    return number


def read_enum(kind: type[_E], value: Any, field: str) -> _E:
    """A member of the string enum ``kind`` by its value (an unknown value is refused)."""
    try:
        return kind(read_str(value, field))
    except ValueError:
        raise CommandError(field, f"unknown {kind.__name__} {str(value)[:40]!r}") from None


__all__ = [
    "read_bool",
    "read_enum",
    "read_float",
    "read_int",
    "read_list",
    "read_obj",
    "read_opt_time",
    "read_str",
    "time_text",
]
