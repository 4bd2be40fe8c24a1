"""What the implant does for each operation: one handler per operation model (pure).

:data:`HANDLERS` maps each decoded operation's model type (:mod:`.operations`) to its handler;
:class:`~thecal.programmer.implant_server.ImplantCommandHandler` has already checked the
journal and the staleness bound. A handler validates, then acts: a refused command has no
effect (``docs/programmer.md`` §1.1).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from thecal.devices.pump import DrugPump
from thecal.link.roles import Role
from thecal.programmer.commands import (
    Op,
    Qty,
    RefusalCode,
    Reply,
    program_digest,
    quantity_json,
)
from thecal.programmer.implant_common_ops import (
    DeviceReply,
    acknowledge_alarm,
    alarm_test,
    clock_read,
    clock_set,
    interrogate_with,
    ok,
    refused,
)
from thecal.programmer.implant_journal import Journal, ServerSettings, Staging
from thecal.programmer.operations import (
    AcknowledgeAlarmOp,
    AlarmTestOp,
    BridgeBolusOp,
    ClinicianBolusOp,
    ClockReadOp,
    ClockSetOp,
    InterrogateOp,
    Operation,
    PatientBolusOp,
    PostMriResumeOp,
    PrimingBolusOp,
    ProgramCommitOp,
    ProgramReadStagedOp,
    ProgramStageOp,
    RefillOp,
    StatusOp,
)
from thecal.programmer.wire_device import status_to_json
from thecal.programmer.wire_program import DrugLookup, program_from_json, program_to_json


@runtime_checkable
class PhysicalAccess(Protocol):
    """What a simulated implant lets the *needle* do (a real implant is refilled by hand)."""

    def withdraw_residual(self) -> Qty: ...

    def fill_reservoir(self, volume: Qty) -> None: ...


@dataclass(frozen=True)
class Call:
    """One command's context: the device and what the implant keeps, the caller's role and
    session staging, the implant clock when it arrived, and how a device result is answered."""

    device: DrugPump
    drugs: DrugLookup
    settings: ServerSettings
    journal: Journal
    role: Role
    staging: Staging
    now: datetime
    device_reply: DeviceReply


# -- read-only --------------------------------------------------------------------------------


def status(call: Call, cmd: StatusOp) -> Reply:
    """Clinician: the full status. Patient: a peek at what a controller may show (no program
    details, no log) and the patient-bolus journal."""
    s = call.device.interrogate()
    if call.role is Role.CLINICIAN:
        return ok(call, cmd, {"status": status_to_json(s)})
    ptb = s.program.patient_bolus if s.program else None
    return ok(
        call,
        cmd,
        {
            "delivering": s.delivering,
            "delivery": s.delivery.value,
            "device_time": s.device_time.isoformat(),
            "reservoir_estimate": quantity_json(s.reservoir_estimate),
            "alarms": [{"condition": int(a.condition), "name": a.condition.name} for a in s.alarms],
            "patient_boluses_last_24h": s.patient_boluses_last_24h,
            "patient_bolus": None
            if ptb is None
            else {
                "volume": quantity_json(ptb.volume),
                "lockout": quantity_json(ptb.lockout),
                "max_per_day": ptb.max_per_day,
            },
            "journal": call.journal.entries(frozenset({Op.PATIENT_BOLUS})),
        },
    )


def interrogate(call: Call, cmd: InterrogateOp) -> Reply:
    return interrogate_with(call, cmd, status_to_json)


# -- program write: stage, read back, commit ------------------------------------------------------


def program_stage(call: Call, cmd: ProgramStageOp) -> Reply:
    """Decode the program against the implant's drug library and keep it for this session."""
    program = program_from_json(cmd.args.program, call.drugs)
    doc = program_to_json(program)  # as the implant understood it
    st = call.staging
    st.program, st.document, st.digest = program, doc, program_digest(doc)
    return ok(call, cmd, {"digest": st.digest})


def program_read_staged(call: Call, cmd: ProgramReadStagedOp) -> Reply:
    st = call.staging
    if st.program is None:
        return refused(call, cmd, RefusalCode.NOTHING_STAGED, "no program staged")
    return ok(call, cmd, {"program": st.document, "digest": st.digest})


def program_commit(call: Call, cmd: ProgramCommitOp) -> Reply:
    """Write the staged program named by its digest in one firmware call."""
    st, digest = call.staging, cmd.args.digest
    if st.program is None or digest != st.digest:
        return refused(
            call,
            cmd,
            RefusalCode.STAGED_MISMATCH,
            "the staged program is not the one named for commit",
        )
    result = call.device.write_program(st.program)
    if result.state_changed:  # a refused commit changes nothing, not even the staging
        st.clear()
    return call.device_reply(cmd, result, {"digest": digest})


# -- acting on the device -----------------------------------------------------------------------


def refill(call: Call, cmd: RefillOp) -> Reply:
    """Validate, then act: a refused refill leaves the reservoir as it was.

    The firmware decides whether the volume is one the reservoir can hold (and logs a
    refusal). Only once it has accepted the record does the simulated needle withdraw the
    residual and fill: the same instant of simulated time, and a fill the firmware accepted
    (0 < volume ≤ capacity) always fits an emptied reservoir."""
    volume, dev = cmd.args.volume.quantity, call.device
    result = dev.refill(volume)
    extra: dict[str, Any] = {}
    if result.state_changed and cmd.args.simulate_needle and isinstance(dev, PhysicalAccess):
        # Simulator only: the needle's work (a real implant is refilled by hand).
        extra["withdrawn"] = quantity_json(dev.withdraw_residual().to("mL"))
        dev.fill_reservoir(volume)
    return call.device_reply(cmd, result, extra)


def bolus(call: Call, cmd: ClinicianBolusOp | PrimingBolusOp | BridgeBolusOp) -> Reply:
    """A clinician, priming or bridge bolus: the firmware applies its own hard limits."""
    a = cmd.args
    return call.device_reply(
        cmd, call.device.clinician_bolus(a.volume.quantity, a.duration.quantity), None
    )


def patient_bolus(call: Call, cmd: PatientBolusOp) -> Reply:
    return call.device_reply(cmd, call.device.patient_bolus_request(), None)


def post_mri_resume(call: Call, cmd: PostMriResumeOp) -> Reply:
    return call.device_reply(cmd, call.device.post_mri_resume(), None)


Handler = Callable[[Call, Any], Reply]

HANDLERS: dict[type[Operation], Handler] = {
    StatusOp: status,
    InterrogateOp: interrogate,
    ClockReadOp: clock_read,
    ProgramStageOp: program_stage,
    ProgramReadStagedOp: program_read_staged,
    ProgramCommitOp: program_commit,
    RefillOp: refill,
    ClinicianBolusOp: bolus,
    PrimingBolusOp: bolus,
    BridgeBolusOp: bolus,
    PatientBolusOp: patient_bolus,
    AcknowledgeAlarmOp: acknowledge_alarm,
    AlarmTestOp: alarm_test,
    ClockSetOp: clock_set,
    PostMriResumeOp: post_mri_resume,
}
"""Every operation the device handles (``reply_page`` is the session's, not the device's)."""


__all__ = ["HANDLERS", "Call", "DeviceReply", "Handler", "PhysicalAccess"]
