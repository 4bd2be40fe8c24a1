"""The command envelope as pydantic models: operations, commands as sent, replies (pure).

A command is canonical UTF-8 JSON (``docs/programmer.md`` §1)::

    {"v": 1, "op": "clinician_bolus", "id": "<command id>", "issued_at": "<ISO device time>",
     "args": {"volume": {"value": 0.1, "unit": "mL"}, "duration": {"value": 1.0, "unit": "h"}}}

:class:`Command` is a command *as a programmer sends it*: its ``args`` are plain JSON, so a
programmer can send anything and the implant's strict decoder (:mod:`.operations`) decides.
:class:`Reply` is the implant's answer. Both encode canonically (sorted keys, no spaces, no NaN),
so equal documents give equal bytes and a decoded message re-encodes byte for byte.

Every validation failure is a :class:`CommandError` naming the field: pydantic's
``ValidationError`` never escapes (:func:`command_error`).
"""

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NaiveDatetime,
    PlainSerializer,
    ValidationError,
)

COMMAND_VERSION: Final = 1
MAX_COMMAND_ID_LEN = 64
MAX_COMMAND_BYTES = 65_536
"""Longest command body accepted (a frame is at most 64 KiB, so no genuine command is longer);
checked before parsing."""
MAX_REPLY_BYTES = 16 * 1024 * 1024
"""Longest reply body decoded: a paged reply is rejoined first (``paging.MAX_PAGED_REPLY_BYTES``,
a product choice)."""


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
    # Spinal cord stimulator (docs/programmer.md §6): a group program is staged, read back and
    # committed by digest as a pump program is; the rest act on the running group.
    GROUP_STAGE = "group_stage"
    GROUP_READ_STAGED = "group_read_staged"
    GROUP_COMMIT = "group_commit"
    IMPEDANCE_TEST = "impedance_test"
    SET_AMPLITUDE = "set_amplitude"
    SELECT_GROUP = "select_group"
    STIMULATION = "stimulation"
    MRI_MODE = "mri_mode"


READ_ONLY_OPS = frozenset(
    {
        Op.STATUS,
        Op.INTERROGATE,
        Op.PROGRAM_READ_STAGED,
        Op.GROUP_READ_STAGED,
        Op.CLOCK_READ,
        Op.REPLY_PAGE,
    }
)
"""No effect on the implant: re-executed on retry, ``issued_at`` optional."""
DOSING_OPS = frozenset(
    {
        Op.CLINICIAN_BOLUS,
        Op.PRIMING_BOLUS,
        Op.BRIDGE_BOLUS,
        Op.PATIENT_BOLUS,
        Op.PROGRAM_COMMIT,
        Op.GROUP_COMMIT,
        Op.SET_AMPLITUDE,
        Op.SELECT_GROUP,
        Op.STIMULATION,
        Op.IMPEDANCE_TEST,  # the firmware may clamp the running amplitude after it
    }
)
"""Commands that change what reaches the patient (drug or current): an unacknowledged one
makes delivery uncertain until the implant's record has been re-read."""


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
    WRONG_FAMILY = "wrong-family"  # a pump operation sent to a stimulator, or the reverse


class CommandError(ValueError):
    """A command or reply body is malformed; ``field`` names the offending part. ``op`` and
    ``command_id`` name the command when its envelope was readable (else empty)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        self.op = ""
        self.command_id = ""
        super().__init__(f"{field}: {message}")


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): equal documents give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


# --- pydantic building blocks ----------------------------------------------------------------

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)
"""Every wire model: no coercion (``"1"`` is not 1, ``true`` is not a number), no unknown key."""

DeviceTime = Annotated[
    NaiveDatetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="always")
]
"""A naive ISO 8601 device time, written as :meth:`datetime.isoformat` writes it."""

CommandId = Annotated[
    str, Field(min_length=1, max_length=MAX_COMMAND_ID_LEN, pattern=r"^[\x00-\x7f]+$")
]
"""1 to 64 ASCII characters (128 random bits as hex by default)."""


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def command_error(exc: ValidationError, whole: str, *, strip_tag: bool = False) -> CommandError:
    """The first of pydantic's errors as a :class:`CommandError` naming the field.

    ``whole`` names the document itself (``body``, ``reply``); ``strip_tag`` drops the leading
    operation name a discriminated union puts in front of every location."""
    err = exc.errors(include_url=False)[0]
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    if strip_tag and loc:
        loc = loc[1:]
    if kind == "json_invalid":
        return CommandError(whole, "not UTF-8 JSON")
    if kind == "union_tag_invalid":
        op = value.get("op") if isinstance(value, dict) else value
        return CommandError("op", f"unknown operation {str(op)[:32]!r}")
    if kind == "union_tag_not_found":
        return CommandError("op", "missing")
    if not loc:
        return CommandError(whole, "expected an object")
    field = _where(loc)
    if kind == "extra_forbidden":
        return CommandError(field, "unexpected key")
    if loc == ("v",):
        return CommandError("v", f"unsupported version {str(value)[:16]!r}")
    return CommandError(field, err["msg"].removeprefix("Value error, "))


# --- commands as sent --------------------------------------------------------------------------


class Command(BaseModel):
    """One command as a programmer sends it. ``command_id`` is reused on retry;
    ``issued_at`` is device time. ``args`` is plain JSON: the implant decodes it strictly
    (:func:`thecal.programmer.operations.decode_command`)."""

    model_config = STRICT

    v: Literal[1] = COMMAND_VERSION
    op: Op
    command_id: CommandId = Field(alias="id")
    issued_at: DeviceTime | None
    args: dict[str, Any] = Field(default_factory=dict)

    def __init__(
        self,
        op: Op,
        command_id: str,
        issued_at: datetime | None = None,
        args: dict[str, Any] | None = None,
    ) -> None:
        try:
            super().__init__(op=op, id=command_id, issued_at=issued_at, args=dict(args or {}))
        except ValidationError as exc:
            raise command_error(exc, "command") from None

    # Positional construction for Python callers; decoding (``model_validate_json``) must not
    # call it: pydantic skips an ``__init__`` marked as its base one and validates the JSON.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def encode(self) -> bytes:
        """UTF-8 JSON body for a request envelope."""
        return canonical(self.model_dump(mode="json", by_alias=True))


# --- replies -----------------------------------------------------------------------------------


class Reply(BaseModel):
    """The implant's answer to one command."""

    model_config = STRICT

    v: Literal[1] = COMMAND_VERSION
    op: str = Field(max_length=64)
    command_id: str = Field(alias="id", max_length=MAX_COMMAND_ID_LEN)
    status: ReplyStatus
    device_time: DeviceTime
    code: str = ""
    message: str = ""
    processed: bool = False
    state_changed: bool = False
    replayed: bool = False
    data: dict[str, Any] = Field(default_factory=dict)

    def __init__(
        self,
        op: str,
        command_id: str,
        status: ReplyStatus,
        device_time: datetime,
        code: str = "",
        message: str = "",
        processed: bool = False,
        state_changed: bool = False,
        replayed: bool = False,
        data: dict[str, Any] | None = None,
    ) -> None:
        try:
            super().__init__(
                op=op,
                id=command_id,
                status=status,
                device_time=device_time,
                code=code,
                message=message,
                processed=processed,
                state_changed=state_changed,
                replayed=replayed,
                data=dict(data or {}),
            )
        except ValidationError as exc:
            raise command_error(exc, "reply") from None

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]  # see Command

    @property
    def ok(self) -> bool:
        """Processed by the device and not refused by it."""
        return self.status is ReplyStatus.OK and not self.code

    def encode(self) -> bytes:
        """Canonical UTF-8 JSON. ``data`` is already JSON (the device codecs made it): it goes
        to :func:`canonical` as it is, not through pydantic's serializer (a 1,000-event
        interrogation encodes ~1.4x faster so)."""
        head = self.model_dump(mode="json", by_alias=True, exclude={"data"})
        return canonical({**head, "data": self.data})


def decode_reply(body: bytes) -> Reply:
    """Parse a response body strictly; raise :class:`CommandError` naming the field."""
    if len(body) > MAX_REPLY_BYTES:
        raise CommandError("reply", f"longer than {MAX_REPLY_BYTES} bytes")
    try:
        return Reply.model_validate_json(body)
    except ValidationError as exc:
        err = command_error(exc, "reply")
        field = err.field if err.field == "reply" else f"reply.{err.field}"
        raise CommandError(field, err.message) from None


__all__ = [
    "COMMAND_VERSION",
    "DOSING_OPS",
    "MAX_COMMAND_BYTES",
    "MAX_COMMAND_ID_LEN",
    "MAX_REPLY_BYTES",
    "READ_ONLY_OPS",
    "Command",
    "CommandError",
    "Op",
    "RefusalCode",
    "Reply",
    "ReplyStatus",
    "canonical",
    "command_error",
    "decode_reply",
]
