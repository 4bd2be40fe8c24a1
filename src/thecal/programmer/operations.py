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

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from thecal.devices.alarms import AlarmCondition
from thecal.programmer.envelope import (
    MAX_COMMAND_BYTES,
    STRICT,
    Command,
    CommandError,
    DeviceTime,
    Op,
    command_error,
)
from thecal.programmer.operation_base import (
    Duration,
    NoArgs,
    Operation,
    ProgramCommitArgs,
    Volume,
    WireQuantity,
    _Acting,
)
from thecal.programmer.operations_stimulator import (
    GroupCommitOp,
    GroupReadStagedOp,
    GroupStageOp,
    ImpedanceTestOp,
    MriModeOp,
    SelectGroupOp,
    SetAmplitudeOp,
    StimulationOp,
)

# --- arguments ---------------------------------------------------------------------------------


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
    | ReplyPageOp
    | GroupStageOp
    | GroupReadStagedOp
    | GroupCommitOp
    | ImpedanceTestOp
    | SetAmplitudeOp
    | SelectGroupOp
    | StimulationOp
    | MriModeOp,
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
    Op.GROUP_STAGE: GroupStageOp,
    Op.GROUP_READ_STAGED: GroupReadStagedOp,
    Op.GROUP_COMMIT: GroupCommitOp,
    Op.IMPEDANCE_TEST: ImpedanceTestOp,
    Op.SET_AMPLITUDE: SetAmplitudeOp,
    Op.SELECT_GROUP: SelectGroupOp,
    Op.STIMULATION: StimulationOp,
    Op.MRI_MODE: MriModeOp,
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
    "GroupCommitOp",
    "GroupReadStagedOp",
    "GroupStageOp",
    "ImpedanceTestOp",
    "InterrogateArgs",
    "InterrogateOp",
    "MriModeOp",
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
    "SelectGroupOp",
    "SetAmplitudeOp",
    "StatusOp",
    "StimulationOp",
    "WireQuantity",
    "as_operation",
    "decode_command",
]
