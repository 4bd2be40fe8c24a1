"""One pydantic model per operation: how the implant decodes a command (pure, strict).

:func:`decode_command` validates a request body against a union discriminated on ``op``
(``Field(discriminator="op")``): each operation has its own model with typed, strict ``args``.
A quantity is ``{"value": finite number, "unit": UCUM code from the units allow-list}`` with
the dimension the argument needs; times are naive ISO 8601 device times; the command id is 1 to
64 ASCII characters; ``issued_at`` may be null only for a read-only operation; no model accepts
an unknown key. Anything else raises :class:`CommandError` naming the field (never pydantic's
``ValidationError``, never anything else: property-tested).

A decoded operation re-encodes byte for byte (:meth:`Operation.encode`): quantities keep the
sender's UCUM spelling, times are written as :meth:`datetime.isoformat` writes them.
"""

from typing import Annotated, Any, Literal, TypeAlias

import pint
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from thecal.devices.alarms import AlarmCondition
from thecal.programmer.envelope import (
    MAX_COMMAND_BYTES,
    STRICT,
    Command,
    CommandError,
    CommandId,
    DeviceTime,
    Op,
    canonical,
    command_error,
)
from thecal.units import Q_, Dimension, InputError, check_dimension, unit_from_ucum

# --- arguments ---------------------------------------------------------------------------------


class WireQuantity(BaseModel):
    """``{"value": finite number, "unit": "UCUM"}``; the unit comes from the one UCUM table
    (:func:`thecal.units.unit_from_ucum`) and is never evaluated."""

    model_config = STRICT

    value: float = Field(allow_inf_nan=False)
    unit: str = Field(max_length=32)

    @field_validator("unit")
    @classmethod
    def _known(cls, unit: str) -> str:
        if unit_from_ucum(unit) is None:
            raise ValueError(f"unknown UCUM unit {unit!r}")
        return unit  # the sender's spelling, so a re-encoding is byte-identical

    @property
    def quantity(self) -> pint.Quantity:
        """The value as a pint quantity in the sent unit."""
        unit = unit_from_ucum(self.unit)
        assert unit is not None  # checked by the validator
        return Q_(self.value, unit)


def _of(dimension: Dimension) -> AfterValidator:
    def check(q: WireQuantity) -> WireQuantity:
        try:
            check_dimension(q.quantity, "", dimension)
        except InputError as exc:  # pydantic names the field
            raise ValueError(exc.message) from None
        return q

    return AfterValidator(check)


Volume = Annotated[WireQuantity, _of(Dimension.VOLUME)]
Duration = Annotated[WireQuantity, _of(Dimension.TIME)]


class NoArgs(BaseModel):
    """``{}``: the operation takes no argument."""

    model_config = STRICT


class InterrogateArgs(BaseModel):
    """``since_seq``: log events after this sequence number; ``status``: include the status
    and journal (the first page) or only events (the next ones)."""

    model_config = STRICT

    since_seq: int = Field(0, ge=0)
    status: bool = True


class ProgramStageArgs(BaseModel):
    """The program JSON; decoded against the implant's drug library by the handler."""

    model_config = STRICT

    program: dict[str, Any]


class ProgramCommitArgs(BaseModel):
    """The digest of the staged program the programmer read back."""

    model_config = STRICT

    digest: str = Field(max_length=128)


class RefillArgs(BaseModel):
    """The fill volume; ``simulate_needle`` (simulator only) withdraws and fills."""

    model_config = STRICT

    volume: Volume
    simulate_needle: bool = True


class BolusArgs(BaseModel):
    """A bolus volume delivered over a duration."""

    model_config = STRICT

    volume: Volume
    duration: Duration


class AcknowledgeAlarmArgs(BaseModel):
    """One alarm condition (its number), or null for all."""

    model_config = STRICT

    condition: AlarmCondition | None = None


class ClockSetArgs(BaseModel):
    """The new device time."""

    model_config = STRICT

    device_time: DeviceTime


class ReplyPageArgs(BaseModel):
    """A page of this session's last paged reply."""

    model_config = STRICT

    handle: int
    page: int


# --- operations --------------------------------------------------------------------------------


class Operation(BaseModel):
    """A command as the implant understood it; one subclass per :class:`Op`."""

    model_config = STRICT

    v: Literal[1]
    op: Op
    command_id: CommandId = Field(alias="id")
    issued_at: DeviceTime | None
    args: BaseModel

    def encode(self) -> bytes:
        """Canonical UTF-8 JSON: byte-identical to the canonical body it was decoded from
        (an argument left out stays out: its default is not written)."""
        return canonical(self.model_dump(mode="json", by_alias=True, exclude_unset=True))


class _Acting(Operation):
    """An operation that acts: ``issued_at`` is required (the staleness bound needs it)."""

    issued_at: DeviceTime


class StatusOp(Operation):
    op: Literal[Op.STATUS]
    args: NoArgs


class InterrogateOp(Operation):
    op: Literal[Op.INTERROGATE]
    args: InterrogateArgs


class ProgramStageOp(_Acting):
    op: Literal[Op.PROGRAM_STAGE]
    args: ProgramStageArgs


class ProgramReadStagedOp(Operation):
    op: Literal[Op.PROGRAM_READ_STAGED]
    args: NoArgs


class ProgramCommitOp(_Acting):
    op: Literal[Op.PROGRAM_COMMIT]
    args: ProgramCommitArgs


class RefillOp(_Acting):
    op: Literal[Op.REFILL]
    args: RefillArgs


class ClinicianBolusOp(_Acting):
    op: Literal[Op.CLINICIAN_BOLUS]
    args: BolusArgs


class PrimingBolusOp(_Acting):
    op: Literal[Op.PRIMING_BOLUS]
    args: BolusArgs


class BridgeBolusOp(_Acting):
    op: Literal[Op.BRIDGE_BOLUS]
    args: BolusArgs


class AcknowledgeAlarmOp(_Acting):
    op: Literal[Op.ACKNOWLEDGE_ALARM]
    args: AcknowledgeAlarmArgs


class AlarmTestOp(_Acting):
    op: Literal[Op.ALARM_TEST]
    args: NoArgs


class ClockReadOp(Operation):
    op: Literal[Op.CLOCK_READ]
    args: NoArgs


class ClockSetOp(_Acting):
    op: Literal[Op.CLOCK_SET]
    args: ClockSetArgs


class PostMriResumeOp(_Acting):
    op: Literal[Op.POST_MRI_RESUME]
    args: NoArgs


class PatientBolusOp(_Acting):
    op: Literal[Op.PATIENT_BOLUS]
    args: NoArgs


class ReplyPageOp(Operation):
    op: Literal[Op.REPLY_PAGE]
    args: ReplyPageArgs


AnyOperation: TypeAlias = Annotated[
    StatusOp
    | InterrogateOp
    | ProgramStageOp
    | ProgramReadStagedOp
    | ProgramCommitOp
    | RefillOp
    | ClinicianBolusOp
    | PrimingBolusOp
    | BridgeBolusOp
    | AcknowledgeAlarmOp
    | AlarmTestOp
    | ClockReadOp
    | ClockSetOp
    | PostMriResumeOp
    | PatientBolusOp
    | ReplyPageOp,
    Field(discriminator="op"),
]
_OPERATION: TypeAdapter[AnyOperation] = TypeAdapter(AnyOperation)

OPERATION_MODELS: dict[Op, type[Operation]] = {
    Op.STATUS: StatusOp,
    Op.INTERROGATE: InterrogateOp,
    Op.PROGRAM_STAGE: ProgramStageOp,
    Op.PROGRAM_READ_STAGED: ProgramReadStagedOp,
    Op.PROGRAM_COMMIT: ProgramCommitOp,
    Op.REFILL: RefillOp,
    Op.CLINICIAN_BOLUS: ClinicianBolusOp,
    Op.PRIMING_BOLUS: PrimingBolusOp,
    Op.BRIDGE_BOLUS: BridgeBolusOp,
    Op.ACKNOWLEDGE_ALARM: AcknowledgeAlarmOp,
    Op.ALARM_TEST: AlarmTestOp,
    Op.CLOCK_READ: ClockReadOp,
    Op.CLOCK_SET: ClockSetOp,
    Op.POST_MRI_RESUME: PostMriResumeOp,
    Op.PATIENT_BOLUS: PatientBolusOp,
    Op.REPLY_PAGE: ReplyPageOp,
}
"""The model of each operation (every :class:`Op` has one, and decodes to it: tested)."""


def decode_command(body: bytes) -> Operation:
    """Parse a request body strictly into its operation's model.

    Raises :class:`CommandError` naming the field; when the envelope itself was readable the
    error carries its ``op`` and ``command_id`` (so the refusal can name the command)."""
    if len(body) > MAX_COMMAND_BYTES:
        raise CommandError("body", f"longer than {MAX_COMMAND_BYTES} bytes")
    try:
        return _OPERATION.validate_json(body)
    except ValidationError as exc:
        err = command_error(exc, "body", strip_tag=True)
        first = exc.errors(include_url=False)[0]
        if tuple(first["loc"])[1:] == ("issued_at",) and first.get("input") is None:
            err = CommandError("issued_at", f"required for {first['loc'][0]}")
        try:  # only to name the command in the refusal
            sent = Command.model_validate_json(body)
        except ValidationError:
            raise err from None
        err.op, err.command_id = sent.op.value, sent.command_id
        raise err from None


def as_operation(cmd: Command | Operation) -> Operation:
    """A command as sent, decoded as the implant would decode it (raises :class:`CommandError`)."""
    return cmd if isinstance(cmd, Operation) else decode_command(cmd.encode())


__all__ = [
    "OPERATION_MODELS",
    "AcknowledgeAlarmArgs",
    "AcknowledgeAlarmOp",
    "AlarmTestOp",
    "AnyOperation",
    "BolusArgs",
    "BridgeBolusOp",
    "ClinicianBolusOp",
    "ClockReadOp",
    "ClockSetArgs",
    "ClockSetOp",
    "InterrogateArgs",
    "InterrogateOp",
    "NoArgs",
    "Operation",
    "PatientBolusOp",
    "PostMriResumeOp",
    "PrimingBolusOp",
    "ProgramCommitArgs",
    "ProgramCommitOp",
    "ProgramReadStagedOp",
    "ProgramStageArgs",
    "ProgramStageOp",
    "RefillArgs",
    "RefillOp",
    "ReplyPageArgs",
    "ReplyPageOp",
    "StatusOp",
    "WireQuantity",
    "as_operation",
    "decode_command",
]
