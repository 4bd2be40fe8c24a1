"""Groups, programs and the patient's bounds: what the virtual IPG's firmware accepts.

* A group (program) is refused when the stimulation gate finds anything hard
  (:func:`thecal.stimulation.gate.check_program`: Shannon k on any contact as programmed and at
  the top of the patient's range, the IPG's ranges, pulses that cannot fit their period); the
  firmware applies the gate itself, as an implant keeps its own limits.
* The patient changes amplitude only within the clinician's range (``patient_min`` ..
  ``patient_max``, both ends allowed) and selects only groups the clinician wrote (OpenMind
  research apps; Abbott Prodigy MaxTol).
* A running amplitude never exceeds the safe maximum of the last impedance test (the clamp,
  logged: OpenNerve's LSA event).
"""

from dataclasses import replace

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.stimulator import TherapyState
from thecal.implant.stimulator_firmware import StimulatorFirmware
from thecal.implant.stimulator_plant import MA
from thecal.stimulation.gate import check_program
from thecal.stimulation.program import CASE, Area, Mode, Program
from thecal.therapy.compare import above, above_count, below
from thecal.therapy.findings import Finding, Level
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt

_BLOCKED = {
    TherapyState.END_OF_SERVICE: DeviceRefusal.END_OF_SERVICE,
    TherapyState.MRI_MODE: DeviceRefusal.MRI_MODE,
}


def refuse(command: str, code: DeviceRefusal, reason: str, *findings: Finding) -> CommandResult:
    return CommandResult(command, True, False, reason, tuple(findings), refusal=code)


def blocked(fw: StimulatorFirmware, command: str) -> CommandResult | None:
    """End of service and MRI mode refuse every programming command."""
    state = fw.therapy if fw.eos or fw.in_mri_mode else None
    if state is None or state not in _BLOCKED:
        return None
    return refuse(command, _BLOCKED[state], f"the stimulator is in {state.value}")


def _unsupported(fw: StimulatorFirmware, program: Program) -> str | None:
    for area in program.areas:
        if area.mode is Mode.VOLTAGE:
            return f"area {area.name!r}: this IPG is current-controlled (no voltage mode)"
        for c in area.active():
            if c.lead == CASE:
                continue
            count = fw.setup.lead_contacts.get(c.lead)
            if count is None or c.index is None or c.index >= count:
                return f"area {area.name!r}: no contact {c.label} on this IPG's leads"
    return None


def hard_findings(fw: StimulatorFirmware, program: Program) -> list[Finding]:
    """The gate's hard findings for ``program`` on this IPG (empty: acceptable)."""
    s = fw.setup
    check = check_program(program, s.contact_areas, s.ipg, s.limits)
    return [f for f in check.findings if f.level is Level.HARD]


def load_amplitudes(fw: StimulatorFirmware) -> None:
    """The running amplitudes of the selected group: as programmed, clamped."""
    program = fw.program
    fw.amps = {}
    if program is not None:
        for area in program.areas:
            fw.amps[area.name] = float(area.amplitude.to(MA).magnitude)
        clamp(fw)
    fw.changed()


def clamp(fw: StimulatorFirmware) -> bool:
    """Lower every running amplitude above its safe maximum to it, logging each (OpenNerve
    LSA) and raising AMPLITUDE_LIMITED; resolve the alarm when nothing is limited."""
    program = fw.program
    limited = False
    for area in program.areas if program is not None else ():
        top = fw.safe_max(area)
        if top is None or not above_count(fw.amps[area.name], top):
            continue
        limited = True
        fw.write_log(
            EventKind.AMPLITUDE_CLAMPED,
            f"area {area.name!r}: {fw.amps[area.name]:.2f} mA lowered to {top:.2f} mA, the most "
            "the available voltage drives through the measured impedance",
            (("amplitude", fw.amps[area.name], "mA"), ("safe_max", top, "mA")),
        )
        fw.amps[area.name] = top
    if limited:
        fw.alarms.raise_(AlarmCondition.AMPLITUDE_LIMITED)
        fw.changed()
    return limited


def write_group(fw: StimulatorFirmware, name: str, program: Program) -> CommandResult:
    """Store ``program`` as group ``name`` unless the firmware's limits refuse it; the first
    group written (or a rewrite of the running one) runs."""
    if (result := blocked(fw, "write_group")) is not None:
        return result
    if not name.strip():
        return refuse("write_group", DeviceRefusal.UNKNOWN_GROUP, "a group needs a name")
    if (why := _unsupported(fw, program)) is not None:
        fw.write_log(EventKind.PROGRAM_REFUSED, why)
        return refuse("write_group", DeviceRefusal.UNSUPPORTED, why)
    hard = hard_findings(fw, program)
    if hard:
        fw.write_log(EventKind.PROGRAM_REFUSED, f"group {name!r}: {hard[0].message}")
        return refuse(
            "write_group",
            DeviceRefusal.EXCEEDS_LIMITS,
            "refused by the stimulator's own limits (see findings)",
            *hard,
        )
    if fw.groups.get(name) == program:
        return refuse("write_group", DeviceRefusal.UNCHANGED, "this group is already stored")
    fw.groups[name] = program
    fw.write_log(EventKind.PROGRAM_WRITTEN, f"group {name!r}: {len(program.areas)} area(s)")
    if fw.group is None or fw.group == name:
        fw.group = name
        load_amplitudes(fw)
    return CommandResult("write_group", True, True)


def select_group(fw: StimulatorFirmware, name: str, patient: bool) -> CommandResult:
    if (result := blocked(fw, "select_group")) is not None:
        return result
    if name not in fw.groups:
        who = "the patient" if patient else "the clinician"
        fw.write_log(
            EventKind.PATIENT_CHANGE_REFUSED if patient else EventKind.PROGRAM_REFUSED,
            f"{who} asked for group {name!r}: none stored",
        )
        return refuse("select_group", DeviceRefusal.UNKNOWN_GROUP, f"no group called {name!r}")
    if fw.group == name:
        return refuse("select_group", DeviceRefusal.UNCHANGED, f"group {name!r} is running")
    fw.group = name
    load_amplitudes(fw)
    fw.write_log(EventKind.GROUP_SELECTED, f"group {name!r}" + (" (patient)" if patient else ""))
    return CommandResult("select_group", True, True)


def _area(fw: StimulatorFirmware, name: str) -> Area | None:
    program = fw.program
    return next((a for a in program.areas if a.name == name), None) if program else None


def set_amplitude(
    fw: StimulatorFirmware, name: str, amplitude: pint.Quantity, patient: bool
) -> CommandResult:
    """The patient within the clinician's range; the clinician within the firmware's limits
    (a clinician's change rewrites the running group). Either way the clamp applies."""
    command = "patient_amplitude" if patient else "set_amplitude"
    if (result := blocked(fw, command)) is not None:
        return result
    check_dimension(amplitude, "amplitude", Dimension.CURRENT)
    area = _area(fw, name)
    if area is None or fw.group is None:
        return refuse(command, DeviceRefusal.NO_PROGRAM, f"no area {name!r} is running")
    if patient:
        low, high = area.patient_min, area.patient_max
        if low is None or high is None or below(amplitude, low) or above(amplitude, high):
            span = f"{fmt(low)} to {fmt(high)}" if low and high else "no patient range"
            fw.write_log(
                EventKind.PATIENT_CHANGE_REFUSED,
                f"area {name!r}: {fmt(amplitude)} asked; allowed {span}",
            )
            return refuse(
                command,
                DeviceRefusal.OUTSIDE_PATIENT_RANGE,
                f"{fmt(amplitude)} is outside the range your clinician set ({span})",
            )
    else:
        if below(amplitude, Q_(0, MA)):
            raise InputError("amplitude", "must not be negative", "e.g. '3 mA'")
        new = replace(area, amplitude=amplitude.to(MA))
        if area.patient_max is not None and above(amplitude, area.patient_max):
            new = replace(new, patient_max=amplitude.to(MA))
        if area.patient_min is not None and below(amplitude, area.patient_min):
            new = replace(new, patient_min=amplitude.to(MA))
        program = fw.program
        assert program is not None  # an area was found
        rewritten = replace(
            program, areas=tuple(new if a.name == name else a for a in program.areas)
        )
        hard = hard_findings(fw, rewritten)
        if hard:
            fw.write_log(EventKind.PROGRAM_REFUSED, f"area {name!r}: {hard[0].message}")
            return refuse(
                command,
                DeviceRefusal.EXCEEDS_LIMITS,
                "refused by the stimulator's own limits (see findings)",
                *hard,
            )
        fw.groups[fw.group] = rewritten
    asked = float(amplitude.to(MA).magnitude)
    fw.amps[name] = asked
    fw.write_log(
        EventKind.AMPLITUDE_CHANGED,
        f"area {name!r}: {asked:.2f} mA" + (" (patient)" if patient else ""),
        (("amplitude", asked, "mA"),),
    )
    clamp(fw)
    fw.changed()
    return CommandResult(command, True, True, values=(("running", Q_(fw.amps[name], MA)),))


def stimulation(fw: StimulatorFirmware, on: bool, patient: bool) -> CommandResult:
    """On or off, by the clinician or the patient; the patient cannot undo a clinician's off."""
    command = "stimulation_on" if on else "stimulation_off"
    if fw.eos:
        return refuse(command, DeviceRefusal.END_OF_SERVICE, "the stimulator is at end of service")
    if on and patient and fw.clinician_off:
        return refuse(
            command, DeviceRefusal.NOT_DELIVERING, "stimulation was turned off by the clinician"
        )
    before = (fw.clinician_off, fw.patient_off)
    if patient:
        fw.patient_off = not on
    else:
        fw.clinician_off = not on
        if on:
            fw.patient_off = False
    if (fw.clinician_off, fw.patient_off) == before:
        return CommandResult(command, True, False)
    who = "patient" if patient else "clinician"
    fw.write_log(EventKind.STIMULATION_ON if on else EventKind.STIMULATION_OFF, f"by the {who}")
    fw.changed()
    return CommandResult(command, True, True)
