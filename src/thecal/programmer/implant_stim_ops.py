"""What a stimulator implant does for each operation: one handler per operation model (pure).

The stimulator's counterpart of :mod:`.implant_ops`: :data:`STIMULATOR_HANDLERS` maps each
decoded operation's model type to its handler; the
:class:`~thecal.programmer.implant_server.ImplantCommandHandler` has already checked the role,
the journal and the staleness bound, and refuses a pump operation (``refill``, boluses,
``program_*``) with ``wrong-family``.

* A group program is written as a pump program is: ``group_stage`` (decoded as the implant
  understands it, kept for this session only), ``group_read_staged``, ``group_commit`` naming
  the staged document's digest; the firmware's own gate decides whether it runs.
* The patient remote's ``set_amplitude``, ``select_group`` and ``stimulation`` reach the
  firmware as the *patient's* (``patient=True``): bounded by the clinician's range, only groups
  the clinician wrote, never on after a clinician's off. The role decides, not the command.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from thecal.devices.stimulator import SpinalCordStimulator, StimulatorStatus
from thecal.link.roles import Role
from thecal.programmer.commands import (
    Op,
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
from thecal.programmer.operation_base import Operation
from thecal.programmer.operations import (
    AcknowledgeAlarmOp,
    AlarmTestOp,
    ClockReadOp,
    ClockSetOp,
    InterrogateOp,
    StatusOp,
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
from thecal.programmer.wire_stim_program import stim_program_from_json, stim_program_to_json
from thecal.programmer.wire_stimulator import impedance_to_json, stim_status_to_json

PATIENT_JOURNAL_OPS = frozenset({Op.SET_AMPLITUDE, Op.SELECT_GROUP, Op.STIMULATION})
"""The journal entries a patient's status shows (what a remote may have sent)."""


@dataclass(frozen=True)
class StimCall:
    """One command's context on a stimulator (see :class:`.implant_ops.Call`)."""

    device: SpinalCordStimulator
    settings: ServerSettings
    journal: Journal
    role: Role
    staging: Staging
    now: datetime
    device_reply: DeviceReply

    @property
    def patient(self) -> bool:
        """The patient's remote (or controller) asks: the firmware bounds it as the patient."""
        return self.role is not Role.CLINICIAN


def patient_view(s: StimulatorStatus) -> dict[str, Any]:
    """What a remote may show: therapy, groups, the running amplitudes and the range the
    clinician allows for each area, battery and alarms (no contacts, no log)."""
    areas = s.program.areas if s.program is not None else ()
    running = dict(s.amplitudes)
    return {
        "family": "spinal cord stimulator",
        "device_time": s.device_time.isoformat(),
        "therapy": s.therapy.value,
        "delivery": s.delivery.value,
        "group": s.group,
        "groups": list(s.groups),
        "areas": [
            {
                "name": a.name,
                "amplitude": quantity_json(running.get(a.name, a.amplitude)),
                "patient_min": None if a.patient_min is None else quantity_json(a.patient_min),
                "patient_max": None if a.patient_max is None else quantity_json(a.patient_max),
            }
            for a in areas
        ],
        "battery_kind": s.battery_kind.value,
        "battery_state": s.battery_state.value,
        "depleted": s.depleted,
        "alarms": [{"condition": int(a.condition), "name": a.condition.name} for a in s.alarms],
    }


# -- read-only --------------------------------------------------------------------------------


def status(call: StimCall, cmd: StatusOp) -> Reply:
    s = call.device.interrogate()
    if call.role is Role.CLINICIAN:
        return ok(call, cmd, {"status": stim_status_to_json(s)})
    return ok(call, cmd, {**patient_view(s), "journal": call.journal.entries(PATIENT_JOURNAL_OPS)})


def interrogate(call: StimCall, cmd: InterrogateOp) -> Reply:
    return interrogate_with(call, cmd, stim_status_to_json)


# -- group program: stage, read back, commit ----------------------------------------------------


def group_stage(call: StimCall, cmd: GroupStageOp) -> Reply:
    program = stim_program_from_json(cmd.args.program, "args.program")
    doc = {"group": cmd.args.group, "program": stim_program_to_json(program)}
    st = call.staging
    st.clear()
    st.group, st.stim_program, st.document, st.digest = (
        cmd.args.group,
        program,
        doc,
        program_digest(doc),
    )
    return ok(call, cmd, {"digest": st.digest})


def group_read_staged(call: StimCall, cmd: GroupReadStagedOp) -> Reply:
    st = call.staging
    if st.stim_program is None:
        return refused(call, cmd, RefusalCode.NOTHING_STAGED, "no group program staged")
    return ok(call, cmd, {**st.document, "digest": st.digest})


def group_commit(call: StimCall, cmd: GroupCommitOp) -> Reply:
    """Write the staged group named by its digest in one firmware call (its gate decides)."""
    st, digest = call.staging, cmd.args.digest
    if st.stim_program is None or digest != st.digest:
        return refused(
            call,
            cmd,
            RefusalCode.STAGED_MISMATCH,
            "the staged group program is not the one named for commit",
        )
    result = call.device.write_group(st.group, st.stim_program)
    extra = {"digest": digest, "group": st.group}
    if result.state_changed:
        st.clear()
    return call.device_reply(cmd, result, extra)


# -- acting on the stimulator ---------------------------------------------------------------------


def impedance(call: StimCall, cmd: ImpedanceTestOp) -> Reply:
    report, result = call.device.impedance_test()
    s = call.device.interrogate()
    extra: dict[str, Any] = {
        "impedance": None if report is None else impedance_to_json(report),
        "amplitudes": [[a, quantity_json(q)] for a, q in s.amplitudes],
        "safe_max": [[a, None if q is None else quantity_json(q)] for a, q in s.safe_max],
        "disabled_contacts": list(s.disabled_contacts),
    }
    return call.device_reply(cmd, result, extra)


def set_amplitude(call: StimCall, cmd: SetAmplitudeOp) -> Reply:
    a = cmd.args
    result = call.device.set_amplitude(a.area, a.amplitude.quantity, patient=call.patient)
    return call.device_reply(cmd, result, None)


def select_group(call: StimCall, cmd: SelectGroupOp) -> Reply:
    return call.device_reply(
        cmd, call.device.select_group(cmd.args.group, patient=call.patient), None
    )


def stimulation(call: StimCall, cmd: StimulationOp) -> Reply:
    dev = call.device
    on = cmd.args.on
    result = (
        dev.stimulation_on(patient=call.patient)
        if on
        else dev.stimulation_off(patient=call.patient)
    )
    return call.device_reply(cmd, result, None)


def mri_mode(call: StimCall, cmd: MriModeOp) -> Reply:
    return call.device_reply(cmd, call.device.mri_mode(cmd.args.on), None)


StimHandler = Callable[[StimCall, Any], Reply]

STIMULATOR_HANDLERS: dict[type[Operation], StimHandler] = {
    StatusOp: status,
    InterrogateOp: interrogate,
    ClockReadOp: clock_read,
    ClockSetOp: clock_set,
    AcknowledgeAlarmOp: acknowledge_alarm,
    AlarmTestOp: alarm_test,
    GroupStageOp: group_stage,
    GroupReadStagedOp: group_read_staged,
    GroupCommitOp: group_commit,
    ImpedanceTestOp: impedance,
    SetAmplitudeOp: set_amplitude,
    SelectGroupOp: select_group,
    StimulationOp: stimulation,
    MriModeOp: mri_mode,
}
"""Every operation a stimulator handles (``reply_page`` is the session's)."""


__all__ = ["PATIENT_JOURNAL_OPS", "STIMULATOR_HANDLERS", "StimCall", "StimHandler", "patient_view"]
