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
"""

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

import pint

from thecal.units import Q_, to_ucum, unit_from_ucum

COMMAND_VERSION = 1

Qty: TypeAlias = pint.Quantity[Any]
"""A pint quantity (the magnitude type does not matter here)."""


class Op(StrEnum):
    """Operations. ``status`` and ``patient_bolus`` equal :mod:`thecal.link.roles` names."""

    STATUS = "status"
    INTERROGATE = "interrogate"
    PROGRAM_STAGE = "program_stage"
    PROGRAM_READ_STAGED = "program_read_staged"
    PROGRAM_COMMIT = "program_commit"
    REFILL = "refill"
    CLINICIAN_BOLUS = "clinician_bolus"
    PRIMING_BOLUS = "priming_bolus"
    BRIDGE_BOLUS = "bridge_bolus"
    ACKNOWLEDGE_ALARM = "acknowledge_alarm"
    ALARM_TEST = "alarm_test"
    CLOCK_READ = "clock_read"
    CLOCK_SET = "clock_set"
    POST_MRI_RESUME = "post_mri_resume"
    PATIENT_BOLUS = "patient_bolus"
    REPLY_PAGE = "reply_page"


READ_ONLY_OPS = frozenset(
    {Op.STATUS, Op.INTERROGATE, Op.PROGRAM_READ_STAGED, Op.CLOCK_READ, Op.REPLY_PAGE}
)
"""No effect on the implant: re-executed on retry, ``issued_at`` optional."""
DOSING_OPS = frozenset(
    {Op.CLINICIAN_BOLUS, Op.PRIMING_BOLUS, Op.BRIDGE_BOLUS, Op.PATIENT_BOLUS, Op.PROGRAM_COMMIT}
)
"""Commands that change what reaches the patient: an unacknowledged one makes delivery
uncertain until the implant's record has been re-read."""


class ReplyStatus(StrEnum):
    OK = "ok"  # processed (the device may still have refused: see ``processed``/``code``)
    REFUSED = "refused"  # refused before reaching the device (stale, forbidden, ...)
    ERROR = "error"  # malformed command
    PAGED = "paged"  # the reply is too long for one frame: page 0 here, fetch the rest


class RefusalCode(StrEnum):
    """Why the command layer refused a command (device refusals use the device's reason)."""

    STALE = "stale"
    FORBIDDEN = "forbidden"
    BAD_COMMAND = "bad-command"
    ID_REUSED = "id-reused"
    NOTHING_STAGED = "nothing-staged"
    STAGED_MISMATCH = "staged-mismatch"
    DEVICE_REFUSED = "device-refused"
    UNSUPPORTED = "unsupported"
    NO_SUCH_PAGE = "no-such-page"


class CommandError(ValueError):
    """A command or reply body is malformed; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


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


def _opt_time(value: Any, field: str) -> datetime | None:
    return None if value is None else time_from_json(value, field)


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CommandError(field, "expected an object")
    return value


def _str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise CommandError(field, "expected a string")
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise CommandError(field, "expected true or false")
    return value


# --- canonical JSON --------------------------------------------------------------------------


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): equal documents give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def program_digest(program_json: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical program JSON (names a staged program for the commit)."""
    return hashlib.sha256(canonical(dict(program_json))).hexdigest()


# --- commands and replies --------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command. ``command_id`` is reused on retry; ``issued_at`` is device time."""

    op: Op
    command_id: str
    issued_at: datetime | None
    args: Mapping[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        """UTF-8 JSON body for a request envelope."""
        return canonical(
            {
                "v": COMMAND_VERSION,
                "op": self.op.value,
                "id": self.command_id,
                "issued_at": _time_json(self.issued_at),
                "args": dict(self.args),
            }
        )


MAX_COMMAND_ID_LEN = 64


def decode_command(body: bytes) -> Command:
    """Parse a request body strictly; raise :class:`CommandError` on anything unexpected."""
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: absurdly deep nesting is malformed too, never a crash.
        raise CommandError("body", "not UTF-8 JSON") from None
    d = _obj(d, "body")
    if set(d) != {"v", "op", "id", "issued_at", "args"}:
        raise CommandError("body", "expected keys v, op, id, issued_at, args")
    if d["v"] != COMMAND_VERSION:
        raise CommandError("v", f"unsupported command version {d['v']!r}")
    try:
        op = Op(d["op"])
    except ValueError:
        raise CommandError("op", f"unknown operation {d['op']!r}") from None
    cid = _str(d["id"], "id")
    if not 1 <= len(cid) <= MAX_COMMAND_ID_LEN or not cid.isascii():
        raise CommandError("id", f"1 to {MAX_COMMAND_ID_LEN} ASCII characters")
    issued = _opt_time(d["issued_at"], "issued_at")
    if issued is None and op not in READ_ONLY_OPS:
        raise CommandError("issued_at", f"required for {op.value}")
    return Command(op, cid, issued, _obj(d["args"], "args"))


@dataclass(frozen=True)
class Reply:
    """The implant's answer to one command."""

    op: str
    command_id: str
    status: ReplyStatus
    device_time: datetime
    code: str = ""
    message: str = ""
    processed: bool = False
    state_changed: bool = False
    replayed: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Processed by the device and not refused by it."""
        return self.status is ReplyStatus.OK and not self.code

    def encode(self) -> bytes:
        return canonical(
            {
                "v": COMMAND_VERSION,
                "op": self.op,
                "id": self.command_id,
                "status": self.status.value,
                "device_time": self.device_time.isoformat(),
                "code": self.code,
                "message": self.message,
                "processed": self.processed,
                "state_changed": self.state_changed,
                "replayed": self.replayed,
                "data": dict(self.data),
            }
        )


def decode_reply(body: bytes) -> Reply:
    """Parse a response body strictly."""
    try:
        d = _obj(json.loads(body.decode("utf-8")), "reply")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CommandError("reply", "not UTF-8 JSON") from None
    try:
        status = ReplyStatus(str(d.get("status")))
    except ValueError:
        raise CommandError("reply.status", f"unknown {d.get('status')!r}") from None
    return Reply(
        _str(d.get("op"), "reply.op"),
        _str(d.get("id"), "reply.id"),
        status,
        time_from_json(d.get("device_time"), "reply.device_time"),
        _str(d.get("code", ""), "reply.code"),
        _str(d.get("message", ""), "reply.message"),
        _bool(d.get("processed", False), "reply.processed"),
        _bool(d.get("state_changed", False), "reply.state_changed"),
        _bool(d.get("replayed", False), "reply.replayed"),
        _obj(d.get("data", {}), "reply.data"),
    )


__all__ = [
    "COMMAND_VERSION",
    "DOSING_OPS",
    "READ_ONLY_OPS",
    "Command",
    "CommandError",
    "Op",
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
