"""Command layer: the JSON commands and replies carried inside the link envelope (pure).

A command is a UTF-8 JSON object inside a request envelope (``docs/link-protocol.md`` §10)::

    {"v": 1, "op": "clinician_bolus", "id": "<command id>", "issued_at": "<ISO device time>",
     "args": {"volume": {"value": 0.1, "unit": "mL"}, "duration": {"value": 1, "unit": "h"}}}

``id`` names the *command*, not the link request: a retry of the same command (after a lost
acknowledgement, even in a new session) reuses it, and the implant answers a known id with the
stored reply instead of executing again. ``issued_at`` is the programmer's estimate of the
implant's clock when the command was issued; the implant refuses a command older (or further in
the future) than its staleness bound. Read-only operations may leave it null.

Every physical quantity is ``{"value": <float>, "unit": "<UCUM>"}``; times are ISO 8601 naive
device times. A reply is::

    {"v": 1, "op", "id", "status": "ok" | "refused" | "error", "code", "message",
     "device_time", "processed", "state_changed", "replayed", "data": {...}}

No I/O, no clock: decoding is strict and raises :class:`CommandError` naming what is wrong.
The envelope (operations, commands, replies) is pydantic models in :mod:`.envelope` and
:mod:`.operations`, re-exported here; the device data codecs are :mod:`.wire_device` and
:mod:`.wire_program`. This module keeps the quantity and time primitives they share.
"""

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeAlias

import pint

from thecal.programmer.envelope import (
    COMMAND_VERSION,
    DOSING_OPS,
    MAX_COMMAND_ID_LEN,
    READ_ONLY_OPS,
    Command,
    CommandError,
    Op,
    RefusalCode,
    Reply,
    ReplyStatus,
    canonical,
    decode_reply,
)
from thecal.programmer.operations import Operation, decode_command
from thecal.units import Q_, to_ucum, unit_from_ucum

Qty: TypeAlias = pint.Quantity[Any]
"""A pint quantity (the magnitude type does not matter here)."""


# --- quantities ------------------------------------------------------------------------------


def pint_unit(ucum: str, field: str = "unit") -> pint.Unit:
    """The pint unit of a UCUM code produced by :func:`thecal.units.to_ucum` (the units
    allow-list; anything else is refused, never evaluated)."""
    unit = unit_from_ucum(ucum)
    if unit is None:
        raise CommandError(field, f"unknown UCUM unit {ucum[:32]!r}")
    return unit


def quantity_json(q: Qty) -> dict[str, Any]:
    """``{"value", "unit"}`` with the full float (no rounding: a read-back must compare equal)."""
    return {"value": float(q.magnitude), "unit": to_ucum(q)}


def quantity_from_json(value: Any, field: str) -> Qty:
    """Inverse of :func:`quantity_json`; strict."""
    if not isinstance(value, dict) or set(value) != {"value", "unit"}:
        raise CommandError(field, 'expected {"value": number, "unit": "UCUM"}')
    mag, unit = value["value"], value["unit"]
    if isinstance(mag, bool) or not isinstance(mag, int | float) or not isinstance(unit, str):
        raise CommandError(field, "value must be a number and unit a string")
    try:
        finite = math.isfinite(mag)
    except OverflowError:  # an integer beyond float range
        finite = False
    if not finite:
        raise CommandError(field, "value must be finite")
    q = Q_(float(mag), pint_unit(unit, field))
    # Keep the sender's UCUM spelling so a re-encoding is byte-identical.
    return q


def _time_json(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def time_from_json(value: Any, field: str) -> datetime:
    """A naive ISO 8601 device time."""
    if not isinstance(value, str):
        raise CommandError(field, "expected an ISO 8601 date-time string")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(field, f"not an ISO 8601 date-time: {value!r}") from None
    if t.tzinfo is not None:
        raise CommandError(field, "device times are naive (no time zone)")
    return t


# --- canonical JSON --------------------------------------------------------------------------


def program_digest(program_json: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical program JSON (names a staged program for the commit)."""
    return hashlib.sha256(canonical(dict(program_json))).hexdigest()


__all__ = [
    "COMMAND_VERSION",
    "DOSING_OPS",
    "MAX_COMMAND_ID_LEN",
    "READ_ONLY_OPS",
    "Command",
    "CommandError",
    "Op",
    "Operation",
    "Qty",
    "RefusalCode",
    "Reply",
    "ReplyStatus",
    "canonical",
    "decode_command",
    "decode_reply",
    "pint_unit",
    "program_digest",
    "quantity_from_json",
    "quantity_json",
    "time_from_json",
]
